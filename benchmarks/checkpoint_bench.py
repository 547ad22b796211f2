"""Memory and time of a 10^6-step loop gradient with and without srcgrad.checkpoint.

    python benchmarks/checkpoint_bench.py [--steps 1000000]

Memory is the size of the save stacks the gradient used (returned by the fused kernel); time is
the median of 5 calls of the compiled gradient.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import srcgrad  # noqa: E402
from tests import checkpoint_functions as cf  # noqa: E402


def measure(fn, n):
    g = srcgrad.value_and_grad(fn, argnums=(0, 1))
    fs, is_ = np.empty(16), np.empty(16, np.int64)
    out = g.vjp_kernel(0.3, 0.9, n, 1.0, fs, is_)
    mem = out[2].nbytes + out[3].nbytes
    times = []
    for _ in range(5):
        t = time.perf_counter()
        out = g.vjp_kernel(0.3, 0.9, n, 1.0, np.empty(16), np.empty(16, np.int64))
        times.append(time.perf_counter() - t)
    return out[1], mem, float(np.median(times))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1_000_000)
    n = ap.parse_args(argv).steps
    rows = [("plain loop (saves every step)", cf.contracting),
            ("srcgrad.checkpoint, sqrt(n) segments", cf.contracting_checkpointed)]
    base = None
    print(f"{n} steps")
    print(f"| variant | save stacks | time per gradient | time vs plain |\n|---|---:|---:|---:|")
    for label, fn in rows:
        grads, mem, t = measure(fn, n)
        base = base or (grads, t)
        assert grads == base[0], "checkpointed gradient differs"
        print(f"| {label} | {mem / 1e6:.2f} MB | {t * 1e3:.1f} ms | {t / base[1]:.2f}x |")


if __name__ == "__main__":
    main()
