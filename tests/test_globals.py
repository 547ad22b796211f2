"""Data held outside the function (the SciPy pattern: `X`, `y` defined at module level or in a
closure) is passed to the compiled derivative at each call, never baked into it (issue 15)."""
import numba
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad

rng = np.random.default_rng(0)
X = rng.normal(size=(6, 3))
Y = rng.normal(size=6)


def least_squares(w):
    r = X @ w - Y
    return np.sum(r * r)


def test_module_level_arrays_are_read_at_each_call():
    global Y
    w = np.array([0.3, -0.2, 0.5])
    g = srcgrad.grad(least_squares)
    np.testing.assert_allclose(g(w), 2 * X.T @ (X @ w - Y), rtol=1e-12)
    old = Y
    try:
        Y = Y + 1.0                       # the user rebinds the data: the next call sees it
        np.testing.assert_allclose(g(w), 2 * X.T @ (X @ w - Y), rtol=1e-12)
        Y[0] = 5.0                        # ... and in-place changes too
        np.testing.assert_allclose(g(w), 2 * X.T @ (X @ w - Y), rtol=1e-12)
    finally:
        Y = old
    assert "_g_X" in g.source and "_g_Y" in g.source     # hidden parameters, not constants


def make_closure_loss(A, b):
    def loss(w):
        return np.sum((A @ w - b) ** 2) + 0.1 * np.sum(w * w)
    return loss


def test_closure_arrays():
    A = rng.normal(size=(5, 2))
    b = rng.normal(size=5)
    loss = make_closure_loss(A, b)
    w = np.array([0.4, -1.1])
    got = srcgrad.grad(loss)(w)
    np.testing.assert_allclose(got, numerical_grad(loss, (w,), (0,))[0], rtol=1e-6)
    np.testing.assert_allclose(got, 2 * A.T @ (A @ w - b) + 0.2 * w, rtol=1e-12)


def helper_reads_global(w):
    return Y[0] * w[0] + X[1, 2] * w[2] * w[1]


def uses_helper(w):
    return helper_reads_global(w) * 2.0


def test_helpers_read_their_own_globals():
    w = np.array([0.2, 0.1, -0.4])
    np.testing.assert_allclose(srcgrad.grad(uses_helper)(w), numerical_grad(uses_helper, (w,), (0,))[0], rtol=1e-7)


def test_forward_mode_and_hvp_with_global_arrays():
    w = np.array([0.3, -0.2, 0.5])
    v = np.array([1.0, 0.5, -2.0])
    val, tan = srcgrad.jvp(least_squares, (w,), (v,))
    assert val == pytest.approx(least_squares(w), rel=1e-12)
    assert tan == pytest.approx(2 * (X @ w - Y) @ (X @ v), rel=1e-10)
    np.testing.assert_allclose(srcgrad.hvp(least_squares)(w, v), 2 * X.T @ (X @ v), rtol=1e-10)
    np.testing.assert_allclose(srcgrad.hessian(least_squares)(w), 2 * X.T @ X, rtol=1e-10)


def test_kernel_from_njit_code_freezes_globals_like_numba():
    kernel = srcgrad.grad(least_squares).kernel

    @numba.njit
    def descend(w, steps, lr):
        for _ in range(steps):
            w = w - lr * kernel(w)
        return w

    w = descend(np.zeros(3), 2000, 0.02)
    np.testing.assert_allclose(w, np.linalg.lstsq(X, Y, rcond=None)[0], rtol=1e-6)


def test_grad_of_grad_with_global_arrays_is_refused_with_a_remedy():
    def f(a):
        return a * a * Y[0]
    with pytest.raises(srcgrad.SrcgradError, match="pass them as arguments, or use srcgrad.hvp"):
        srcgrad.grad(srcgrad.grad(f))(0.5)


def scaled_by_table(a):
    return a * Y[0] + a * a


def test_vectorize_refuses_global_arrays_with_a_remedy():
    with pytest.raises(srcgrad.SrcgradError, match="reads arrays from its globals or closure"):
        srcgrad.vectorize(srcgrad.grad(scaled_by_table))(np.ones(4))
