"""Scalars meeting arrays (issue 15): a number computed inside the function (a reduction, an
element read, arithmetic on those) combined with an array.  These gave silently wrong
gradients or Numba crashes when kinds were guessed without the argument types; every result
type now follows from the arguments' abstract types by NumPy's broadcasting.

Each function is checked against central differences in reverse mode, forward mode (jvp in
random directions) and, where it has one array argument, Hessian-vector products."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad

W4 = np.array([0.3, -1.2, 0.7, 2.0])


def centred_sum_of_squares(x):
    d = x - np.mean(x)
    return np.sum(d * d)


def centred_with_sum(x):
    d = x - np.sum(x) / 4.0
    return np.sum(d * d * W4)


def softmax_weighted(x):
    e = np.exp(x)
    p = e / np.sum(e)
    return np.sum(p * p * W4)


def l2_normalised(x):
    y = x / np.sqrt(np.sum(x * x))
    return np.sum(y * W4)


def variance(x):
    return np.mean((x - np.mean(x)) ** 2)


def scaled_by_element(p, x):
    L = 1.0 + p[0]
    y = x * L
    return np.sum(y * y)


def shifted_by_first(x):
    a = x[0]
    return np.sum(np.exp(x - a))


def element_plus_constant(a, b):
    c = b[0] + 1.5
    e = (a + b) + c
    return np.sum(e * e)


def matrix_rows_centred(A):
    m = np.mean(A)
    B = A - m
    return np.sum(B * B * A)


def column_means(A):
    mu = np.sum(A, 0) / A.shape[0]      # (m,) broadcast against (n, m)
    C = A - mu
    return np.sum(C * C)


def row_scale(A, v):
    s = np.sum(v * v)
    return np.sum((A @ v) * s)


def dot_self(x):
    return x @ x


def dot_vec(w, x):
    return np.dot(w, x) * w[1]


def reduction_in_branch(x):
    s = np.sum(x)
    if s > 0.0:
        y = x * s
    else:
        y = x / (1.0 + s * s)
    return np.sum(y * W4)


def reduction_in_loop(x, n):
    t = 0.0
    for i in range(n):
        t = t + np.sum(x * x) * 0.1
        x2 = x * t
        t = t + np.sum(x2) * 0.01
    return t


X4 = np.array([0.5, 1.0, 2.0, 4.0])
A23 = np.array([[0.4, -1.0, 0.8], [1.5, 0.2, -0.6]])
CASES = [
    (centred_sum_of_squares, (X4,), 0),
    (centred_with_sum, (X4,), 0),
    (softmax_weighted, (X4 * 0.3,), 0),
    (l2_normalised, (X4,), 0),
    (variance, (X4,), 0),
    (scaled_by_element, (np.array([0.3]), np.array([0.5, 1.0, 2.0])), (0, 1)),
    (shifted_by_first, (X4 * 0.5,), 0),
    (element_plus_constant, (X4, X4[::-1].copy()), (0, 1)),
    (matrix_rows_centred, (A23,), 0),
    (column_means, (A23,), 0),
    (row_scale, (A23, np.array([0.3, -0.2, 0.9])), (0, 1)),
    (dot_self, (X4,), 0),
    (dot_vec, (X4, X4 * 0.7 - 1.0), (0, 1)),
    (reduction_in_branch, (X4 * 0.5,), 0),
    (reduction_in_branch, (-X4 * 0.5,), 0),
    (reduction_in_loop, (X4 * 0.3, 3), 0),
]


def _tuple(g, argnums):
    return (g,) if isinstance(argnums, int) else tuple(g)


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_reverse_mode_matches_central_differences(fn, args, argnums):
    got = _tuple(srcgrad.grad(fn, argnums=argnums)(*args), argnums)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    want = numerical_grad(fn, args, nums)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_value_matches_python(fn, args, argnums):
    v, _ = srcgrad.value_and_grad(fn, argnums=argnums)(*args)
    assert v == pytest.approx(fn(*args), rel=1e-12)


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_forward_mode_matches_central_differences(fn, args, argnums):
    rng = np.random.default_rng(3)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    tangents = []
    for i, a in enumerate(args):
        if i in nums:
            tangents.append(rng.normal(size=np.shape(a)) if np.ndim(a) else float(rng.normal()))
        else:
            tangents.append(np.zeros_like(a) if np.ndim(a) else 0)
    value, tangent = srcgrad.jvp(fn, args, tangents)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    h = 1e-6
    plus = [a + h * t if i in nums else a for i, (a, t) in enumerate(zip(args, tangents))]
    minus = [a - h * t if i in nums else a for i, (a, t) in enumerate(zip(args, tangents))]
    want = (fn(*plus) - fn(*minus)) / (2 * h)
    assert tangent == pytest.approx(want, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("fn,args", [(c[0], c[1]) for c in CASES if c[2] == 0 and len(c[1]) == 1],
                         ids=lambda c: getattr(c, "__name__", ""))
def test_hessian_vector_products_match_differences_of_gradients(fn, args):
    x = args[0]
    v = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    hv = srcgrad.hvp(fn)(x, v)
    g = srcgrad.grad(fn)
    h = 1e-5
    want = (g(x + h * v) - g(x - h * v)) / (2 * h)
    np.testing.assert_allclose(hv, want, rtol=1e-5, atol=1e-7)


def test_each_array_kind_gets_its_own_derivative():
    """One function, called with a number and with arrays of 1 and 2 dimensions: three
    derivatives, each exact (the old code served all from one generic source)."""
    g = srcgrad.grad(centred_sum_of_squares)
    x1 = np.array([1.0, 2.0, 4.0])
    x2 = np.array([[1.0, 2.0], [4.0, -1.0]])
    np.testing.assert_allclose(g(x1), 2 * (x1 - x1.mean()))
    np.testing.assert_allclose(g(x2), 2 * (x2 - x2.mean()))
    assert len(g._modules) == 2


def test_number_and_array_on_two_paths_is_refused_with_the_line():
    def f(x, c):
        if c > 0.0:
            y = x * 2.0
        else:
            y = 0.0
        return np.sum(y)
    with pytest.raises(srcgrad.UnsupportedArrayUseError) as err:
        srcgrad.grad(f)(np.ones(3), 1.0)
    assert "`y` is 1-D float array after the `if` branch and float after the `else` branch" in str(err.value)
    assert err.value.loc.line > 0


def test_array_condition_is_refused():
    def f(x):
        if x > 0.0:
            return np.sum(x)
        return 0.0
    with pytest.raises(srcgrad.UnsupportedArrayUseError, match="the condition is an array"):
        srcgrad.grad(f)(np.ones(3))


def test_complex_arguments_are_refused():
    with pytest.raises(TypeError, match="complex"):
        srcgrad.grad(dot_self)(np.ones(3) * (1 + 1j))
