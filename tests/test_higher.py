"""Forward mode (jvp, jacobian) and second derivatives (grad of grad, hessian, hvp), against
closed forms and central differences of srcgrad's first derivatives."""
import math
import re

import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad

from . import corpus


def call_price(S, K, T, r, sigma):
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    return S * 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0))) - K * math.exp(-r * T) * 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))


def pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


BS = (100.0, 95.0, 0.7, 0.03, 0.25)


def test_black_scholes_gamma_and_vanna_closed_form():
    S, K, T, r, sigma = BS
    d1 = (math.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    gamma = pdf(d1) / (S * sigma * math.sqrt(T))
    vanna = -pdf(d1) * d2 / sigma
    assert srcgrad.grad(srcgrad.grad(call_price))(*BS) == pytest.approx(gamma, rel=1e-10)
    assert srcgrad.grad(srcgrad.grad(call_price, argnums=0), argnums=4)(*BS) == pytest.approx(vanna, rel=1e-10)
    h = srcgrad.hessian(call_price, argnums=(0, 4))(*BS)
    assert h[0][0] == pytest.approx(gamma, rel=1e-10)
    assert h[0][1] == pytest.approx(vanna, rel=1e-10) and h[1][0] == pytest.approx(vanna, rel=1e-10)


def test_rosenbrock_hessian_closed_form():
    x = np.array([1.2, 0.8, -0.5, 0.3])
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
        H[i + 1, i + 1] += 200
    np.testing.assert_allclose(srcgrad.hessian(corpus.rosenbrock)(x), H, rtol=1e-12)
    v = np.array([0.3, -1.0, 2.0, 0.5])
    np.testing.assert_allclose(srcgrad.hvp(corpus.rosenbrock)(x, v), H @ v, rtol=1e-12)


@pytest.mark.parametrize("fn,args,i", [
    (corpus.logistic_euler, (0.7, 1.3, 1.6), 1),
    (corpus.huber, (0.5, 1.0), 0), (corpus.huber, (2.5, 1.0), 0),
    (corpus.while_threshold, (1.5, 0.3), 0),
    (corpus.early_return_in_loop, (1.2, 10), 0),
    (corpus.elif_chain, (0.7,), 0),
    (corpus.nested_loops, (0.4, 7), 0),
])
def test_grad_of_grad_through_branches_and_loops(fn, args, i):
    g = srcgrad.grad(fn, argnums=i)
    gg = srcgrad.grad(g, argnums=i)
    h = 1e-5
    up, dn = list(args), list(args)
    up[i] += h
    dn[i] -= h
    numeric = (g(*up) - g(*dn)) / (2 * h)
    assert gg(*args) == pytest.approx(numeric, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("fn", [corpus.many_math, corpus.uses_helpers, corpus.loop_break,
                                corpus.inplace_writes, corpus.whole_array, corpus.broadcasting],
                         ids=lambda f: f.__name__)
def test_jvp_matches_reverse_mode(fn):
    from .test_corpus import make_args
    rng = np.random.default_rng(3)
    args, nums = make_args(fn, rng)
    tangents = [rng.standard_normal(np.shape(a)) if i in nums else 0 * np.asarray(a)
                for i, a in enumerate(args)]
    tangents = [float(t) if np.ndim(t) == 0 else t for t in tangents]
    value, tangent = srcgrad.jvp(fn, args, tangents)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    grads = srcgrad.grad(fn, argnums=nums)(*args)
    expected = sum(float(np.sum(g * tangents[i])) for g, i in zip(grads, nums))
    assert tangent == pytest.approx(expected, rel=1e-10, abs=1e-12)


def vector_out(x, a):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = math.sin(x[i]) * x[0] * a
    return y


def test_jacobian_of_a_vector_function_forward_and_of_a_scalar_function_reverse():
    x = np.array([0.3, -0.7, 1.1])
    J = srcgrad.jacobian(vector_out)(x, 2.0)
    expected = np.diag(np.cos(x) * x[0] * 2.0)
    expected[:, 0] += np.sin(x) * 2.0
    np.testing.assert_allclose(J, expected, rtol=1e-13)
    np.testing.assert_allclose(srcgrad.jacobian(corpus.rosenbrock)(x), srcgrad.grad(corpus.rosenbrock)(x))
    np.testing.assert_allclose(srcgrad.jacobian(vector_out, argnums=1)(x, 2.0), np.sin(x) * x[0])


def test_tangent_code_is_readable_and_saves_nothing():
    from srcgrad.forward_mode import _jvp_function
    src = _jvp_function(corpus.logistic_euler, (1,)).source
    assert "def logistic_euler_jvp(a, b, c, b_dot):" in src
    assert "_fs" not in src
    assert "y_1_dot = y_dot + _t_4_dot" in src or "_dot" in src


# ------------------------------------------- the one-sweep forward gradient: symbolic constants
# ForwardGradFunction (vectorize's gradient of loop kernels) seeds one-hot tangents; the ones
# known to be constant (mostly zero) get no variable and no arithmetic (passes/forward.py).
def logistic(y0, r, k):
    y = y0
    for i in range(100):
        y = y + 0.05 * r * y * (1.0 - y / k)
    return y


def branch_carry(x, y, z):
    s = 0.0
    t = 1.0
    for i in range(4):
        if s > 0.5:
            s = s * y - z
        else:
            s = s + x * t
        t = t * y
    while t < 3.0:
        t = t * 1.5 + z * z
    return s + t / x


def reassigned(x, y, z):
    x = x * 2.0
    w = y
    w = w + 1.0
    return x * w + math.sin(z) / w


def two_carried(x, y, z):
    a = x
    b = y
    for i in range(10):
        a_new = a * 0.9 + b * z * 0.1
        b = b * 0.95 - a * 0.01 + math.sin(z) * 0.1
        a = a_new
    return a * b


def read_after(x, r, c):
    y = x
    t = 0.0
    for i in range(5):
        t = y * r               # assigned in the step, not carried, read after the loop
        y = y + 0.1 * t / (c + y)
    return y + t


def nested(x, r, c):
    y = x
    for i in range(3):
        for j in range(4):
            y = y + 0.01 * r * y / c
        y = y * 0.99 + r
    return y


def index_dependent(x, r, c):
    y = x
    s = c
    for i in range(6):
        y = y * (1.0 + r / (i + 1.0)) + s * 0.01
    return y * s


SYMBOLIC = [(logistic, (0.3, 1.2, 7.0)), (branch_carry, (0.7, 1.1, 0.4)), (branch_carry, (0.2, 0.9, 0.3)),
            (reassigned, (0.5, 1.5, 0.8)), (two_carried, (0.5, 0.7, 0.3)), (read_after, (0.4, 1.3, 2.0)),
            (nested, (0.4, 1.3, 2.0)), (index_dependent, (0.4, 0.3, 2.0))]


def _forward_grad(fn, argnums):
    from srcgrad.higher import ForwardGradFunction
    return ForwardGradFunction(fn, argnums)


@pytest.mark.parametrize("fn,args", SYMBOLIC)
def test_forward_gradient_matches_reverse_mode_and_central_differences(fn, args):
    argnums = tuple(range(len(args)))
    fwd = _forward_grad(fn, argnums)(*args)
    rev = srcgrad.grad(fn, argnums=argnums)(*args)
    np.testing.assert_allclose(fwd, rev, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(fwd, numerical_grad(fn, args, argnums), rtol=1e-6)
    for sub in [(0,), (1,), (0, 2), (2, 1)]:        # other one-hot seeds, other orders
        got = _forward_grad(fn, sub)(*args)
        np.testing.assert_allclose(got if isinstance(got, tuple) else (got,), [rev[i] for i in sub],
                                   rtol=1e-13, atol=1e-15)


def test_forward_gradient_zero_seeds_are_symbolic():
    src = _forward_grad(logistic, (0, 1, 2)).source
    # no variable for the seeds of r and k in the other directions, no `* 0.0` anywhere
    for name in ("y0_d1", "r_d0", "r_d2", "k_d0", "k_d1", "k_d2"):
        assert name not in src, name
    assert not re.search(r"\* 0\.0\b|\b0\.0 \*", src)
    assert "y_d1 = 0.0" in src            # a carried tangent starts at zero, then changes


def test_forward_gradient_of_a_loop_applies_the_step_jacobian():
    # one sweep for d/dy, one per direction through the inputs, combined: cheaper than three
    # sweeps through the whole step; the same derivative (tested above)
    src = _forward_grad(logistic, (0, 1, 2)).source
    assert "y_1_dy = 1.0 + _t_4_dy" in src
    assert "y_1_d0 = y_1_dy * y_d0\n" in src
    assert "y_1_d1 = y_1_dy * y_d1 + y_1_in1\n" in src
    assert "y_1_d2 = y_1_dy * y_d2 + y_1_in2\n" in src
    assert "_in0" not in src              # y0 does not reach the step but through y


def product(x, y):
    return x * y


def test_forward_gradient_inf_partial_does_not_reach_an_independent_direction():
    # d(x*y)/dy = x is finite at y = inf; a zero seed times the inf partial would be NaN
    rev = srcgrad.grad(product, argnums=(0, 1))(2.0, math.inf)
    assert _forward_grad(product, (0, 1))(2.0, math.inf) == rev == (math.inf, 2.0)


def sqrt_in_a_branch(x, y):
    r = 0.0
    if y > 0.0:
        r = math.sqrt(x) * y
    return r + x * y


def test_second_derivative_through_a_zero_safe_product():
    """The first derivative multiplies sqrt's partial by its adjoint with _rt.zsafe (the adjoint
    is 0 when the branch is not taken); differentiating that product again used the adjoint in
    place of zsafe's first argument (its rule named it `g`): -0.795 instead of the hand-derived
    d2/dx2 (sqrt(x) y + x y) = -y / (4 x^1.5) = -0.265 at (2, 3)."""
    d2 = srcgrad.grad(srcgrad.grad(sqrt_in_a_branch), argnums=0)
    assert d2(2.0, 3.0) == pytest.approx(-3.0 / (4 * 2.0 ** 1.5), rel=1e-12)
    assert srcgrad.hessian(sqrt_in_a_branch)(2.0, 3.0) == pytest.approx(-3.0 / (4 * 2.0 ** 1.5), rel=1e-12)


def _scaled_energy(x, k):
    u = x.copy()                 # an array method: the partial must be built for an array x
    return np.sum(u * u) * k * k + math.sin(k)


def test_hessian_of_a_number_beside_an_array_argument():
    # it was refused with "the method `.copy()` of a number": the second derivative was built
    # for all-number arguments first
    x = np.array([0.5, -1.0, 2.0])
    want = 2.0 * np.sum(x * x) - math.sin(0.7)          # d2/dk2, by hand
    assert srcgrad.hessian(_scaled_energy, argnums=1)(x, 0.7) == pytest.approx(want, rel=1e-12)
