"""Fuzz srcgrad.vectorize with kernels whose names are the generated block code's own.

srcgrad.vectorize runs a kernel's derivative inside block functions it writes (lock-step
loops, SIMD lanes, the drivers), so the user's names share a scope with srcgrad's: `e`, `m`,
`outs`, `_seed_1` (which a lane copy of an input `_seed` would also be called), `_load`...
Two silent wrong answers came from such clashes (a parameter `m` overwritten by the element
count; a lane copy of `_seed` overwriting the seed), found by this generator's first, scratch
version.  Each seed gives one kernel of three inputs from one of three shapes (straight-line
code, a loop that runs in lock-step, a branch), with its inputs and locals named from VOCAB,
and checks `vectorize(grad(kernel))` over 13 elements in blocks of 8 (whole blocks, lanes and
a tail) against central differences of the scalar kernel.

    python -m tests.fuzz.vectorize_names --seeds 0:60
    python -m tests.fuzz.vectorize_names --show 7
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import tempfile

import numpy as np

# the names block code, lanes, lock-step and drivers use, and some that look like them
VOCAB = ("e", "m", "outs", "out", "_seed", "_seed_1", "_SEED", "_load", "_kernel", "_List", "_lanes", "_sm",
         "_c", "_t", "_r", "_ip", "_fp", "_is", "_fs", "_trips", "_m0", "x_s", "y_blk", "y_0", "y_1", "block",
         "full", "i", "j", "it", "n", "r", "w", "seed", "_CACHE", "_rt_", "x", "y")

TEMPLATES = {
    "straight": "def {f}({a}, {b}, {c}):\n"
                "    {d} = math.exp(-{a} * {b})\n"
                "    return {d} * {c} + {a} * {c}\n",
    "lockstep": "def {f}({a}, {b}, {c}):\n"
                "    {d} = {a}\n"
                "    for it_ in range(6):\n"
                "        {d} = {d} - 0.05 * {b} * {d} * {c} + 0.01 * math.exp(-{d} * {b})\n"
                "    return {d}\n",
    "branch": "def {f}({a}, {b}, {c}):\n"
              "    if {a} > {b}:\n"
              "        {d} = {a} * {c}\n"
              "    else:\n"
              "        {d} = math.tanh({b}) * {c}\n"
              "    return {d} + {a}\n",
}


def program(seed: int) -> tuple[str, str]:
    """(source, function name) of the kernel of `seed`."""
    rnd = random.Random(seed)
    shape = sorted(TEMPLATES)[seed % len(TEMPLATES)]
    a, b, c, d = rnd.sample(VOCAB, 4)
    name = f"k{seed}"
    return "import math\n\n\n" + TEMPLATES[shape].format(f=name, a=a, b=b, c=c, d=d), name


def _load(seed: int, directory: str):
    src, name = program(seed)
    path = os.path.join(directory, f"vnames_{seed}.py")
    with open(path, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location(f"vnames_{seed}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)


def check(seed: int, directory: str) -> float:
    """The largest relative error of vectorize(grad(kernel)) against central differences;
    raises whatever srcgrad raises."""
    import srcgrad
    from srcgrad.testing import numerical_grad
    f = _load(seed, directory)
    rng = np.random.default_rng(seed)
    args = [rng.uniform(0.5, 1.5, 13) for _ in range(3)]
    out = srcgrad.vectorize(srcgrad.grad(f, argnums=(0, 1, 2)), block=8)(*args)
    worst = 0.0
    for i in range(13):
        point = [float(a[i]) for a in args]
        fd = numerical_grad(f, point, (0, 1, 2))
        worst = max(worst, max(abs(out[k][i] - fd[k]) / (1e-7 + abs(fd[k])) for k in range(3)))
    return worst


TOLERANCE = 1e-5


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.vectorize_names")
    ap.add_argument("--seeds", default="0:30", help="A:B, the kernels of seeds A..B-1")
    ap.add_argument("--show", type=int, help="print the kernel of one seed")
    args = ap.parse_args(argv)
    if args.show is not None:
        print(program(args.show)[0])
        return 0
    lo, hi = (int(x) for x in args.seeds.split(":"))
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        sys.path.insert(0, d)
        for seed in range(lo, hi):
            try:
                err = check(seed, d)
                verdict = "WRONG" if err > TOLERANCE else "ok"
            except Exception as exc:   # noqa: BLE001 -- every failure is reported, not raised
                err, verdict = float("nan"), f"ERROR {type(exc).__name__}: {str(exc)[:200]}"
            bad += verdict != "ok"
            print(f"seed {seed} ({program(seed)[0].splitlines()[3].strip()}): {err:.1e} {verdict}", flush=True)
    print(f"{hi - lo} kernels, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
