"""Functions with array and tuple results: srcgrad.vjp, has_aux, jacobian in both directions,
jvp of tuples; and NumPy's in-place semantics (`w += x` on an array writes into its object).
Every derivative is checked against central differences or a hand-derived value."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad

R = np.random.default_rng(7)
X = R.normal(size=5)
A = R.normal(size=(3, 5))


def sin_twice(x):
    return np.sin(x) * 2.0


def tanh_and_energy(A, x, n):
    y = A @ x
    return np.tanh(y), np.sum(y * y) * n


def iterate(x, c):
    u = x * 1.0
    for t in range(4):
        u = u + c * np.sin(u)
    return u


def loss_and_state(x):
    y = np.sin(x)
    return np.sum(y * y), y


def two_stats(x):
    return np.array([np.sum(x * x), np.sum(np.sin(x))])


def projection_and_sum(A, x):
    return A @ np.tanh(x), np.sum(x)


def _dot(ct, out):
    if isinstance(out, tuple):
        return sum(_dot(c, o) for c, o in zip(ct, out))
    return float(np.sum(np.asarray(ct) * out))


@pytest.mark.parametrize("fun,args", [
    (sin_twice, (X,)),
    (tanh_and_energy, (A, X, 3)),
    (iterate, (X, 0.3)),
], ids=["array", "tuple", "loop"])
def test_vjp_matches_central_differences_of_the_cotangent_product(fun, args):
    out, pull = srcgrad.vjp(fun, *args)
    want = fun(*args)
    for o, w in zip(out if isinstance(out, tuple) else (out,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(o, w, rtol=1e-13)
    ct = tuple(R.normal(size=np.shape(o)) if np.ndim(o) else 0.7 for o in out) if isinstance(out, tuple) \
        else R.normal(size=np.shape(out))
    cts = pull(ct)
    assert len(cts) == len(args)
    floats = [i for i, a in enumerate(args) if not isinstance(a, int)]
    fd = numerical_grad(lambda *a: _dot(ct, fun(*a)), list(args), tuple(floats))
    for i, n in zip(floats, fd):
        np.testing.assert_allclose(cts[i], n, rtol=1e-6, atol=1e-8)
    for i, a in enumerate(args):
        if isinstance(a, int):
            assert cts[i] is None


def test_vjp_by_hand_and_cotangent_not_modified():
    ct = R.normal(size=5)
    keep = ct.copy()
    out, pull = srcgrad.vjp(sin_twice, X)
    (g,) = pull(ct)
    np.testing.assert_allclose(g, 2.0 * np.cos(X) * keep, rtol=1e-14)
    np.testing.assert_array_equal(ct, keep)
    (g2,) = pull(ct)            # a second pullback gives the same
    np.testing.assert_array_equal(g, g2)


def test_vjp_cotangent_of_the_wrong_structure_is_refused():
    out, pull = srcgrad.vjp(sin_twice, X)
    with pytest.raises(srcgrad.ArgnumsError, match="shape"):
        pull(np.ones(3))
    out, pull = srcgrad.vjp(tanh_and_energy, A, X, 3)
    with pytest.raises(srcgrad.ArgnumsError, match="tuple of 2"):
        pull(np.ones(3))


def test_has_aux_in_grad_and_value_and_grad():
    (v, aux), g = srcgrad.value_and_grad(loss_and_state, has_aux=True)(X)
    assert v == pytest.approx(np.sum(np.sin(X) ** 2), rel=1e-14)
    np.testing.assert_allclose(aux, np.sin(X), rtol=1e-15)
    np.testing.assert_allclose(g, 2 * np.sin(X) * np.cos(X), rtol=1e-13)    # by hand
    g2, aux2 = srcgrad.grad(loss_and_state, has_aux=True)(X)
    np.testing.assert_allclose(g2, g, rtol=1e-15)
    np.testing.assert_allclose(aux2, aux, rtol=1e-15)


def test_has_aux_needs_a_pair_with_a_scalar_loss():
    with pytest.raises(srcgrad.NonScalarOutputError, match="pair"):
        srcgrad.grad(sin_twice, has_aux=True)(X)

    def array_loss(x):
        return np.sin(x), 1.0

    with pytest.raises(srcgrad.NonScalarOutputError, match="loss"):
        srcgrad.grad(array_loss, has_aux=True)(X)


def test_grad_of_a_tuple_is_refused_at_the_return():
    def pair(x):
        return x, 2.0 * x

    with pytest.raises(srcgrad.NonScalarOutputError, match="tuple"):
        srcgrad.grad(pair)(0.5)


@pytest.mark.parametrize("fun,args,argnums", [
    (two_stats, (X,), 0),                      # 2 outputs < 5 inputs: reverse mode
    (projection_and_sum, (A, X), (0, 1)),      # tuple output, fewer outputs than inputs
    (iterate, (X, 0.3), (0, 1)),               # 5 outputs, 6 inputs
    (tanh_and_energy, (A[:, :2], X[:2], 3), (1,)),   # 4 outputs > 2 inputs: forward mode
], ids=["reverse", "reverse-tuple", "loop", "forward-tuple"])
def test_jacobian_matches_central_differences(fun, args, argnums):
    J = srcgrad.jacobian(fun, argnums=argnums)(*args)
    out = fun(*args)
    outs = out if isinstance(out, tuple) else (out,)
    parts = J if isinstance(out, tuple) else (J,)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    for k, (o, part) in enumerate(zip(outs, parts)):
        per_arg = (part,) if isinstance(argnums, int) else part
        for i, Ji in zip(nums, per_arg):
            assert np.shape(Ji) == np.shape(o) + np.shape(args[i])
            for idx in np.ndindex(np.shape(o)):
                def component(*a):
                    r = fun(*a)
                    return (r[k] if isinstance(r, tuple) else r)[idx]
                (fd,) = numerical_grad(component, list(args), (i,))
                np.testing.assert_allclose(Ji[idx], fd, rtol=1e-6, atol=1e-8)


def test_jvp_of_a_tuple_result():
    t = R.normal(size=5)
    val, tan = srcgrad.jvp(iterate, (X, 0.3), (t, 0.0))
    np.testing.assert_allclose(val, iterate(X, 0.3), rtol=1e-14)

    def leapfrog(u, v, c):
        for _ in range(3):
            u, v = v, 2.0 * v - u + c * np.sin(v)
        return u, v

    val, tan = srcgrad.jvp(leapfrog, (X, X * 0.5, 0.4), (t, 0.0 * t, 1.0))
    assert isinstance(tan, tuple) and len(tan) == 2
    for k in range(2):
        fd = numerical_grad(lambda u, c: leapfrog(u, X * 0.5, c)[k] @ np.ones(5), [X, 0.4], (0, 1))
        # d/dε sum(out_k(X + ε t, c + ε)) = t . grad_u + grad_c
        assert np.sum(tan[k]) == pytest.approx(fd[0] @ t + fd[1], rel=1e-6)


# ---- NumPy's in-place semantics ---------------------------------------------------------------
def inplace_through_alias(x):
    w = x * 2.0
    old = w
    w += x                   # old is w: both see 3x
    return np.sum(old * old)


def rebind_through_alias(x):
    w = x * 2.0
    old = w
    w = w + x                # a new object: old stays 2x
    return np.sum(old * old)


def damped_in_place(x, k):
    u = x * 1.0
    v = np.zeros_like(x)
    for t in range(5):
        v += -k * u * 0.1
        u += 0.1 * v
    return np.sum(u * u)


def rows_in_place(x):
    y = np.zeros((2, 4))
    y[0] += x
    y[1] -= x * x
    y *= 2.0
    return np.sum(np.sin(y))


X4 = np.array([0.5, 1.0, 2.0, 4.0])


def test_inplace_update_changes_every_name_of_the_array():
    # by hand: inplace -> sum((3x)^2) = 9 sum x^2, gradient 18x; rebind -> 4 sum x^2, gradient 8x
    v, g = srcgrad.value_and_grad(inplace_through_alias)(X4)
    assert v == pytest.approx(9 * np.sum(X4 ** 2)) and v == pytest.approx(inplace_through_alias(X4.copy()))
    np.testing.assert_allclose(g, 18 * X4, rtol=1e-14)
    v, g = srcgrad.value_and_grad(rebind_through_alias)(X4)
    assert v == pytest.approx(4 * np.sum(X4 ** 2))
    np.testing.assert_allclose(g, 8 * X4, rtol=1e-14)


@pytest.mark.parametrize("fun,args,argnums", [
    (damped_in_place, (X4, 0.7), (0, 1)),
    (rows_in_place, (X4,), 0),
], ids=["loop", "rows"])
def test_inplace_updates_in_reverse_and_forward_mode(fun, args, argnums):
    nums = (argnums,) if isinstance(argnums, int) else argnums
    v, g = srcgrad.value_and_grad(fun, argnums=argnums)(*args)
    assert v == pytest.approx(fun(*[np.copy(a) for a in args]), rel=1e-13)
    fd = numerical_grad(fun, [np.copy(a) for a in args], nums)
    for gi, n in zip(g if isinstance(argnums, tuple) else (g,), fd):
        np.testing.assert_allclose(gi, n, rtol=1e-6, atol=1e-9)
    t = np.linspace(0.1, 0.4, 4)
    _, d = srcgrad.jvp(fun, args, (t,) + (0.0,) * (len(args) - 1))
    assert d == pytest.approx(fd[0] @ t, rel=1e-6)


def test_inplace_update_of_an_argument_is_refused():
    def bumps(x):
        x += 1.0
        return np.sum(x * x)

    with pytest.raises(srcgrad.UnsupportedArrayUseError, match="modified in place"):
        srcgrad.grad(bumps)(X4.copy())


# ---- found by the array fuzzer -----------------------------------------------------------------
def test_sum_along_a_negative_axis():
    M = R.normal(size=(3, 4))

    def f(A):
        return np.sum(np.tanh(np.sum(A, axis=-2)))

    # by hand: d/dA[i, j] = 1 - tanh(colsum_j)^2
    want = np.broadcast_to(1 - np.tanh(M.sum(axis=0)) ** 2, M.shape)
    np.testing.assert_allclose(srcgrad.grad(f)(M), want, rtol=1e-13)


def test_where_of_numbers_is_a_number():
    def f(s, x):
        t = np.where(x[0] < s, x[1], s)
        return np.tanh(t) * s

    for s in (0.7, -0.7):
        g = srcgrad.grad(f, argnums=(0, 1))(s, X4)
        fd = numerical_grad(f, [s, X4], (0, 1))
        assert g[0] == pytest.approx(fd[0], rel=1e-7)
        np.testing.assert_allclose(g[1], fd[1], rtol=1e-7, atol=1e-10)


def columns_normalised(A):
    Q = np.zeros_like(A)
    for j in range(A.shape[1]):
        v = A[:, j].copy()
        Q[:, j] = v / np.linalg.norm(v)
    return Q


def test_vjp_value_of_an_array_written_in_a_loop():
    """The adjoint sweep restores the regions the forward sweep overwrote; the returned array
    must be the forward value (it came back as zeros: Gram-Schmidt in the NumPy corpus)."""
    M = R.normal(size=(4, 3))
    out, pull = srcgrad.vjp(columns_normalised, M)
    np.testing.assert_allclose(out, M / np.linalg.norm(M, axis=0), rtol=1e-14)
    ct = R.normal(size=(4, 3))
    (g,) = pull(ct)
    (fd,) = numerical_grad(lambda a: float(np.sum(ct * columns_normalised(a))), [M], (0,))
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
