"""Cold compile, warm (cached) load, and per-call gradient/primal time for scalar kernels.

    python benchmarks/compile_and_call.py

Cold: a fresh process with an empty cache directory (transform + Numba compile + first call).
Warm: a second fresh process with the same cache (import + Numba cache load + first call).
Per call: both the gradient (`.kernel`) and the primal (numba.njit of the same function) are
called 10^6 times from inside a compiled loop, so Python's call overhead is not measured.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numba
import numpy as np

KERNELS = textwrap.dedent('''
    import math

    def call_price(S, K, T, r, sigma):
        d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * math.sqrt(T))
        d2 = d1 - sigma * math.sqrt(T)
        nd1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
        nd2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
        return S * nd1 - K * math.exp(-r * T) * nd2

    def logistic_euler(y0, r, k):
        y = y0
        dt = 0.01
        for i in range(100):
            y = y + dt * r * y * (1.0 - y / k)
        return y

    def newton_sqrt(a):
        x = a
        for i in range(30):
            x = 0.5 * (x + a / x)
        return x
''')

CASES = {"call_price": ((0, 2, 3, 4), (100.0, 95.0, 1.0, 0.05, 0.2)),
         "logistic_euler": ((0, 1, 2), (0.1, 1.5, 2.0)),
         "newton_sqrt": ((0,), (2.0,))}


def _child(kdir, cache, name):
    code = textwrap.dedent(f"""
        import sys, time
        t0 = time.perf_counter()
        sys.path.insert(0, {kdir!r})
        import srcgrad, kernels_under_test as k
        t1 = time.perf_counter()
        g = srcgrad.grad(k.{name}, argnums={CASES[name][0]!r})
        g(*{CASES[name][1]!r})
        print(time.perf_counter() - t1)
    """)
    env = dict(os.environ, SRCGRAD_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def per_call(fn, grad_kernel, args, n=1_000_000):
    primal = numba.njit(error_model="numpy")(fn)

    # the first argument varies with i so that nothing can be hoisted out of the loop
    @numba.njit
    def loop_primal(args, n):
        acc = 0.0
        for i in range(n):
            acc += primal(args[0] * (1.0 + 1e-9 * i), *args[1:])
        return acc

    @numba.njit
    def loop_grad(args, n):
        acc = 0.0
        for i in range(n):
            g = grad_kernel(args[0] * (1.0 + 1e-9 * i), *args[1:])
            acc += g[0]
        return acc

    loop_primal(args, 10), loop_grad(args, 10)
    tp = min(_timeit(loop_primal, args, n) for _ in range(5))
    tg = min(_timeit(loop_grad, args, n) for _ in range(5))
    return tp / n * 1e9, tg / n * 1e9


def _timeit(f, args, n):
    t = time.perf_counter()
    f(args, n)
    return time.perf_counter() - t


def main():
    import srcgrad
    kdir = tempfile.mkdtemp()
    with open(os.path.join(kdir, "kernels_under_test.py"), "w") as fh:
        fh.write(KERNELS)
    sys.path.insert(0, kdir)
    import kernels_under_test as k
    print(f"{'kernel':16s} {'cold s':>8s} {'warm s':>8s} {'primal ns':>10s} {'grad ns':>9s} {'ratio':>6s}  saved bytes/call")
    for name, (argnums, args) in CASES.items():
        cache = tempfile.mkdtemp()
        cold = _child(kdir, cache, name)
        warm = _child(kdir, cache, name)
        g = srcgrad.grad(getattr(k, name), argnums=argnums)
        g(*args)
        tp, tg = per_call(getattr(k, name), g.kernel, args)
        saved = g.source.count("_fs[_fp] = ") + g.source.count("_is[_ip] = ")
        trips = {"logistic_euler": 100, "newton_sqrt": 30}.get(name, 0)
        print(f"{name:16s} {cold:8.2f} {warm:8.2f} {tp:10.1f} {tg:9.1f} {tg / tp:6.2f}  "
              f"{saved * trips * 8} ({saved} float per iteration x {trips})")


if __name__ == "__main__":
    main()
