"""Loops that carry whole arrays (issue 22): time steps, recurrences and iterations written with
whole-array updates, in-place updates and slices, against central differences."""
import numpy as np
import pytest

import srcgrad
from benchmarks import array_loops as w
from srcgrad.testing import numerical_grad


@pytest.fixture
def short_loops(monkeypatch):
    # module-level step counts are constants of the derivative (part of its cache key)
    monkeypatch.setattr(w, "STEPS_HEAT", 7)
    monkeypatch.setattr(w, "STEPS_OSC", 9)
    monkeypatch.setattr(w, "STEPS_RK4", 5)


def _small():
    rng = np.random.default_rng(3)
    return {
        "heat": (w.heat, (rng.standard_normal(8), 0.2), (0, 1)),
        "oscillator": (w.oscillator, (rng.standard_normal(5), 2.0, 0.3), (0, 1, 2)),
        "rnn": (w.rnn, (rng.standard_normal((4, 4)) * 0.5, rng.standard_normal((4, 3)) * 0.5,
                        rng.standard_normal((6, 3)), rng.standard_normal(4) * 0.1), (0, 1, 3)),
        "rk4": (w.rk4, (np.array([0.5, 0.4, 0.3]), -np.array([[0.1, 0.2, 0.05], [0.1, 0.1, 0.3], [0.2, 0.1, 0.1]]),
                        np.array([1.0, 0.7, 0.4])), (0, 1, 2)),
    }


@pytest.mark.parametrize("name", ["heat", "oscillator", "rnn", "rk4"])
def test_array_loop_workload_matches_central_differences(name, short_loops):
    fn, args, argnums = _small()[name]
    value, grads = srcgrad.value_and_grad(fn, argnums=argnums)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    for g, n in zip(grads, numerical_grad(fn, list(args), argnums)):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-9)


def fixed_point(x, a):
    """x = g(x) until it settles, left by break: exact through the iterations taken."""
    y = x * 1.0
    for it in range(50):
        y_new = 0.5 * np.cos(a * y) + 0.1 * x
        if np.max(np.abs(y_new - y)) < 1e-12:
            break
        y = y_new
    return np.sum(y * y)


def newton_while(c):
    """Newton's method for x**3 = c elementwise in a while loop over whole arrays."""
    x = c * 0.5 + 1.0
    k = 0
    while k < 30 and np.max(np.abs(x * x * x - c)) > 1e-13:
        x = x - (x * x * x - c) / (3.0 * x * x)
        k += 1
    return np.sum(x)


def test_fixed_point_iteration_left_by_break():
    x = np.array([0.2, -0.4, 0.7])
    g = srcgrad.grad(fixed_point, argnums=(0, 1))(x, 0.8)
    n = numerical_grad(fixed_point, [x, 0.8], (0, 1))
    np.testing.assert_allclose(g[0], n[0], rtol=1e-5, atol=1e-8)
    assert g[1] == pytest.approx(n[1], rel=1e-5)


def test_newton_in_a_while_loop_over_arrays():
    c = np.array([2.0, 5.0, 0.7])
    g = srcgrad.grad(newton_while)(c)
    np.testing.assert_allclose(g, c ** (-2.0 / 3.0) / 3.0, rtol=1e-9)     # d c^(1/3) / dc, by hand


def test_fit_oscillator_example_gradient_and_fit():
    from .test_examples import load_example
    ex = load_example("fit_oscillator")
    res, vg, u0, observed = ex.fit()
    np.testing.assert_allclose(res.x, [3.0, 0.4], rtol=1e-6)
    p = np.array([1.0, 1.0])
    (fd,) = numerical_grad(lambda q: ex.simulate_loss(q, u0, observed), [p], (0,))
    np.testing.assert_allclose(vg(p, u0, observed)[1], fd, rtol=1e-6)


def aliased_updates(x):
    """`old = w; w += ...` in a loop: old is the same array (changes too); `keep = w.copy()` is not."""
    w = x * 1.0
    old = w
    keep = w.copy()
    for t in range(3):
        w += 0.5 * np.sin(old)
    return np.sum(old * keep) + np.sum(w)


def rebound_updates(x):
    """`old = w; w = w + ...` in a loop: w is a new array each trip; old keeps the first."""
    w = x * 1.0
    old = w
    for t in range(3):
        w = w + 0.5 * np.sin(old)
    return np.sum(old * old) + np.sum(w)


