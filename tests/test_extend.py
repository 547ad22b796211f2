"""Custom derivative rules through the public decorators (srcgrad.partials / nondiff)."""
import math

import numpy as np
import pytest

import srcgrad

from . import extend_model as m


def test_user_lgamma_matches_math_lgamma_and_its_rule_matches_central_differences():
    for x in (0.3, 1.0, 2.5, 7.9, 8.0, 15.0):
        assert m.lgamma(x) == pytest.approx(math.lgamma(x), rel=1e-11, abs=1e-11)
        h = 1e-5
        assert m.digamma(x) == pytest.approx((math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h), rel=1e-7)


def test_negative_binomial_loglikelihood_through_a_custom_rule():
    counts = np.array([0.0, 3.0, 1.0, 7.0, 2.0, 12.0])
    srcgrad.check_grad(m.negbin_loglik, 2.5, 0.4, counts, argnums=(0, 1), rtol=1e-6)
    g = srcgrad.grad(m.negbin_loglik, argnums=(0, 1))
    src = g.source_for(2.5, 0.4, counts)
    assert "_x_tests_extend_model_lgamma = _rt.external('tests.extend_model', 'lgamma')" in src
    assert "_x_tests_extend_model_digamma(" in src


def test_poisson_loglikelihood_closed_form():
    counts = np.array([1.0, 4.0, 2.0])
    lam = 1.7
    # d/dlam sum(k log lam - lam - lgamma(k+1)) = sum(k)/lam - n
    assert srcgrad.grad(m.poisson_loglik)(lam, counts) == pytest.approx(counts.sum() / lam - 3, rel=1e-14)


def test_nondiff_function_is_a_constant():
    x = 0.37
    assert srcgrad.grad(m.with_noise)(x) == pytest.approx(2 * x, rel=1e-15)
    v, _ = srcgrad.value_and_grad(m.with_noise)(x)
    assert v == pytest.approx(x * x + m.noise(x))


def test_declaring_a_rule_rebuilds_gradients_built_before():
    # Before the rule, srcgrad reads the @njit helper's source (d/dx (x**3 + x) = 3x**2 + 1);
    # once a rule is declared it takes precedence, and a gradient built before uses it.
    g = srcgrad.grad(m.uses_cube)
    assert g(2.0) == pytest.approx(13.0, rel=1e-15)
    assert "_x_tests_extend_model_cube(" not in g.source_for(2.0)   # read and inlined

    @srcgrad.partials(m.cube)
    def cube_partial(x):
        return 3.0 * x * x

    assert g(2.0) == pytest.approx(13.0, rel=1e-15)
    assert "_x_tests_extend_model_cube(" in g.source_for(2.0)       # called, its rule applied


def test_a_rule_for_a_local_function_is_refused():
    import numba

    @numba.njit
    def local(x):
        return x

    with pytest.raises(srcgrad.SrcgradError, match="module-level"):
        srcgrad.partials(local)(lambda_free_partial)


def lambda_free_partial(x):
    return 1.0


def test_a_partials_rule_may_not_name_a_parameter_g():
    """Rule expressions bind `g` to the incoming adjoint; a parameter of that name would be
    silently replaced by it (the bug behind a wrong second derivative, tests/test_higher.py)."""
    def scaled(a, g):
        return a * g

    with pytest.raises(srcgrad.SrcgradError, match="may not be named `g`"):
        @srcgrad.partials(scaled)
        def _(a, g):
            return g, a
