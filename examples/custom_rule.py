"""Give srcgrad a derivative it cannot derive: a user's own log-gamma, written in Numba.

srcgrad differentiates Python source, but `lgamma` below is a compiled special function whose
derivative (the digamma function) is better written by hand. `@srcgrad.partials(lgamma)`
declares it, the same way srcgrad's own rule tables declare `math.sin`. Every function that
calls `lgamma` is then differentiable: here a negative-binomial log-likelihood, fitted to
overdispersed counts with BFGS, checked against central differences.

    python examples/custom_rule.py
"""
import math

import numba
import numpy as np

import srcgrad


@numba.njit(error_model="numpy")
def lgamma(x):
    """log Gamma(x) for x > 0: shift up to x >= 10, then Stirling's series."""
    acc = 0.0
    while x < 10.0:
        acc -= math.log(x)
        x += 1.0
    z = 1.0 / (x * x)
    series = (1.0 / 12 - z * (1.0 / 360 - z * (1.0 / 1260 - z / 1680))) / x
    return acc + (x - 0.5) * math.log(x) - x + 0.5 * math.log(2.0 * math.pi) + series


@numba.njit(error_model="numpy")
def digamma(x):
    """d/dx log Gamma(x), by the same shift and the asymptotic series."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    z = 1.0 / (x * x)
    return acc + math.log(x) - 0.5 / x - z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z / 240)))


@srcgrad.partials(lgamma, domain=((0.3, 20.0),))
def lgamma_partial(x):
    return digamma(x)


def negbin_loglik(log_r, logit_p, counts):
    """Negative-binomial log-likelihood, parameters unconstrained (r = e^log_r, p = sigmoid)."""
    r = math.exp(log_r)
    p = 1.0 / (1.0 + math.exp(-logit_p))
    s = 0.0
    for i in range(len(counts)):
        k = counts[i]
        s += lgamma(k + r) - lgamma(k + 1.0) - lgamma(r) + r * math.log(p) + k * math.log(1.0 - p)
    return s / len(counts)


def main():
    rng = np.random.default_rng(7)
    r_true, p_true = 3.0, 0.35
    counts = rng.negative_binomial(r_true, p_true, size=2000).astype(np.float64)
    print(f"{len(counts)} counts: mean {counts.mean():.3f}, variance {counts.var():.3f} (overdispersed)")
    print("lgamma vs math.lgamma at 0.5, 3.7, 12.0:",
          ", ".join(f"{lgamma(x) - math.lgamma(x):.1e}" for x in (0.5, 3.7, 12.0)))

    srcgrad.check_grad(negbin_loglik, 0.5, -0.3, counts, argnums=(0, 1), rtol=1e-6)
    print("check_grad passed: srcgrad's gradient (through the custom lgamma rule) matches central differences")

    from scipy.optimize import minimize

    vg = srcgrad.value_and_grad(negbin_loglik, argnums=(0, 1))

    def objective(theta):               # minimise the negative mean log-likelihood
        value, grads = vg(theta[0], theta[1], counts)
        return -value, -np.array(grads)

    res = minimize(objective, np.zeros(2), jac=True, method="BFGS", options={"gtol": 1e-9})
    value, g = -res.fun, res.jac
    r_hat, p_hat = math.exp(res.x[0]), 1.0 / (1.0 + math.exp(-res.x[1]))
    print(f"BFGS with srcgrad's gradient: {res.nit} iterations, |gradient| {math.hypot(*g):.1e}")
    print(f"fitted r = {r_hat:.3f}, p = {p_hat:.3f} (true r = {r_true}, p = {p_true}); "
          f"mean log-likelihood {value:.4f}")
    # the fitted negative binomial reproduces the sample's mean, r (1 - p) / p
    print(f"fitted mean {r_hat * (1 - p_hat) / p_hat:.5f} vs sample mean {counts.mean():.5f}")


if __name__ == "__main__":
    main()