@pytest.mark.parametrize("fn", [aliased_updates, rebound_updates])
def test_inplace_aliasing_in_a_loop_both_ways(fn):
    x = np.array([0.3, -1.2, 0.8])
    v, g = srcgrad.value_and_grad(fn)(x)
    assert v == pytest.approx(fn(x.copy()), rel=1e-13)
    np.testing.assert_allclose(g, numerical_grad(fn, [x], (0,))[0], rtol=1e-6)
    # NumPy's semantics, by hand: in place, old is w (4 sin terms of the moving w); re-bound,
    # old stays x and w = x + 1.5 sin(x)
    if fn is rebound_updates:
        assert v == pytest.approx(np.sum(x * x) + np.sum(x + 1.5 * np.sin(x)), rel=1e-13)


def float32_state_promoted(x):
    u = np.zeros_like(x)
    for t in range(3):
        u = u + x * 0.5        # Numba: float32 array * Python float is float64
    return np.sum(u * u)


def float64_state(x):
    u = np.zeros(x.shape)
    for t in range(3):
        u = u + x * 0.5
    return np.sum(u * u)


def test_float32_state_whose_precision_changes_in_a_loop_is_refused_at_its_line():
    """Numba types `u` float32 before the loop and float64 after a trip and cannot compile it (its
    own compilation of the primal fails the same way): a located refusal naming `u`, not a raw
    CompilationError; the rewrite the hint names works."""
    x = np.arange(4, dtype=np.float32)
    with pytest.raises(srcgrad.UnsupportedArrayUseError) as info:
        srcgrad.value_and_grad(float32_state_promoted)(x)
    err = info.value
    assert err.loc is not None and err.loc.file == __file__
    assert "for t in range(3)" in err.loc.text
    assert "`u` is a float32 array before the loop and a float64 array" in str(err)
    assert "np.zeros(x.shape)" in err.hint
    v, g = srcgrad.value_and_grad(float64_state)(x)
    assert v == pytest.approx(np.sum((1.5 * x.astype(np.float64)) ** 2), rel=1e-12)
    np.testing.assert_allclose(g, 4.5 * x, rtol=1e-6)            # d/dx sum((1.5 x)^2), by hand
    assert g.dtype == np.float32


def matrix_products_in_a_loop(W, V, P, x0, xs):
    """Matrix-vector (2-D @ 1-D), vector-matrix (1-D @ 2-D) and matrix-matrix products whose
    weight adjoints are summed over the loop's trips (in place: runtime.add_matmul_grad_a)."""
    h = x0 * 1.0
    acc = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t] @ V)
        M = W @ P
        acc += np.sum(M * M) * 0.01 + np.sum(h @ P)
    return acc + np.sum(h * h)


def test_weight_adjoints_summed_over_trips_match_central_differences():
    rng = np.random.default_rng(11)
    args = (rng.standard_normal((4, 4)) * 0.5, rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((4, 2)),
            rng.standard_normal(4) * 0.3, rng.standard_normal((5, 3)))
    g = srcgrad.value_and_grad(matrix_products_in_a_loop, argnums=(0, 1, 2, 3))
    assert "_rt.add_matmul_grad_a(W_bar" in g.source_for(*args)
    value, grads = g(*args)
    assert value == pytest.approx(matrix_products_in_a_loop(*args), rel=1e-12)
    for got, want in zip(grads, numerical_grad(matrix_products_in_a_loop, list(args), (0, 1, 2, 3))):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_add_matmul_grad_a_adds_what_matmul_grad_a_gives_in_python_and_numba():
    import numba

    from srcgrad import runtime as rt

    @numba.njit
    def compiled(out, g, a, b):
        rt.add_matmul_grad_a(out, g, a, b)

    rng = np.random.default_rng(2)
    for a, b, g in [(rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)),
                    (rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))),
                    (rng.standard_normal(4), rng.standard_normal((4, 2)), rng.standard_normal(2))]:
        start = rng.standard_normal(a.shape)
        want = start + rt.matmul_grad_a(g, a, b)
        for run in (rt.add_matmul_grad_a, compiled):
            out = start.copy()
            run(out, g, a, b)
            np.testing.assert_allclose(out, want, rtol=1e-14, atol=1e-15)
    out = np.zeros((2, 4))
    with pytest.raises(ValueError, match="shape"):
        compiled(out, np.ones(3), np.ones((3, 4)), np.ones(4))
