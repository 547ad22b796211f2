"""Array adjoints made by their first contribution (srcgrad/passes/first.py): the rewrite of
the generated code, the runtime helpers it calls, and gradients through the cases where an
adjoint handed over by reference would be wrong (a source read again, written by index, or
carried to the next trip), each against central differences."""
import ast

import numpy as np
import pytest
from numba import njit

from srcgrad import runtime as _rt
from srcgrad.passes.first import first_contributions
from tests.arraycheck import check_reverse

# ---------------------------------------------------------------- the rewrite


def rewrite(src, local=(), bars=("a_bar", "b_bar", "x_bar")):
    out = first_contributions(ast.parse(src).body, set(local), set(bars))
    return ast.unparse(ast.Module(out, [])).strip().splitlines()


def test_an_arithmetic_contribution_becomes_the_adjoint():
    assert rewrite("x_bar = _rt.zeros_like(x)\nt = 1\nx_bar += _rt.unbroadcast(g * w, x_bar)") == [
        "t = 1", "x_bar = _rt.adjoint_take(_rt.unbroadcast(g * w, x), x)"]


def test_an_adjoint_read_again_later_is_copied():
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += a_bar\ny = a_bar * 2", local={"a_bar"}) == [
        "x_bar = _rt.adjoint_copy(a_bar, x)", "y = a_bar * 2"]


def test_an_adjoint_of_this_block_read_no_more_is_moved():
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += a_bar", local={"a_bar"}) == [
        "x_bar = _rt.adjoint_take(a_bar, x)"]
    # not of this block: an enclosing loop may read it on its next trip
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += a_bar") == ["x_bar = _rt.adjoint_copy(a_bar, x)"]


def test_an_adjoint_rebound_before_it_is_read_is_moved():
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += a_bar\na_bar = _rt.zeros_like(a)\na_bar += x_bar") == [
        "x_bar = _rt.adjoint_take(a_bar, x)", "a_bar = _rt.adjoint_copy(x_bar, a)"]
    # re-bound from itself: still read
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += a_bar\na_bar = a_bar * 2.0")[0] == \
        "x_bar = _rt.adjoint_copy(a_bar, x)"


def test_a_forward_value_or_a_view_is_copied():
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += w")[0] == "x_bar = _rt.adjoint_copy(w, x)"
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += a_bar[1:]", local={"a_bar"})[0] == \
        "x_bar = _rt.adjoint_copy(a_bar[1:], x)"
    assert rewrite("x_bar = _rt.zeros_like(x)\nx_bar += _rt.sum_grad(g, x)")[0] == \
        "x_bar = _rt.adjoint_copy(_rt.sum_grad(g, x), x)"


@pytest.mark.parametrize("src", [
    "x_bar = _rt.zeros_like(x)\nx_bar[1] += g",                          # written by index first
    "x_bar = _rt.zeros_like(x)\nif c:\n    x_bar += g * w",               # first touched in a branch
    "x_bar = _rt.zeros_like(x)\nx = t\nx_bar += g * w",                  # its shape's source re-bound
    "x_bar = _rt.zeros_like(x)\nx_bar += x_bar * w",                     # reads itself
    "x_bar = _rt.zeros_like(x)\nx_bar -= g * w",
    "x_bar = _rt.zeros_like(x)",                                         # never contributed to
])
def test_left_alone(src):
    assert rewrite(src) == ast.unparse(ast.parse(src)).splitlines()


# ---------------------------------------------------------------- the runtime helpers


@njit
def _take(c, like):
    return _rt.adjoint_take(c, like)


@njit
def _copy(c, like):
    return _rt.adjoint_copy(c, like)


