"""IEEE 754 behaviour and numerical conventions of srcgrad's derivatives.

* NaN and inf inputs propagate, with no exception, under grad, under `.kernel` called from the
  user's own @numba.njit code, and under vectorize.
* Division by zero gives inf/nan as in NumPy, never ZeroDivisionError.
* The documented conventions at kinks (srcgrad/rules/scalar_math.py): abs at 0 -> 0; max/min
  ties -> the first argument; ReLU max(0.0, x) -> 0 at 0 and max(x, 0.0) -> 1; sqrt at 0 -> inf.
* Dead code cannot poison a gradient with NaN.
* float32 stays float32.
"""
import math
import warnings

import numba
import numpy as np
import pytest

import srcgrad

NAN, INF = math.nan, math.inf


def smooth(x, y):
    return math.sin(x) * y + math.exp(0.5 * x) + x * x / (1.0 + y * y)


def divide(x, y):
    return x / y


def log_of(x):
    return math.log(x) + math.sqrt(x)


def loop_sum(a):
    s = 0.0
    for i in range(a.shape[0]):
        s = s + a[i] * a[i] + math.tanh(a[i])
    return s


# ---------------------------------------------------------------------- NaN and inf propagate
@pytest.mark.parametrize("x,y", [(NAN, 1.0), (1.0, NAN), (INF, 1.0), (-INF, 1.0), (1.0, INF), (NAN, NAN)])
def test_nan_inf_inputs_propagate_under_grad(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # not even a RuntimeWarning
        # (the test suite's -O0 build makes Numba decline its disk cache with a NumbaWarning)
        warnings.filterwarnings("ignore", message="Cannot cache compiled function")
        value, (gx, gy) = srcgrad.value_and_grad(smooth, argnums=(0, 1))(x, y)
    assert math.isnan(value) or math.isinf(value)
    assert not (math.isfinite(gx) and math.isfinite(gy)), (value, gx, gy)


def test_nan_propagates_through_every_gradient_entry():
    a = np.array([1.0, NAN, 2.0])
    value, g = srcgrad.value_and_grad(loop_sum)(a)
    assert math.isnan(value)
    assert np.isnan(g[1]) and np.isfinite(g[0]) and np.isfinite(g[2])


def test_nan_inf_under_kernel_from_user_njit():
    vg = srcgrad.value_and_grad(smooth, argnums=(0, 1))
    kernel = vg.kernel

    @numba.njit
    def user(xs, ys):
        out = np.empty((xs.shape[0], 3))
        for i in range(xs.shape[0]):
            v, g = kernel(xs[i], ys[i])
            out[i, 0] = v
            out[i, 1] = g[0]
            out[i, 2] = g[1]
        return out

    xs = np.array([NAN, INF, -INF, 0.3, 0.3])
    ys = np.array([1.0, 1.0, 1.0, NAN, INF])
    out = user(xs, ys)
    for i in range(len(xs)):
        assert not np.all(np.isfinite(out[i])), out[i]
        v, (gx, gy) = vg(xs[i], ys[i])             # same answer as the Python-level call
        np.testing.assert_array_equal(out[i], [v, gx, gy])


@pytest.mark.parametrize("simd_math", [False, True])
def test_nan_inf_under_vectorize(simd_math):
    dsmooth = srcgrad.vectorize(srcgrad.grad(smooth, argnums=0), simd_math=simd_math)
    xs = np.array([NAN, INF, 0.3])
    got = dsmooth(xs, 1.0)
    want = [srcgrad.grad(smooth, argnums=0)(x, 1.0) for x in xs]
    if simd_math:    # libmvec's exp/log may differ from libm's in the last bits; nan and inf may not
        np.testing.assert_allclose(got, want, rtol=1e-14, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)
    assert np.isnan(got[0]) and np.isfinite(got[2])


# ---------------------------------------------------------------------- division by zero
@pytest.mark.parametrize("x", [1.0, -1.0, 0.0])
def test_division_by_zero_gives_inf_or_nan(x):
    value, (gx, gy) = srcgrad.value_and_grad(divide, argnums=(0, 1))(x, 0.0)
    with np.errstate(all="ignore"):
        want = np.float64(x) / np.float64(0.0)
    np.testing.assert_array_equal(value, want)
    assert math.isinf(gx)                              # d/dx x/y = 1/y
    assert not math.isfinite(gy)                      # -x/y^2: -inf, or nan when x == 0


def test_log_and_sqrt_at_zero_and_below():
    v, g = srcgrad.value_and_grad(log_of)(0.0)
    assert v == -INF and g == INF
    v, g = srcgrad.value_and_grad(log_of)(-1.0)         # NumPy: nan, not ValueError
    assert math.isnan(v) and math.isnan(g)


# ---------------------------------------------------------------------- conventions at kinks
def absolute(x):
    return abs(x)


def fabs(x):
    return math.fabs(x)


def maximum(x, y):
    return max(x, y)


def minimum(x, y):
    return min(x, y)


def relu_left(x):
    return max(0.0, x)


def relu_right(x):
    return max(x, 0.0)


def square_root(x):
    return math.sqrt(x)


def max3(x, y, z):
    return max(x, y, z)


def test_abs_at_zero_is_zero():
    assert srcgrad.grad(absolute)(0.0) == 0.0
    assert srcgrad.grad(fabs)(0.0) == 0.0
    assert srcgrad.grad(absolute)(-2.0) == -1.0 and srcgrad.grad(absolute)(2.0) == 1.0


def test_max_min_ties_go_to_the_first_argument():
    assert srcgrad.grad(maximum, argnums=(0, 1))(1.5, 1.5) == (1.0, 0.0)
    assert srcgrad.grad(minimum, argnums=(0, 1))(1.5, 1.5) == (1.0, 0.0)
    assert srcgrad.grad(maximum, argnums=(0, 1))(1.0, 2.0) == (0.0, 1.0)
    assert srcgrad.grad(minimum, argnums=(0, 1))(1.0, 2.0) == (1.0, 0.0)
    assert srcgrad.grad(max3, argnums=(0, 1, 2))(2.0, 2.0, 2.0) == (1.0, 0.0, 0.0)


def test_relu_at_zero():
    assert srcgrad.grad(relu_left)(0.0) == 0.0
    assert srcgrad.grad(relu_right)(0.0) == 1.0
    assert srcgrad.grad(relu_left)(1.0) == 1.0 and srcgrad.grad(relu_right)(-1.0) == 0.0


def test_sqrt_at_zero_is_inf():
    assert srcgrad.grad(square_root)(0.0) == INF


# ---------------------------------------------------------------------- dead code
def dead_acos(x):
    t = math.acos(2.0 * x)      # NaN for |x| > 0.5, and never used
    return x * x


def dead_sqrt(x):
    t = math.sqrt(x)            # derivative inf at 0, never used
    u = t * 3.0
    return 2.0 * x


def dead_log_branch(x):
    y = x * x
    if x > 10.0:
        y = math.log(-x)        # not taken: NaN there
    return y


def overwritten(x):
    y = math.acos(2.0 * x)      # overwritten before any use
    y = x * 3.0
    return y


def dead_in_loop(x, n):
    s = 0.0
    for i in range(n):
        t = math.log(x - 5.0)   # NaN, never used
        s = s + x
    return s


@pytest.mark.parametrize("fun,x,want", [(dead_acos, 0.7, 1.4), (dead_sqrt, 0.0, 2.0), (dead_log_branch, 0.5, 1.0),
                                        (overwritten, 0.7, 3.0)])
def test_dead_code_cannot_poison_the_gradient(fun, x, want):
    assert srcgrad.grad(fun)(x) == want


def test_dead_code_in_a_loop():
    assert srcgrad.grad(dead_in_loop)(0.7, 3) == 3.0


# ---------------------------------------------------------------------- float32
def weighted(a, w):
    s = 0.0
    for i in range(a.shape[0]):
        s = s + w[i] * a[i] * a[i]
    return s


def test_float32_arrays_stay_float32():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    w = np.array([0.5, 0.25, 2.0], dtype=np.float32)
    ga, gw = srcgrad.grad(weighted, argnums=(0, 1))(a, w)
    assert ga.dtype == np.float32 and gw.dtype == np.float32
    np.testing.assert_allclose(ga, 2 * w * a, rtol=1e-6)
    np.testing.assert_allclose(gw, a * a, rtol=1e-6)


def test_float32_mixed_with_float64():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    w = np.array([0.5, 0.25, 2.0], dtype=np.float64)
    ga, gw = srcgrad.grad(weighted, argnums=(0, 1))(a, w)
    assert ga.dtype == np.float32 and gw.dtype == np.float64


# Values that are dead on the path actually taken (used only in the other branch, or written into
# an array element nobody reads) get an exactly-zero adjoint; their NaN/inf partial must not
# turn it into NaN (0 * nan).  reverse.py multiplies such partials with a zero-safe product.
def used_only_in_other_branch(x):
    t = math.acos(2.0 * x)      # NaN at x = 0.7; only the branch not taken reads it
    if x > 1.0:
        y = t
    else:
        y = x * x
    return y


def used_only_in_other_ifexp(x):
    t = math.sqrt(x)            # NaN for x < 0
    return t if x > 1.0 else 3.0 * x


def written_never_read(x):
    b = np.zeros(2)
    b[0] = math.acos(2.0 * x)   # NaN, the element is never read
    b[1] = x * x
    return b[1]


@pytest.mark.parametrize("fun,x,want", [(used_only_in_other_branch, 0.7, 1.4), (used_only_in_other_ifexp, -1.0, 3.0),
                                        (written_never_read, 0.7, 1.4)])
def test_value_dead_on_the_taken_path_cannot_poison_the_gradient(fun, x, want):
    assert srcgrad.grad(fun)(x) == pytest.approx(want)


def negative_int_power(x):
    return x ** -2


def negative_float_power(x):
    return x ** -2.0


def test_negative_float_power_at_zero_is_inf():
    assert srcgrad.value_and_grad(negative_float_power)(0.0) == (INF, -INF)


def test_negative_int_power_at_zero_is_inf():
    # Numba raises for float ** negative-int even with error_model='numpy'; srcgrad emits a
    # float exponent (the same value: x ** -2 is a float in Python)
    assert srcgrad.value_and_grad(negative_int_power)(0.0) == (INF, -INF)
