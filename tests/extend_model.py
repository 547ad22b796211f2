"""A user's model with hand-written special functions in Numba, given derivatives with
srcgrad's public rule decorators (used by tests/test_extend.py and examples/custom_rule.py)."""
import math

import numba
import numpy as np

import srcgrad


@numba.njit(error_model="numpy")
def lgamma(x):
    """log Gamma(x) for x > 0: recurrence up to x >= 10, then the Stirling series."""
    acc = 0.0
    while x < 10.0:
        acc -= math.log(x)
        x += 1.0
    z = 1.0 / (x * x)
    series = (1.0 / 12 - z * (1.0 / 360 - z * (1.0 / 1260 - z * (1.0 / 1680))) ) / x
    return acc + (x - 0.5) * math.log(x) - x + 0.5 * math.log(2.0 * math.pi) + series


@numba.njit(error_model="numpy")
def digamma(x):
    """d/dx log Gamma(x) for x > 0, by the same recurrence and the asymptotic series."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    z = 1.0 / (x * x)
    return acc + math.log(x) - 0.5 / x - z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z / 240)))


@srcgrad.partials(lgamma, domain=((0.3, 20.0),))
def lgamma_partial(x):
    return digamma(x)


@numba.njit
def noise(x):
    return math.sin(1e3 * x) * 1e-3


srcgrad.nondiff(noise)


def negbin_loglik(r, p, counts):
    """Negative-binomial log-likelihood of integer counts, with r > 0 and 0 < p < 1."""
    s = 0.0
    for i in range(len(counts)):
        k = counts[i]
        s += lgamma(k + r) - lgamma(k + 1.0) - lgamma(r) + r * math.log(p) + k * math.log(1.0 - p)
    return s


def poisson_loglik(lam, counts):
    s = 0.0
    for i in range(len(counts)):
        s += counts[i] * math.log(lam) - lam - lgamma(counts[i] + 1.0)
    return s


def with_noise(x):
    return x * x + noise(x)


@numba.njit
def cube(x):
    """Has no rule until test_extend declares one."""
    return x * x * x


def uses_cube(x):
    return cube(x) + x
