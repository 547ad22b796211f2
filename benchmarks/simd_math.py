"""srcgrad.vectorize with and without SIMD math: float32 against float64, and a lock-step loop.

    python benchmarks/simd_math.py [--size 1e6] [--threads 1]

float32 inputs are computed in float32 (issue #5); with SIMD math on, a straight-line kernel
calling exp/log/erf calls libmvec's float variants (`exp8f`), otherwise libm's `expf`.  The
first table gives ns per element (best of 7 calls after two warm-up calls) for the per-element
kernels whose derivative runs in SIMD lanes, and the largest difference of the float32 result
from the float64 one, relative to the float64 result's largest magnitude.  The second gives
the same for `exp_decay`, a lock-step loop whose step calls exp (float64), and the largest
difference between the two.
"""
import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KERNELS = ("sigmoid_neuron", "black_scholes")


def best_ns(f, args, n, repeat=7):
    f(*args)
    f(*args)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(*args)
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1e6")
    ap.add_argument("--threads", default="1")
    a = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", a.threads)
    sys.path.insert(0, str(REPO))
    import numpy as np

    import srcgrad
    from benchmarks import cases, kernels
    n = int(float(a.size))
    print(f"n={n:.0e}, {a.threads} thread(s), ns per element (best of 7)\n")
    print("| kernel | float64 SIMD | float32 SIMD | float64 libm | float32 libm | float32 vs float64 |")
    print("|---|---:|---:|---:|---:|---:|")
    for k in KERNELS:
        case = cases.elementwise_case(k, n)
        wrt = case.wrt if len(case.wrt) > 1 else case.wrt[0]
        g = srcgrad.grad(getattr(kernels, k), argnums=wrt)
        simd, libm = srcgrad.vectorize(g), srcgrad.vectorize(g, simd_math=False)
        a64 = case.args
        a32 = tuple(x.astype(np.float32) if isinstance(x, np.ndarray) else x for x in a64)
        times = [best_ns(f, args, n) for f in (simd, libm) for args in (a64, a32)]
        r64, r32 = simd(*a64), simd(*a32)
        err = max(float(np.max(np.abs(x - y)) / np.max(np.abs(y))) for x, y in zip(r32, r64))
        print(f"| {k} | {times[0]:.3g} | {times[1]:.3g} | {times[2]:.3g} | {times[3]:.3g} | {err:.1e} |")
    rng = np.random.default_rng(0)
    args = (rng.uniform(0.1, 1.0, n), rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 2.0, n))
    g = srcgrad.grad(kernels.exp_decay, argnums=(0, 1, 2))
    simd, libm = srcgrad.vectorize(g), srcgrad.vectorize(g, simd_math=False)
    t_simd, t_libm = best_ns(simd, args, n), best_ns(libm, args, n)
    err = max(float(np.max(np.abs(x - y)) / np.max(np.abs(y))) for x, y in zip(simd(*args), libm(*args)))
    print("\n| lock-step kernel | float64 SIMD | float64 libm | difference |")
    print("|---|---:|---:|---:|")
    print(f"| exp_decay | {t_simd:.3g} | {t_libm:.3g} | {err:.1e} |")


if __name__ == "__main__":
    main()