@pytest.mark.parametrize("c,like", [
    (np.arange(6.0).reshape(2, 3), np.ones((2, 3))),              # the adjoint's own shape and type
    (np.arange(3.0), np.ones((2, 3))),                            # broadcast into it
    (np.arange(3.0).reshape(3, 1), np.ones((3, 4))),
    (2.5, np.ones(4)),                                            # a number (np.sum's adjoint)
    (np.arange(4.0), np.ones(4, dtype=np.float32)),               # float32 adjoint: stays float32
    (np.arange(4.0, dtype=np.float32), np.ones(4, dtype=np.float32)),
    (np.arange(4.0), np.ones(4, dtype=np.int64)),                 # int variable: a float adjoint
    (np.arange(6.0).reshape(3, 2).T, np.ones((2, 3))),            # not C-ordered: copied
    (1.5, 2.0),
])
def test_helpers_hold_zeros_like_plus_the_contribution(c, like):
    want = _rt.zeros_like(like) + c
    for fn in (_take, _copy):
        got = fn(np.copy(c) if isinstance(c, np.ndarray) else c, like)
        assert np.shape(got) == np.shape(want)
        assert np.asarray(got).dtype == np.asarray(_rt.zeros_like(like)).dtype
        np.testing.assert_array_equal(got, want)


@njit(error_model="numpy")            # as srcgrad compiles (runtime.jit)
def _added_in_place(acc, g, x, m):
    _rt.add_select_grad(acc, g, x, m)
    return acc


@pytest.mark.parametrize("x,g", [
    (np.array([0.5, 2.0, -1.0]), 1.5),                  # one maximum
    (np.array([2.0, 0.5, 2.0, 2.0]), 1.5),              # three tied: a third each
    (np.array([0.5, 2.0, -1.0]), np.inf),              # 0 * inf elsewhere: nan, as before
    (np.array([0.5, np.nan, -1.0]), 1.0),              # a nan maximum: no element equals it
])
def test_select_grad_added_in_place_is_the_add_of_it(x, g):
    m = np.max(x)
    acc = np.array([0.25, -0.5, 1.0, 3.0])[:x.shape[0]]
    with np.errstate(all="ignore"):
        want = acc + _rt.select_grad(np.float64(g), x, m)       # the helper as NumPy runs it
    np.testing.assert_array_equal(_added_in_place(acc.copy(), g, x, m), want)


def test_copy_is_a_new_array_and_take_hands_over():
    c = np.arange(4.0)
    got = _copy(c, np.ones(4))
    got[0] = 99.0
    assert c[0] == 0.0
    assert _take(c, np.ones(4)) is not None
    c2 = _take(c, np.ones(4))
    c2[1] = 7.0
    assert c[1] == 7.0          # the same memory: take is only called on values nothing else holds


# ---------------------------------------------------------------- gradients


def used_twice(x, w):
    y = x * w
    s = np.sum(np.sin(y)) + np.sum(y * y * 0.5)
    return s


def written_by_index_after(x, w):
    y = x * w
    t = y[1] * 3.0               # (reversed: y's adjoint written by index after ...)
    z = y + 1.0                  # (... z's adjoint was handed to it)
    s = np.sum(z * z) + np.sum(z[::2])
    return s + t


def broadcast_contribution(x, row):
    m = x[:, None] * row[None, :]      # (3, 1) * (1, 4)
    return np.sum(np.tanh(m)) + np.sum(m * x[:, None])


def carried_and_moved(u, k, c):
    v = np.zeros_like(u)
    for t in range(12):
        a = -k * u - c * v
        v = v + 0.1 * a
        u = u + 0.1 * v
        if t % 4 == 0:
            u = u * 0.9
    return np.sum(u * u) + np.sum(v)


def while_loop_with_reuse(x, w):
    y = x * 1.0
    z = x * w
    n = 0
    while np.sum(y * y) < 50.0 and n < 20:
        z = y * w
        y = y + z * 0.5 + np.sin(z)
        n += 1
    return np.sum(y) + np.sum(z * z)


def float32_state(u, k):
    v = u * k
    w = v * v + u
    return np.sum(w * u) + np.sum(v)


