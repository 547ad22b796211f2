"""GradBench's evals in their natural NumPy form, timed in one process without GradBench: the
gradient's time over the primal's and both cold compiles (issue 19's compile-time and speed
rows, between full GradBench runs).

    python benchmarks/natural_forms.py [lse llsq gmm ode kmeans]

The functions are the ones the GradBench tool runs (`benchmarks/gradbench/evals/`), at
GradBench's default sizes of each eval's larger workload, on random inputs: lse n = 10^5; llsq
m = 128, n = 16392; gmm d = 10, k = 25, n = 1000; ode n = 10^4, s = 10 (the gradient of the last
element); kmeans k = 100, n = 10^4, d = 8 (the cost's gradient only, not GradBench's
gradient / Hessian-diagonal). The primal is compiled with Numba as the tool compiles it; the
best of 15 calls each, primal and gradient measured one after the other in the same process.
srcgrad's on-disk cache is bypassed with a fresh cache directory, so its cold compile is real.
"""
import os
import sys
import tempfile

os.environ.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-bench-"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

import srcgrad  # noqa: E402
from benchmarks.array_loops import best, cold  # noqa: E402
from benchmarks.gradbench.evals import gmm, jit, kmeans, llsq, lse, ode  # noqa: E402


def cases():
    rng = np.random.default_rng(0)
    d, k, n = 10, 25, 1000
    return {
        "lse": (lse.logsumexp, (rng.standard_normal(100000),), 0),
        "llsq": (llsq.llsq, (rng.standard_normal(128) * 0.1, 16392), 0),
        "gmm": (gmm.gmm_objective, (rng.standard_normal(k), rng.standard_normal((k, d)),
                                    rng.standard_normal((k, d)) * 0.1,
                                    rng.standard_normal((k, d * (d - 1) // 2)) * 0.1,
                                    rng.standard_normal((n, d)), 1.0, 0), (0, 1, 2, 3)),
        "ode": (ode.ode_last, (rng.standard_normal(10000) * 0.1, 10), 0),
        "kmeans": (kmeans.cost, (rng.standard_normal((10000, 8)), rng.standard_normal((100, 8))), 1),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    table = cases()
    print("| eval | primal | gradient | ratio | cold compile: primal / gradient |")
    print("|---|---:|---:|---:|---:|")
    for name in argv or list(table):
        fn, args, argnums = table[name]
        g, p = srcgrad.grad(fn, argnums=argnums), jit(fn)
        cp, cg = cold(p, args), cold(g, args)
        tp, tg = best(p, args, 15), best(g, args, 15)
        print(f"| {name} | {tp * 1e3:.2f} ms | {tg * 1e3:.2f} ms | {tg / tp:.2f} | {cp:.1f} s / {cg:.1f} s |",
              flush=True)


if __name__ == "__main__":
    main()
