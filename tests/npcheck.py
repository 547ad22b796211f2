"""The oracle and the outcome classes shared by the NumPy corpus (corpus_numpy.py) and the
NumPy-surface table (numpy_surface.py).

Oracle: a 5-point central-difference stencil in float64 on the original function executed by
NumPy, with a step scaled to each input element (h = 1e-4 * max(1, |x|)).  The same stencil with
step 2h estimates the oracle's own error: `fd_jacobian` reports it, and the corpora test that it
is tiny (an input too close to a kink would make it large).

Outcomes, one per (case, mode):
  ok       srcgrad's value and derivative equal NumPy's value and the oracle's derivative
  refused  a srcgrad.LocatedError whose location is inside the user's file
  wrong    srcgrad returned, and a number, shape or structure differs
  crash    anything else: CompilationError, InternalError, a raw Python or Numba exception, a
           LocatedError without a location in the user's file, a NonScalarOutputError for a
           function whose value is a scalar
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

import srcgrad

OK, REFUSED, WRONG, CRASH = "ok", "refused", "wrong", "crash"
SEVERITY = {OK: 0, REFUSED: 1, WRONG: 2, CRASH: 3}

RTOL = 1e-6          # srcgrad against the oracle (the oracle's own error is ~1e-10 relative)
VALUE_RTOL = 1e-9    # srcgrad's primal value against NumPy's (summation order may differ)


@dataclass
class Outcome:
    kind: str
    reason: str = ""
    seconds: float = 0.0      # wall time of the first srcgrad call (cold: transform + compile + run)

    def __str__(self):
        return f"{self.kind}: {self.reason}" if self.reason else self.kind


def worst(outcomes) -> Outcome:
    return max(outcomes, key=lambda o: SEVERITY[o.kind])


class Mismatch(Exception):
    """srcgrad returned something that differs from NumPy or the oracle (outcome `wrong`)."""


# ---------------------------------------------------------------------- inputs and outputs
def is_float_arg(a) -> bool:
    if isinstance(a, (bool, np.bool_)):
        return False
    if isinstance(a, (float, np.floating)):
        return True
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def fresh(args) -> list:
    """Copies of the arrays: neither NumPy nor srcgrad sees an array another call wrote into."""
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def flat(out) -> np.ndarray:
    """Scalar, array or (nested) tuple of those, flattened into one float64 vector."""
    if isinstance(out, (tuple, list)):
        parts = [flat(o) for o in out]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.asarray(out, dtype=np.float64).reshape(-1)


def shapes_of(out):
    """The structure of an output: a shape, or a tuple of structures."""
    if isinstance(out, (tuple, list)):
        return tuple(shapes_of(o) for o in out)
    return np.shape(out)


def unflatten(vec, structure):
    """Inverse of `flat` for a structure from `shapes_of` (0-d parts become Python floats)."""
    vec = np.asarray(vec)
    pos = 0

    def take(s):
        nonlocal pos
        if _is_struct_tuple(s):
            return tuple(take(p) for p in s)
        n = int(np.prod(s)) if s else 1
        part = vec[pos:pos + n]
        pos += n
        return float(part[0]) if s == () else part.reshape(s)

    return take(structure)


def _is_struct_tuple(s) -> bool:
    """A tuple of structures (several outputs), as opposed to a shape (a tuple of ints)."""
    return isinstance(s, tuple) and len(s) > 0 and not all(isinstance(d, (int, np.integer)) for d in s)


def call_numpy(fn, args):
    with np.errstate(all="ignore"):
        return fn(*fresh(args))


# ---------------------------------------------------------------------- the oracle
@dataclass
class FD:
    J: np.ndarray        # (output size, input size): d flat(out) / d flat(arg)
    err: float           # max |J(h) - J(2h)|: the oracle's own error estimate
    scale: float         # max |J|, for tolerances


def fd_jacobian(fn, args, i, rel_step=1e-4) -> FD:
    """d flat(fn(*args)) / d args[i], 5-point central differences in float64."""
    x0 = args[i]
    x = np.array(x0, dtype=np.float64)
    n_out = flat(call_numpy(fn, args)).size
    J = np.zeros((n_out, x.size))
    J2 = np.zeros_like(J)

    def at(k, delta):
        xp = x.copy().reshape(-1)
        xp[k] += delta
        a = list(args)
        a[i] = float(xp[0]) if np.ndim(x0) == 0 and not isinstance(x0, np.ndarray) else xp.reshape(x.shape)
        return flat(call_numpy(fn, a))

    for k in range(x.size):
        h = rel_step * max(1.0, abs(float(x.reshape(-1)[k])))
        for step, out in ((h, J), (2 * h, J2)):
            f_m2, f_m1, f_p1, f_p2 = at(k, -2 * step), at(k, -step), at(k, step), at(k, 2 * step)
            out[:, k] = (f_m2 - 8 * f_m1 + 8 * f_p1 - f_p2) / (12 * step)
    with np.errstate(invalid="ignore"):
        err = float(np.nanmax(np.abs(J - J2))) if J.size else 0.0
    scale = float(np.nanmax(np.abs(J))) if J.size else 0.0
    return FD(J, err, scale)


def oracle_is_sound(fd: FD) -> bool:
    """The step-h and step-2h estimates agree: the inputs are away from kinks and the
    function is smooth enough there for the oracle to decide."""
    return bool(np.all(np.isfinite(fd.J))) and fd.err <= 1e-8 + 1e-7 * fd.scale


# ---------------------------------------------------------------------- comparing
def check_close(what: str, got, want, rtol=RTOL, scale=None):
    """Raise Mismatch unless `got` has `want`'s shape and its values are within tolerance.
    Non-finite expected values must be matched exactly (inf with its sign, nan with nan)."""
    if got is None:
        raise Mismatch(f"{what}: got None")
    if isinstance(got, (tuple, list)):
        raise Mismatch(f"{what}: got a {type(got).__name__}, expected shape {np.shape(want)}")
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mismatch(f"{what}: got {type(got).__name__}") from None
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        raise Mismatch(f"{what}: shape {g.shape}, expected {w.shape}")
    finite = np.isfinite(w)
    if not np.all(finite):
        same = (np.isnan(w) & np.isnan(g)) | (w == g)
        if not np.all(same[~finite]):
            raise Mismatch(f"{what}: got {_show(g)}, expected {_show(w)}")
    if scale is None:
        scale = float(np.max(np.abs(w[finite]))) if np.any(finite) else 0.0
    tol = rtol * (np.abs(w) + scale) + 1e-9
    with np.errstate(invalid="ignore"):
        bad = finite & ~(np.abs(g - w) <= tol)
    if np.any(bad):
        k = np.unravel_index(int(np.argmax(np.where(bad, np.abs(g - w), -1))), g.shape) if g.ndim else ()
        raise Mismatch(f"{what}: got {_show(g)}, expected {_show(w)}"
                       + (f" (first bad index {k}: {g[k]:.10g} vs {w[k]:.10g})" if g.ndim else ""))


def check_structure(what: str, got, want):
    """`got` and `want` are nested tuples of the same lengths (leaves are compared later)."""
    if isinstance(want, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            raise Mismatch(f"{what}: expected a tuple of {len(want)}, got {_kind(got)}")


def _kind(x) -> str:
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"shape {np.shape(x)}" if x is not None else "None"


def _show(a) -> str:
    a = np.asarray(a)
    if a.size > 6:
        return np.array2string(a.reshape(-1)[:6], precision=6) + f"... shape {a.shape}"
    return np.array2string(a, precision=8)


# ---------------------------------------------------------------------- classifying exceptions
def classify_exception(exc: BaseException, user_files, scalar_output: bool | None = None) -> Outcome:
    """`refused` for a located srcgrad refusal in one of `user_files`, `crash` for anything else."""
    first = (str(exc).strip().splitlines() or [""])[0]
    name = type(exc).__name__
    if isinstance(exc, srcgrad.LocatedError):
        loc = getattr(exc, "loc", None)
        where = getattr(loc, "file", None)
        inside = where is not None and any(_same_file(where, f) for f in user_files) \
            and getattr(loc, "line", 0) > 0
        if not inside:
            return Outcome(CRASH, f"{name} not located in the user's file ({where!r}): {first}")
        if scalar_output and isinstance(exc, srcgrad.NonScalarOutputError):
            return Outcome(CRASH, f"{name} for a function whose value is a scalar: {_strip_loc(first)}")
        return Outcome(REFUSED, f"{name}: {_strip_loc(first)}")
    return Outcome(CRASH, f"{name}: {first[:300]}")


def _strip_loc(msg: str) -> str:
    """'file.py:12:5: a slice ...' -> 'a slice ...' (so refusals group by reason)."""
    parts = msg.split(": ", 1)
    if len(parts) == 2 and parts[0].count(":") >= 2:
        return parts[1]
    return msg


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def timed(thunk):
    t = time.perf_counter()
    out = thunk()
    return out, time.perf_counter() - t
