"""The NumPy language as people write it: methods, shapes as tuples, helpers returning tuples,
nested helpers with defaults, keyword reductions, math.log with a base, arrays built from lists,
branches on static values, assert, reshape.  Each checked against central differences."""
import math

import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad


def methods(x, A):
    return (x ** 2).sum() + x.mean() * A.sum(axis=0).sum() + A.T.dot(x).sum() + np.sum(A, axis=1, keepdims=True).sum()

def shape_unpack(A, x):
    n, m = A.shape
    s = 0.0
    for i in range(n):
        for j in range(m):
            s = s + A[i, j] * x[j]
    return s

def helper_tuple(x):
    def stats(v):
        return np.mean(v), np.sum(v * v)
    mu, ss = stats(x)
    return ss - mu * mu

def mean_axis(A):
    return np.sum(np.mean(A, axis=0) ** 2) + np.sum(np.mean(A, 1))

def log_base(a):
    return math.log(a, 2.0) + math.log(a)

def array_literal(a, b):
    v = np.array([a, b, a * b])
    M = np.array([[a, b], [b, a]])
    return np.sum(v * v) + np.sum(M @ v[:2])

def static_if(x, flag=True):
    if flag:
        y = x * 2.0
    else:
        y = x
    assert x.ndim == 1
    return np.sum(y * y)

def reshape_(x):
    M = np.reshape(x, (2, 3))
    return np.sum(M[0] * M[1]) + np.sum(np.expand_dims(x, 0) * 2.0)



def nested_helper_with_default(x, k):
    def scaled(v, c=2.0):
        return v * c
    y = scaled(x) + scaled(x, c=k)
    return np.sum(y * y)


def njit_style_loop_with_assert(x):
    n = len(x)
    assert n > 0
    s = 0.0
    for i in range(n):
        s += x[i] * x[i]
    return s / n


def loop_over_elements(x):
    s = 0.0
    for xi in x:
        s += xi * xi
    return s


def loop_enumerate(x, w):
    s = 0.0
    for i, xi in enumerate(x):
        s += w[i] * np.sin(xi)
    return s


def loop_zip(x, w):
    s = 0.0
    for a, b in zip(x, w):      # to the shorter
        s += (a - b) ** 2
    return s


def loop_over_flat(A):
    s = 0.0
    for v in A.flat:                # every element, in C order
        s += v * v * v
    return s


def loop_over_rows(P):
    e = 0.0
    for p in P:
        e += np.sum(p * p) * p[0]
    return e


def max_along_axes(A):
    m = np.max(A, axis=1, keepdims=True)                  # a stable log-sum-exp by rows
    return np.sum(np.log(np.sum(np.exp(A - m), axis=1)) + m[:, 0]) + np.sum(np.min(A, axis=0) ** 2)


def _bump(v):
    return v * v - 0.3


def calls_in_conditions(x):
    """A helper and np.mean(·, axis=) inside conditions, also after `and`/`or` and in `while`:
    run only where Python runs them (the `and` guards the index)."""
    s, i = 0.0, 0
    while i < x.shape[0] and _bump(x[i]) < 5.0:
        if _bump(x[i]) > 0 or np.mean(np.outer(x, x), axis=1)[i] > 0.2:
            s += x[i] ** 3
        i += 1
    return s + np.sum(np.where(np.max(np.outer(x, x), axis=0) > 1.0, x, 2.0 * x))


def while_true_left_by_return(a, x):
    """`while True:` with no break, left only by `return` (Newton's square root, then a
    fixed-point iteration over an array)."""
    r = a
    while True:
        r_new = 0.5 * (r + a / r)
        if abs(r_new - r) < 1e-12:
            break
        r = r_new
    y = x * 1.0
    k = 0
    while True:
        y = np.cos(y) * 0.5 + x * r
        k += 1
        if k >= 12:
            return np.sum(y * y) + r


def norms_along_axes(X):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    return np.sum(np.sin(U)) + np.sum(np.linalg.norm(X, axis=0) ** 3) + np.linalg.norm(X[0], 2)


def _diffuse_into(u, out, nu):
    """A helper that fills the array it is given and returns nothing."""
    out[0] = u[0]
    out[-1] = u[-1]
    out[1:-1] = u[1:-1] + nu * (u[2:] - 2.0 * u[1:-1] + u[:-2])


def helper_fills_a_local_buffer(u):
    out = np.empty_like(u)
    _diffuse_into(u, out, 0.25)
    y = np.zeros(2)

    def fill(v):                        # a nested def writing into the enclosing scope's array
        y[0] = v[0] * v[1]
        y[1] = np.sin(v[2])
    fill(out)
    return np.sum(np.sin(out)) + np.sum(y * y)


def fills_an_argument(u, out):
    """Writes into `out`, a non-differentiated argument, and reads what it wrote."""
    for _ in range(2):
        _diffuse_into(u * out[0], out, 0.2)
    return np.sum(out ** 2)


def einsum_contractions(x, A):
    """np.einsum as people write it for products, traces and sums (implicit output too)."""
    B = A[:2, :2]
    return (np.einsum("i,ij,j->", x[:3], A, x[:2]) + np.sum(np.einsum("ij,jk->ik", A.T, A) ** 2)
            + np.einsum("ij,ij", A, A) + np.einsum("ii", B) + np.sum(np.einsum("i,j", x[:2], x[:3]) * A.T))


