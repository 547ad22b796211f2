"""Speed-up from 1 to N threads of the per-element kernels, Numba contestants only.

    python benchmarks/thread_scaling.py [--sizes 1e7] [--threads 1,2] [--kernels seed,...]

The full run (`python -m benchmarks --threads 1,2`) measures threads too, but its workers also
host JAX's, PyTorch's and OpenMP's thread pools, whose idle threads share the two cores with
Numba's; this script times the hand-written Numba derivative and srcgrad.vectorize alone, one
fresh process per thread count (NUMBA_NUM_THREADS fixed before Numba starts), best of 5 calls,
and with --repeat R the best of R such processes (on a shared VM single runs vary by 10-30%).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KERNELS = ("seed", "sigmoid_neuron", "black_scholes", "huber", "logistic_euler", "while_threshold")


def _worker(kernels, n):
    sys.path.insert(0, str(REPO))
    from benchmarks import cases
    from benchmarks import contestants as K
    out = {}
    for k in kernels:
        case = cases.elementwise_case(k, n)
        for who in (K.HANDWRITTEN, K.SRCGRAD):
            b = K.build(who, case, parallel=True)
            b.grad()
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                b.grad()
                best = min(best, time.perf_counter() - t0)
            out[f"{k}|{who}"] = best / n * 1e9
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e7")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes per thread count")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    kernels = a.kernels.split(",")
    if a.worker:
        _worker(kernels, int(float(a.sizes)))
        return
    threads = [int(t) for t in a.threads.split(",")]
    print(f"1-minute load average before: {os.getloadavg()[0]:.2f}")
    for size in a.sizes.split(","):
        res = {}
        for _ in range(a.repeat):
            for t in threads:
                env = dict(os.environ, NUMBA_NUM_THREADS=str(t), OMP_WAIT_POLICY="PASSIVE")
                cmd = [sys.executable, __file__, "--worker", "--sizes", size, "--kernels", a.kernels]
                got = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True,
                                                text=True).stdout.strip().splitlines()[-1])
                res[t] = {k: min(v, res.get(t, {}).get(k, v)) for k, v in got.items()}
        head = " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads)
        print(f"\nn={size}, ns per element (speed-up over 1 thread)\n")
        print(f"| kernel | contestant | {head} |")
        print("|---|---|" + "---:|" * len(threads))
        for key in res[threads[0]]:
            k, who = key.split("|")
            cells = [f"{res[t][key]:.3g}" + ("" if t == threads[0] else
                     f" ({res[threads[0]][key] / res[t][key]:.2f}x)") for t in threads]
            print(f"| {k} | {who} | " + " | ".join(cells) + " |")
    print(f"\n1-minute load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
