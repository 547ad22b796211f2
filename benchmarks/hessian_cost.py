"""Cost of second derivatives relative to the gradient (reverse over forward).

    python benchmarks/hessian_cost.py

Times (median of 7, compiled, warm) of grad, hvp (one Hessian-vector product) and the full
hessian of the loop-form Rosenbrock function, and of grad(grad(f)) against grad(f) for the
Black-Scholes call price.
"""
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import srcgrad  # noqa: E402
from tests import corpus  # noqa: E402


def call_price(S, K, T, r, sigma):
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    return S * 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0))) - K * math.exp(-r * T) * 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))


def median_time(f, *args, n=7):
    f(*args)
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f(*args)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    print("| function | grad | hvp | hessian | hvp / grad | hessian / grad |\n|---|---:|---:|---:|---:|---:|")
    for n in (100, 100_000):
        x = np.random.default_rng(0).uniform(-1, 1, n)
        v = np.ones(n)
        tg = median_time(srcgrad.grad(corpus.rosenbrock).kernel, x)
        th = median_time(srcgrad.hvp(corpus.rosenbrock).kernel, x, v)
        if n <= 1000:
            tH = median_time(srcgrad.hessian(corpus.rosenbrock), x, n=3)
            hess = f"{tH * 1e3:.2f} ms | "
            ratio = f"{tH / tg:.0f}"
        else:
            hess, ratio = "(n x n: not run) | ", ""
        print(f"| Rosenbrock n={n} | {tg * 1e6:.1f} us | {th * 1e6:.1f} us | {hess}{th / tg:.2f} | {ratio} |")
    args = (100.0, 95.0, 0.7, 0.03, 0.25)
    tg = median_time(srcgrad.grad(call_price).kernel, *args)
    tgg = median_time(srcgrad.grad(srcgrad.grad(call_price)).kernel, *args)
    print(f"| Black-Scholes gamma = grad(grad) | {tg * 1e6:.2f} us | {tgg * 1e6:.2f} us (grad of grad) | | "
          f"{tgg / tg:.1f} | |")
    print("(hessian includes Python-level calls of one hvp per element; hvp and grad are kernel calls)")


if __name__ == "__main__":
    main()