def weighted_average(x, w, A):
    m = np.average(x, weights=w)
    v = np.average((x - m) ** 2, weights=w)
    return m * v + np.sum(np.average(A, axis=0, weights=w[:3]) ** 2) + np.sum(np.average(A, axis=1, weights=w[1:3]) ** 3)


X6 = np.array([0.5, 1.0, -2.0, 4.0, 0.3, 1.7])
A32 = np.arange(6.0).reshape(3, 2) * 0.1 - 0.2
CASES = [
    (methods, (X6[:3].copy(), A32), (0, 1)),
    (shape_unpack, (A32, X6[:2].copy()), (0, 1)),
    (helper_tuple, (X6,), 0),
    (mean_axis, (A32,), 0),
    (log_base, (1.7,), 0),
    (array_literal, (0.3, -1.2), (0, 1)),
    (static_if, (X6,), 0),
    (reshape_, (X6,), 0),
    (nested_helper_with_default, (X6, 0.7), (0, 1)),
    (njit_style_loop_with_assert, (X6,), 0),
    (loop_over_elements, (X6,), 0),
    (loop_enumerate, (X6[:3].copy(), X6), (0, 1)),
    (loop_zip, (X6[:4].copy(), X6), (0, 1)),
    (loop_over_rows, (A32,), 0),
    (loop_over_flat, (A32,), 0),
    (max_along_axes, (A32,), 0),
    (calls_in_conditions, (X6,), 0),
    (while_true_left_by_return, (3.0, X6), (0, 1)),
    (norms_along_axes, (A32,), 0),
    (helper_fills_a_local_buffer, (X6,), 0),
    (einsum_contractions, (X6, A32), (0, 1)),
    (weighted_average, (X6, np.linspace(0.5, 2.0, 6), A32), (0, 1, 2)),
]


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_language_construct_matches_central_differences(fn, args, argnums):
    value, got = srcgrad.value_and_grad(fn, argnums=argnums)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-13)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    got = (got,) if isinstance(argnums, int) else got
    for g, n in zip(got, numerical_grad(fn, args, nums)):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)


def test_a_failing_assert_fails_in_the_derivative_too():
    for make in (srcgrad.grad, lambda f: (lambda x: srcgrad.jvp(f, (x,), (x,)))):
        with pytest.raises(AssertionError):
            make(njit_style_loop_with_assert)(np.zeros(0))


def test_keyword_reduction_generates_only_what_the_call_needs():
    def f(A):
        return np.sum(np.mean(A, axis=0) ** 2)

    src = srcgrad.grad(f).source_for(A32)
    assert "keepdims" not in src and "axis is None" not in src


def lazy_helper_in_ifexp(x):
    s = 0.0
    for i in range(3):
        if (x[i] if x[i] > 0 else _bump(x[i])) > 0.1:
            s += x[i]
    return s


def test_a_call_a_condition_may_skip_is_refused_where_it_cannot_branch():
    """Inside a conditional expression of a comparison srcgrad cannot make the call lazy: it
    refuses (naming the call) rather than run what the condition guards."""
    with pytest.raises(srcgrad.UnsupportedSyntaxError) as err:
        srcgrad.grad(lazy_helper_in_ifexp)(X6)
    msg = str(err.value)
    assert "`_bump`" in msg and "a if c else b" in msg and "assign the call's result to a variable" in msg
    assert "test_language.py" in msg


def test_a_non_differentiated_output_argument_is_filled_as_python_fills_it():
    u, out0 = X6[:5].copy(), np.array([0.5, 0.1, -0.3, 0.7, 0.2])
    out = out0.copy()
    value, g = srcgrad.value_and_grad(fills_an_argument)(u, out)
    want_out = out0.copy()
    assert value == pytest.approx(fills_an_argument(u, want_out), rel=1e-13)
    np.testing.assert_allclose(out, want_out, rtol=1e-13)      # the same writes as the primal's
    n = numerical_grad(lambda v: fills_an_argument(v, out0.copy()), (u,), (0,))[0]
    np.testing.assert_allclose(g, n, rtol=1e-7, atol=1e-9)


def prints(x):
    print(x)
    return np.sum(x)


def copies(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y * y)


@pytest.mark.parametrize("fn", [prints, copies])
def test_a_call_for_its_effect_that_is_not_a_helper_is_refused(fn):
    with pytest.raises(srcgrad.UnsupportedSyntaxError) as err:
        srcgrad.grad(fn)(X6[:3].copy())
    msg = str(err.value)
    assert "an expression statement" in msg and "test_language.py" in msg and "a[...] = b" in msg


def einsum_3d(A):
    return np.sum(np.einsum("ijk->ki", A))


def test_an_einsum_outside_the_table_is_refused_with_the_list():
    with pytest.raises(srcgrad.NoDerivativeRuleError) as err:
        srcgrad.grad(einsum_3d)(np.ones((2, 2, 3)))
    msg = str(err.value)
    assert "np.einsum('ijk->ki'" in msg and "ij,jk->ik" in msg and "test_language.py" in msg
