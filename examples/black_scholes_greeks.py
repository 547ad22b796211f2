"""Black-Scholes Greeks for millions of options: one scalar pricing function, differentiated.

Run:  python examples/black_scholes_greeks.py          (10^7 options)
      python examples/black_scholes_greeks.py --quick  (10^5 options, for CI)

The price of a European call is written once, as scalar `math` code. srcgrad differentiates
it w.r.t. the spot S, the maturity T, the rate r and the volatility sigma in one fused
forward + adjoint function, and `srcgrad.vectorize` maps that over arrays of options on all
cores. The Greeks are then

    delta = dC/dS,   vega = dC/dsigma,   rho = dC/dr,   theta = -dC/dT

(theta is the change per unit of calendar time, which shortens the maturity). They are checked
against the closed-form Greeks, and the time per option is compared with pricing alone.

If `srcgrad.vectorize` is not available in this version of srcgrad, the example maps the
gradient over the arrays itself, in a parallel Numba loop that calls `grad(...).kernel` per
option, and says so.
"""
import argparse
import math
import time

import numba
import numpy as np

import srcgrad


def call_price(S, K, T, r, sigma):
    sqrt_t = math.sqrt(T)
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    n1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
    n2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
    return S * n1 - K * math.exp(-r * T) * n2


call_grad = srcgrad.grad(call_price, argnums=(0, 2, 3, 4))     # d/d(S, T, r, sigma)
call_price_jit = numba.njit(cache=False)(call_price)            # pricing alone, for the timing


def make_kernel_loop(kernel):
    """The fallback: a parallel loop of our own, calling srcgrad's compiled kernel per option."""
    @numba.njit(parallel=True, cache=False)
    def loop(S, K, T, r, sigma, dS, dT, dr, dsigma):
        for i in numba.prange(S.size):
            a, b, c, d = kernel(S[i], K[i], T[i], r[i], sigma[i])
            dS[i] = a
            dT[i] = b
            dr[i] = c
            dsigma[i] = d
    return loop


def greeks_function(force_fallback=False):
    """(name of the path, f(S, K, T, r, sigma) -> (dS, dT, dr, dsigma) arrays)."""
    if not force_fallback:
        try:
            vectorized = srcgrad.vectorize(call_grad)
            return "srcgrad.vectorize", vectorized
        except NotImplementedError:
            pass
    reason = "asked for with --fallback" if force_fallback else "srcgrad.vectorize not available"
    loop = make_kernel_loop(call_grad.kernel)

    def run(S, K, T, r, sigma):
        outs = tuple(np.empty_like(S) for _ in range(4))
        loop(S, K, T, r, sigma, *outs)
        return outs
    return f"fallback: numba.prange loop over grad(...).kernel ({reason})", run


@numba.njit(parallel=True, cache=True)
def closed_form(S, K, T, r, sigma, price, delta, vega, rho, theta):
    """The textbook price and Greeks of a call, for the check."""
    for i in numba.prange(S.size):
        sqrt_t = math.sqrt(T[i])
        d1 = (math.log(S[i] / K[i]) + (r[i] + 0.5 * sigma[i] ** 2) * T[i]) / (sigma[i] * sqrt_t)
        d2 = d1 - sigma[i] * sqrt_t
        n1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
        n2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
        pdf1 = math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
        disc = K[i] * math.exp(-r[i] * T[i])
        price[i] = S[i] * n1 - disc * n2
        delta[i] = n1
        vega[i] = S[i] * pdf1 * sqrt_t
        rho[i] = T[i] * disc * n2
        theta[i] = -S[i] * pdf1 * sigma[i] / (2.0 * sqrt_t) - r[i] * disc * n2


@numba.njit(parallel=True, cache=False)
def price_all(S, K, T, r, sigma, out):
    for i in numba.prange(S.size):
        out[i] = call_price_jit(S[i], K[i], T[i], r[i], sigma[i])


@numba.njit(cache=True)
def max_error(a, b, scale):
    """max |a - b| / (scale + |b|): absolute for small Greeks, relative for large ones."""
    worst = 0.0
    for i in range(a.size):
        e = abs(a[i] - b[i]) / (scale + abs(b[i]))
        if e > worst:
            worst = e
    return worst


def make_options(n, rng):
    S = rng.uniform(50.0, 150.0, n)
    K = rng.uniform(80.0, 120.0, n)
    T = rng.uniform(0.1, 3.0, n)
    r = rng.uniform(0.0, 0.08, n)
    sigma = rng.uniform(0.1, 0.6, n)
    return S, K, T, r, sigma


def best_time(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 options instead of 10^7 (for CI)")
    parser.add_argument("--fallback", action="store_true",
                        help="use the prange loop over .kernel even if srcgrad.vectorize works")
    args = parser.parse_args(argv)
    n = 10 ** 5 if args.quick else 10 ** 7

    S, K, T, r, sigma = make_options(n, np.random.default_rng(0))
    path, greeks = greeks_function(args.fallback)
    print(f"{n:,} European calls; threads: {numba.get_num_threads()}")
    print(f"path: {path}")

    dS, dT, dr, dsigma = greeks(S, K, T, r, sigma)          # compiles on first use
    delta, vega, rho, theta = dS, dsigma, dr, -dT

    ref = tuple(np.empty(n) for _ in range(5))
    closed_form(S, K, T, r, sigma, *ref)
    price, delta_cf, vega_cf, rho_cf, theta_cf = ref

    print()
    print(f"{'Greek':8s} {'first option':>14s} {'closed form':>14s} {'max error':>10s}")
    worst = 0.0
    for name, mine, cf in (("delta", delta, delta_cf), ("vega", vega, vega_cf),
                           ("rho", rho, rho_cf), ("theta", theta, theta_cf)):
        err = max_error(mine, cf, 1.0)
        worst = max(worst, err)
        print(f"{name:8s} {mine[0]:14.8f} {cf[0]:14.8f} {err:10.1e}")
    print(f"largest error against the closed form: {worst:.1e}  (|a - b| / (1 + |b|))")

    out = np.empty(n)
    price_all(S, K, T, r, sigma, out)
    repeat = 5 if args.quick else 1
    t_grad = best_time(lambda: greeks(S, K, T, r, sigma), repeat)
    t_price = best_time(lambda: price_all(S, K, T, r, sigma, out), repeat)
    print()
    print(f"price only (Numba, parallel):       {1e9 * t_price / n:7.1f} ns per option")
    print(f"price gradient, 4 Greeks (srcgrad): {1e9 * t_grad / n:7.1f} ns per option"
          f"  ({t_grad / t_price:.1f}x pricing alone)")


if __name__ == "__main__":
    main()
