"""Run one generated program through srcgrad and the oracle on several inputs."""
from __future__ import annotations

import numpy as np

import srcgrad

from . import oracle
from .gen import N_SCALARS, Program


class FuzzFailure(AssertionError):
    pass


def pick_argnums(seed: int) -> tuple:
    """All arguments (half the time), else a random non-empty subset in random order, so that
    inactive arguments and argnums order are exercised too."""
    rng = np.random.default_rng(seed ^ 0x5EED)
    if rng.random() < 0.5:
        return tuple(range(N_SCALARS + 1))
    perm = rng.permutation(N_SCALARS + 1)
    return tuple(int(i) for i in perm[: rng.integers(1, N_SCALARS + 2)])


def check_program(program: Program | str, seed: int, n_inputs: int = 4, argnums=None) -> dict:
    """Raise FuzzFailure with a reproducer on any disagreement; return counts of ok/skip."""
    source = program if isinstance(program, str) else program.source
    argnums = pick_argnums(seed) if argnums is None else tuple(argnums)
    mod = oracle.load(source)
    ns, tracer = oracle.instrumented(source)
    rng = np.random.default_rng(seed)
    try:
        vg = srcgrad.value_and_grad(mod.f, argnums=argnums)
        vg.source_for(*oracle.random_args(np.random.default_rng(seed)))   # generated for these types
    except srcgrad.SrcgradError as exc:
        raise FuzzFailure(f"srcgrad refused or failed on a program of the supported subset:\n"
                          f"{type(exc).__name__}: {exc}\n--- program ---\n{source}") from exc
    counts = {"ok": 0, "skip": 0}
    for _ in range(n_inputs):
        args = oracle.random_args(rng)
        try:
            v = oracle.check(source, mod.f, ns, tracer, args, vg, argnums)
        except srcgrad.SrcgradError as exc:
            raise FuzzFailure(f"srcgrad raised {type(exc).__name__}: {exc}\nargnums = {argnums}\n"
                              f"args = {args!r}\n--- program ---\n{source}") from exc
        if v.status == "fail":
            raise FuzzFailure(f"{v.detail}\nargnums = {argnums}\nargs = {_fmt(args)}\n--- program ---\n{source}")
        counts[v.status] += 1
    return counts


def _fmt(args):
    return "[" + ", ".join(repr(a) if not isinstance(a, np.ndarray) else f"np.array({a.tolist()!r})"
                           for a in args) + "]"