X4 = np.array([0.3, -0.7, 1.1, 0.4])
W4 = np.array([1.2, 0.5, -0.8, 2.0])


@pytest.mark.parametrize("fn,args,argnums", [
    (used_twice, (X4, W4), (0, 1)),
    (written_by_index_after, (X4, W4), (0, 1)),
    (broadcast_contribution, (X4[:3], W4), (0, 1)),
    (carried_and_moved, (X4, 2.0, 0.3), (0, 1, 2)),
    (while_loop_with_reuse, (X4, W4 * 0.3), (0, 1)),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_gradients_against_central_differences(fn, args, argnums):
    check_reverse(fn, args, argnums)


def test_float32_adjoints_stay_float32():
    import srcgrad
    u = np.array([0.3, -0.2, 0.5], dtype=np.float32)
    g = srcgrad.grad(float32_state, argnums=0)(u, np.float32(0.7))
    assert g.dtype == np.float32
    want = srcgrad.testing.numerical_grad(float32_state, (u.astype(np.float64), 0.7), (0,))[0]
    np.testing.assert_allclose(g, want, rtol=2e-3, atol=1e-4)


# ---------------------------------------------------------------- element-wise runs (fuse.py)

from srcgrad.passes.fuse import fuse_elementwise  # noqa: E402


def fuse(src, arrays, local=()):
    counter = iter(range(1000))
    kind = lambda n: 1 if n in arrays else 0  # noqa: E731
    out = fuse_elementwise(ast.parse(src).body, kind, lambda b: f"{b}{next(counter)}", set(local))
    return ast.unparse(ast.fix_missing_locations(ast.Module(out, [])))


RUN = """a_bar = _rt.adjoint_take(_rt.unbroadcast(g_bar * 0.5, a), a)
t_bar = _rt.adjoint_copy(_rt.unbroadcast(a_bar, t), t)
c_bar += _rt.unbroadcast(t_bar * v, c_bar)
v_bar += _rt.unbroadcast(t_bar * c, v_bar)
s_bar = _rt.unbroadcast(a_bar * u, s)
k_bar += -s_bar"""


def test_a_run_becomes_one_loop_with_the_statements_kept_for_other_shapes():
    out = fuse(RUN, {"a", "g_bar", "a_bar", "t", "t_bar", "v", "v_bar", "u"}, local={"a_bar", "t_bar"})
    lines = out.splitlines()
    assert lines[0] == "_shape0 = g_bar.shape"
    assert lines[1] == "if _shape0 == a.shape == t.shape == v.shape == v_bar.shape == u.shape:"
    body = out.split("else:")[0]
    assert "v_bar_new" not in body          # only added into: updated in place, as `v_bar +=` does
    assert "a_bar_new" not in body and "t_bar_new" not in body  # local and not read after: numbers only
    assert "for _i1 in range(_shape0[0]):" in body
    assert "s_bar = 0.0" in body and "s_bar += a_bar_i2 * u[_i1]" in body   # a sum starts at zero ...
    assert "c_bar = 0.0" not in body and "c_bar += t_bar_i3 * v[_i1]" in body   # ... or adds to what it held
    assert "v_bar_i4 = v_bar[_i1] + t_bar_i3 * c" in body                # read the old element ...
    assert "v_bar[_i1] = v_bar_i4" in body and "v_bar = " not in body    # ... then write it
    # the fallback is the run as it was; the statement reading the sum comes after both
    assert out.split("else:")[1].strip().splitlines()[0] == RUN.splitlines()[0]
    assert lines[-1] == "k_bar += -s_bar"


def test_two_dimensional_arrays_loop_over_both_indices():
    counter = iter(range(1000))
    kind = lambda n: 2 if n.startswith(("m", "w")) else 0  # noqa: E731
    src = "m_bar = _rt.adjoint_take(w * g, m)\nw_bar += m_bar * 2.0\nmm_bar = _rt.adjoint_copy(m_bar, m)"
    out = ast.unparse(ast.fix_missing_locations(ast.Module(
        fuse_elementwise(ast.parse(src).body, kind, lambda b: f"{b}{next(counter)}", set()), [])))
    assert "for _i1 in range(_shape0[0]):" in out and "for _j2 in range(_shape0[1]):" in out
    assert "w[_i1, _j2] * g" in out


@pytest.mark.parametrize("src,why", [
    ("x_bar = _rt.adjoint_take(w * g, x)\ny_bar = _rt.adjoint_take(w[1:] * g, y)\nz_bar += w", "a slice"),
    ("x_bar = _rt.adjoint_take(w * g, x)\ns += _rt.unbroadcast(x_bar * w, s)\ny_bar = _rt.adjoint_take(s * w, y)",
     "a partial sum read"),
    ("x_bar = _rt.adjoint_take(w * g, x)\ny_bar = _rt.adjoint_take(np.cumsum(w), y)\nz_bar += w",
     "not element-wise"),
    ("x_bar = _rt.adjoint_take(w * g, x)\ny_bar = _rt.adjoint_take(w, y)", "two statements"),
    ("x_bar = _rt.adjoint_take(w * g, x)\nz_bar += m * w\ny_bar = _rt.adjoint_take(w, y)\nx_bar += w",
     "a 2-D array beside 1-D ones: broadcasting"),
])
def test_not_fused(src, why):
    counter = iter(range(1000))
    kind = lambda n: 2 if n == "m" else 1 if n in {"x", "x_bar", "y", "y_bar", "z_bar", "w", "g"} else 0  # noqa: E731
    out = fuse_elementwise(ast.parse(src).body, kind, lambda b: f"{b}{next(counter)}", set())
    assert not any(isinstance(s, ast.If) for s in out), why


def in_loop_elementwise(u, k, c):
    v = np.zeros_like(u)
    s = 0.0
    for t in range(15):
        a = -k * u - c * v + 0.1 * np.sin(u)
        v = v + 0.1 * a
        u = u + 0.1 * v * np.exp(-0.1 * c)
        s = s + np.sum(u * v) * 0.01
    return np.sum(u * u) + s


def in_loop_with_broadcast(u, row, k):
    # row has length 1 on some calls: the lengths differ, the statements run as written
    for t in range(6):
        w = u * row + k
        u = u + 0.1 * np.tanh(w) * row
    return np.sum(u * u)


def in_loop_with_a_partial_sum_used(u, k):
    for t in range(8):
        m = np.sum(u * u) * 0.05
        u = u - 0.1 * (u * m + k * u)
    return np.sum(u)


def in_loop_two_dimensional(m, k):
    for t in range(5):
        a = -k * m
        m = m + 0.1 * a * m
    return np.sum(m * m)


def straight_line(x, y):
    """No loop: the adjoint of the sum and the element-wise products is one loop too, and
    the arguments' adjoints it makes last are returned (read after the run)."""
    return np.sum(np.exp(x) * 2.0 + x * y)


def log_sum_exp(x):
    a = np.max(x)
    return np.log(np.sum(np.exp(x - a))) + a


@pytest.mark.parametrize("fn,args,argnums", [
    (straight_line, (X4, W4), (0, 1)),
    (straight_line, (X4, np.array([0.7])), (0, 1)),
    (log_sum_exp, (X4,), 0),
    (log_sum_exp, (np.array([0.3, 1.5, -0.2, 1.5]),), 0),
    (in_loop_elementwise, (X4, 2.0, 0.3), (0, 1, 2)),
    (in_loop_with_broadcast, (X4, W4, 0.2), (0, 1, 2)),
    (in_loop_with_broadcast, (X4, np.array([0.7]), 0.2), (0, 1, 2)),
    (in_loop_with_a_partial_sum_used, (X4, 0.3), (0, 1)),
    (in_loop_two_dimensional, (np.outer(X4, W4[:3]) * 0.3, 0.4), (0, 1)),
], ids=["straight_line", "straight_line_broadcast", "log_sum_exp", "log_sum_exp_tie", "elementwise",
        "same_length", "broadcast", "partial_sum", "two_d"])
def test_fused_gradients_against_central_differences(fn, args, argnums):
    if fn is log_sum_exp and args[0][1] == args[0][3]:
        # a tie for the max: the kink; its adjoint is shared between the two (hand-derived:
        # d/dx_i = softmax_i, plus the max's 1 - sum(softmax) = 0 split between the ties)
        import srcgrad
        x = args[0]
        e = np.exp(x - x.max())
        np.testing.assert_allclose(srcgrad.grad(fn)(x), e / e.sum(), rtol=1e-12, atol=1e-15)
        return
    check_reverse(fn, args, argnums)


def test_straight_line_adjoint_is_one_element_loop():
    import srcgrad
    src = srcgrad.grad(log_sum_exp).source_for(X4)
    adjoint = src.split("# adjoint sweep")[1].split("def log_sum_exp_grad")[0]
    assert adjoint.count("element by element") == 1
    assert "a_bar += -_t_bar_i" in adjoint                 # the max's adjoint summed in the loop
    assert "_rt.add_select_grad(x_bar, a_bar, x, a)" in adjoint     # and added in place


def test_the_oscillator_adjoint_is_one_element_loop():
    import srcgrad
    src = srcgrad.grad(in_loop_elementwise, argnums=(0, 1, 2)).source_for(X4, 2.0, 0.3)
    # two runs in the loop's adjoint: `np.exp(-0.1 * c)` needs the sum of its adjoint before the
    # rest can go on; and one for the return's `np.sum(u * u)`, before the loop's adjoint
    loop = src.split("for _k in range(")[1]
    assert loop.count("element by element") == 2 and "for _i in range(_shape[0]):" in src
    assert src.count("element by element") == 3


def test_adds_through_slices_are_fused_while_the_array_is_not_read():
    counter = iter(range(1000))
    kind = lambda n: 1 if n in {"x", "x_bar", "w", "u_bar"} else 0  # noqa: E731
    src = "x_bar = _rt.adjoint_take(w * g, x)\nu_bar[:-2] += x_bar\nu_bar[1:-1] += x_bar * 2.0"
    out = ast.unparse(ast.fix_missing_locations(ast.Module(
        fuse_elementwise(ast.parse(src).body, kind, lambda b: f"{b}{next(counter)}", set()), [])))
    assert out.startswith("u_bar_view4 = u_bar[:-2]\nu_bar_view5 = u_bar[1:-1]\n")
    assert "u_bar_view4[_i1] += x_bar_i3" in out and "u_bar_view4.shape" in out.splitlines()[3]
    # read after an add into it: another element may already hold the add (not element-wise)
    src = "x_bar = _rt.adjoint_take(w * g, x)\nu_bar[:-2] += x_bar\nx_bar += u_bar * 2.0\nx_bar += w"
    out = fuse_elementwise(ast.parse(src).body, kind, lambda b: f"{b}{next(counter)}", set())
    assert not any(isinstance(s, ast.If) for s in out)


def stencil_in_loop(u0, alpha, w):
    u = u0 * 1.0
    for t in range(7):
        u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2]) * w[1:-1]
        u[0] = u[0] * 0.5 + u[1] * 0.1
    return np.sum(u * u * w)


def test_a_stencil_adjoint_against_central_differences():
    import srcgrad
    x = np.linspace(0.0, 1.0, 9)
    args = (np.sin(3.0 * x), 0.2, 1.0 + 0.3 * x)
    assert "element by element" in srcgrad.grad(stencil_in_loop, argnums=(0, 1, 2)).source_for(*args)
    check_reverse(stencil_in_loop, args, (0, 1, 2))
