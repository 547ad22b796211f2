"""Run one generated whole-array program through srcgrad and the oracle on several inputs."""
from __future__ import annotations

import numpy as np

import srcgrad

from . import oracle_arrays as oracle
from .gen_arrays import Program


class FuzzFailure(AssertionError):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind          # a short class for summaries: "gradient", "crash: CompilationError", ...


def pick_argnums(n_params: int, seed: int) -> tuple:
    """All arguments half the time, else a random non-empty subset in random order."""
    rng = np.random.default_rng(seed ^ 0x5EED)
    if rng.random() < 0.5:
        return tuple(range(n_params))
    perm = rng.permutation(n_params)
    return tuple(int(i) for i in perm[: rng.integers(1, n_params + 1)])


# Errors that are bugs whatever the program: a refusal must be a LocatedError (a construct of
# the user's, located), never one of these.
CRASHES = (srcgrad.CompilationError, srcgrad.InternalError)


def _classify(exc) -> str:
    if isinstance(exc, CRASHES) or not isinstance(exc, srcgrad.SrcgradError):
        return f"crash: {type(exc).__name__}"
    return f"refused: {type(exc).__name__}"


def check_program(program: Program, seed: int, n_inputs: int = 3, argnums=None,
                  allow_refusals: bool = False) -> dict:
    """Raise FuzzFailure with a reproducer on any disagreement; return counts.

    With `allow_refusals`, a located refusal (a srcgrad.LocatedError at build time, e.g. for a
    family srcgrad does not support yet) is counted, not raised; crashes always raise."""
    source = program.source
    argnums = pick_argnums(len(program.params), seed) if argnums is None else tuple(argnums)
    head = f"features = {','.join(sorted(program.features))}\nargnums = {argnums}"
    mod = oracle.load(source, prefix="fza")
    ns, tracer = oracle.instrumented(source)
    try:
        vg = srcgrad.value_and_grad(mod.f, argnums=argnums)
        # derivatives are generated per argument types: build for arrays of the program's shapes
        vg.source_for(*oracle.random_args(program.params, np.random.default_rng(seed + 1)))
    except Exception as exc:          # noqa: BLE001 -- every exception is classified
        kind = _classify(exc)
        if allow_refusals and kind.startswith("refused") and isinstance(exc, srcgrad.LocatedError):
            first = str(exc).splitlines()[0].split(": ", 1)[-1]
            return {"ok": 0, "skip": 0, "checked": 0, "refused": 1, "why": f"{type(exc).__name__}: {first}"}
        raise FuzzFailure(kind, f"srcgrad failed to build the derivative: {type(exc).__name__}: {exc}\n"
                                f"{head}\n--- program ---\n{source}") from exc
    rng = np.random.default_rng(seed)
    counts = {"ok": 0, "skip": 0, "checked": 0, "refused": 0}
    for _ in range(n_inputs):
        args = oracle.random_args(program.params, rng)
        try:
            v = oracle.check(mod.f, ns, tracer, program.params, args, vg, argnums)
        except Exception as exc:      # noqa: BLE001
            kind = _classify(exc)
            if kind.startswith("refused"):
                kind = f"crash: {type(exc).__name__} at call time"
            raise FuzzFailure(kind, f"srcgrad raised {type(exc).__name__}: {exc}\n{head}\n"
                                    f"args = {fmt(args)}\n--- program ---\n{source}") from exc
        if v.status == "fail":
            raise FuzzFailure(v.kind, f"{v.detail}\n{head}\nargs = {fmt(args)}\n--- program ---\n{source}")
        counts[v.status] += 1
        counts["checked"] += v.checked
    return counts


def fmt(args):
    return "[" + ", ".join(repr(a) if not isinstance(a, np.ndarray) else f"np.array({a.tolist()!r})"
                           for a in args) + "]"


def run_seed(job):
    """Check the program of one seed: `(seed, n_inputs, allow_refusals)` ->
    `(seed, counts or None, failure kind, failure message, seconds)`; the unit of work of
    `python -m tests.fuzz --arrays --seeds` (also in worker processes with --jobs)."""
    import time
    import warnings
    from . import gen_arrays
    seed, n_inputs, allow_refusals = job
    warnings.simplefilter("ignore")          # Numba's cache warnings would drown the report
    program = gen_arrays.from_seed(seed, gen_arrays.features_from_env(), **gen_arrays.size_from_env())
    t1 = time.time()
    try:
        counts = check_program(program, seed, n_inputs, allow_refusals=allow_refusals)
    except FuzzFailure as exc:
        again = (f"reproduce: python -m tests.fuzz --arrays --seeds {seed}:{seed + 1} "
                 f"--features none,{','.join(sorted(program.features))}")
        return seed, None, exc.kind, f"{exc}\n{again}", time.time() - t1
    return seed, counts, None, None, time.time() - t1
