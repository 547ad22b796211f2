"""Like terms in one line's adjoint are collected (srcgrad/passes/collect.py).

Oracles: hand-derived derivatives and central differences. The source checks pin down that
the terms really were merged (that is the point of the pass: one multiply instead of two
multiplies and two adds), the value checks that merging kept the derivative.
"""
import math

import numpy as np
import pytest

import srcgrad
from benchmarks.kernels import huber          # the if/elif/else form
from srcgrad.testing import check_grad
from tests.golden_functions import huber as huber_early_return


def _adjoint(g) -> str:
    """The adjoint sweep's code, without its comments."""
    src = g.source
    adj = src[src.index("# adjoint sweep"):src.index("@_jit", src.index("# adjoint sweep"))]
    return "\n".join(line for line in adj.splitlines() if not line.strip().startswith("#"))


def half_square(x):
    return 0.5 * x * x


def square(x):
    return x * x


def cubic_monomial(x, y):
    return 3.0 * x * y * x


def two_terms(x, y):
    return 2.0 * x * y + 0.25 * x * x


XS = [0.0, 1.0, -2.5, 3.0e-3, 1.0e10, 7.0, -1.0e-200]


def test_half_square_is_one_term():
    g = srcgrad.grad(half_square)
    adj = _adjoint(g)
    assert adj.count("x_bar") == 2, adj          # `x_bar = ... * x` and the return
    assert "0.5" not in adj and "_t_bar" not in adj, adj
    for x in XS:
        assert g(x) == x                          # d/dx 0.5 x^2 = x, exactly


def test_square_is_twice_one_product():
    g = srcgrad.grad(square)
    adj = _adjoint(g)
    assert "2.0 * " in adj and "+=" not in adj, adj
    for x in XS:
        assert g(x) == 2.0 * x                    # a + a == 2a in IEEE: exact


def test_monomial_in_two_names():
    g = srcgrad.grad(cubic_monomial, argnums=(0, 1))
    adj = _adjoint(g)
    assert adj.count("x_bar +=") == 0, adj
    for x, y in [(1.5, -2.0), (0.3, 4.0), (-7.0, 0.125)]:
        gx, gy = g(x, y)
        assert gx == pytest.approx(6.0 * x * y, rel=1e-15)
        assert gy == pytest.approx(3.0 * x * x, rel=1e-15)
    check_grad(cubic_monomial, 0.7, -1.3, argnums=(0, 1))


def test_unlike_terms_stay_apart():
    g = srcgrad.grad(two_terms, argnums=(0, 1))
    for x, y in [(1.5, -2.0), (0.3, 4.0)]:
        gx, gy = g(x, y)
        assert gx == pytest.approx(2.0 * y + 0.5 * x, rel=1e-15)
        assert gy == pytest.approx(2.0 * x, rel=1e-15)


def test_huber_adjoint_is_the_clamp():
    g = srcgrad.grad(huber)
    adj = _adjoint(g)
    assert "= 0.0" not in adj and "+=" not in adj, adj     # each branch assigns its adjoint
    assert "x_bar = _retval_2_bar * x" in adj, adj
    g2 = srcgrad.grad(huber_early_return)
    for x in np.linspace(-3, 3, 61):
        assert g(float(x), 1.0) == g2(float(x), 1.0) == min(max(float(x), -1.0), 1.0)


def one_branch(x, y):
    if x > 0.0:
        r = x * y
    else:
        r = x
    return r


def test_branch_without_contribution_assigns_zero():
    g = srcgrad.grad(one_branch, argnums=(0, 1))
    assert g(2.0, 3.0) == (3.0, 2.0)
    assert g(-2.0, 3.0) == (1.0, 0.0)


def loop_like_terms(x, w, n):
    s = 0.0
    for i in range(n):
        s = s + 0.5 * x * x * w + s * 0.5 * w
    return s


def carried_factor(y, w, n):
    # `(2.0 * y) * w` and `(3.0 * y) * w` give w two terms in y; y is carried and changes after
    # the line, and the line's adjoint does not read y: merging them would read a stale y
    s = 0.0
    for i in range(n):
        s = s + (2.0 * y) * w + (3.0 * y) * w
        y = y * 0.9 + 0.1 * s
    return s


@pytest.mark.parametrize("fn,args", [(loop_like_terms, (0.7, 0.3, 5)), (carried_factor, (0.4, 0.2, 6))])
def test_in_loops_against_central_differences(fn, args):
    check_grad(fn, *args, argnums=(0, 1))


def test_stale_factor_is_not_used():
    g = srcgrad.grad(carried_factor, argnums=(0, 1))
    adj = _adjoint(g)
    assert "w_bar += 5.0" not in adj, adj    # the two terms in y were not merged
    assert "y_1_bar += 5.0 * (s_1_bar * w)" in adj, adj   # those in w and s (read here) were


def math_in_term(x):
    return math.sin(x) * x + x * math.sin(x)


def test_terms_with_calls():
    check_grad(math_in_term, 0.9)
    g = srcgrad.grad(math_in_term)
    x = 0.9
    assert g(x) == pytest.approx(2.0 * (math.cos(x) * x + math.sin(x)), rel=1e-14)


def test_vectorized_float32_keeps_float32():
    v = srcgrad.vectorize(srcgrad.grad(half_square))
    x = np.linspace(-2, 2, 101, dtype=np.float32)
    out = v(x)
    assert out.dtype == np.float32 and np.array_equal(out, x)



def big_coefficients(x):
    return 1e20 * x * 1e20 * x


def test_big_coefficients_are_not_folded():
    # 1e40 folded would be inf in float32; such coefficients are left to the step-by-step product
    from srcgrad.passes.collect import _tame
    assert _tame([0.5, 0.5]) and _tame([0.0, 3.0]) and not _tame([1e40, 1e40]) and not _tame([1e-40, 1.0])
    g = srcgrad.grad(big_coefficients)
    assert "+=" in _adjoint(g)
    for x in (0.5, -2.0):
        assert g(x) == pytest.approx(2e40 * x, rel=1e-12)
