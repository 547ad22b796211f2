"""Gradient time over objective time (J/F) for the array workloads of issue #4, and the save
stacks one GMM gradient call uses.

    python benchmarks/array_ratios.py

Both sides compiled, same process, best of 7 warm calls: the objective with numba.njit, the
gradient with srcgrad's `.kernel`.
"""
import os
import sys
import time

import numba
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "examples"))

import srcgrad  # noqa: E402
from benchmarks import adbench, kernels  # noqa: E402
from tests import corpus  # noqa: E402


def best(f, args, n=7):
    f(*args)
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f(*args)
        ts.append(time.perf_counter() - t)
    return min(ts)


def ratio(label, fn, args, argnums, extra=""):
    primal = numba.njit(error_model="numpy")(fn)
    g = srcgrad.grad(fn, argnums=argnums)
    tf, tg = best(primal, args), best(g.kernel, args)
    print(f"| {label} | {tf * 1e3:.3f} ms | {tg * 1e3:.3f} ms | {tg / tf:.2f} | {extra} |")
    return g


def stack_bytes(g, args):
    # the module built for these arguments' types (g.uses_stacks/g.vjp_kernel are the
    # all-numbers build, which a function of arrays does not have)
    mod = g.module(g.signature(g.bind(args, {})))
    if not mod.USES_STACKS:
        return 0
    out = getattr(mod, g.vjp_name)(*args, 1.0, np.empty(16), np.empty(16, np.int64))
    return out[-2].nbytes + out[-1].nbytes


def main():
    import mlp
    print("| workload | objective | gradient | J/F | save stacks per call |\n|---|---:|---:|---:|---:|")
    x = np.random.default_rng(0).uniform(-1, 1, 100_000)
    g = ratio("Rosenbrock, loop form, n = 1e5", corpus.rosenbrock, (x,), 0)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((256, 2))
    Y = mlp.one_hot(rng.integers(0, 2, 256), 2)
    args = (rng.standard_normal((2, 64)) * 0.5, np.zeros(64), rng.standard_normal((64, 2)) * 0.5,
            np.zeros(2), X, Y, 1e-3)
    ratio("MLP loss, batch 256 (2-64-2)", mlp.loss, args, (0, 1, 2, 3))
    for rel in ("gmm/1k/gmm_d2_K5.txt", "gmm/1k/gmm_d10_K25.txt"):
        try:
            data = adbench.read_gmm(rel)
        except adbench.DataNotFound as exc:
            print(f"| GMM {rel} | {exc} | | | |")
            continue
        g = srcgrad.grad(kernels.gmm_objective, argnums=(0, 1, 2))
        mem = stack_bytes(g, data.args)
        ratio(f"GMM {rel}", kernels.gmm_objective, data.args, (0, 1, 2), f"{mem / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
