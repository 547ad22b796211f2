"""The independent oracle: plain CPython evaluation plus a 6th-order central-difference stencil.

Branch switches are detected exactly: the oracle evaluates an instrumented copy of the program
in which every comparison is a call to `_cmp`, which records its outcome (the control-flow
path) and, for float operands, its margin |l - r|.  A stencil is used only when every one of its
points follows the same path as the centre and the centre's margins are not tiny; otherwise
that input is skipped (the function is not smooth there, or is about to stop being smooth).
A second stencil with half the step size estimates the finite-difference error; inputs where
the two disagree (ill-conditioned, huge values) are skipped too.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import math
import operator
import os
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .gen import N, N_SCALARS

_DIR = None

_OPS = {ast.Lt: operator.lt, ast.Gt: operator.gt, ast.LtE: operator.le, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_OPNAMES = {cls: cls.__name__ for cls in _OPS}


def module_dir() -> str:
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="srcgrad-fuzz-")
        if _DIR not in sys.path:
            sys.path.insert(0, _DIR)
    return _DIR


def load(source: str, prefix="fz"):
    """Write `source` to a real .py file (srcgrad reads source files) and import it."""
    stem = f"{prefix}_{hashlib.sha1(source.encode()).hexdigest()[:16]}"
    if stem in sys.modules:
        return sys.modules[stem]
    path = os.path.join(module_dir(), stem + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[stem] = mod
    spec.loader.exec_module(mod)
    return mod


class _Instrument(ast.NodeTransformer):
    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1:
            return node
        op = _OPNAMES[type(node.ops[0])]
        return ast.copy_location(ast.Call(ast.Name("_cmp", ast.Load()),
                                          [node.left, node.comparators[0], ast.Constant(op)], []), node)


class Tracer:
    def __init__(self):
        self.path = []
        self.margins = []

    def __call__(self, left, right, op):
        res = _OPS[getattr(ast, op)](left, right)
        self.path.append(bool(res))
        if isinstance(left, float) or isinstance(right, float):
            self.margins.append(abs(float(left) - float(right)))
        return res


def instrumented(source: str):
    """Exec an instrumented copy of the module; return (namespace, tracer)."""
    tree = ast.fix_missing_locations(_Instrument().visit(ast.parse(source)))
    tracer = Tracer()
    ns = {"_cmp": tracer, "__name__": "fuzz_instrumented"}

    # abs/max/min are kinks: the side they take is part of the path, like a branch
    def _abs(x):
        tracer.path.append(x >= 0)
        return abs(x)

    def _max(x, y):
        tracer.path.append(x >= y)
        return max(x, y)

    def _min(x, y):
        tracer.path.append(x <= y)
        return min(x, y)
    ns.update(abs=_abs, max=_max, min=_min)
    exec(compile(tree, "<instrumented>", "exec"), ns)
    return ns, tracer


@dataclass
class Eval:
    value: float
    path: list
    margins: list = field(default_factory=list)


def run(ns, tracer, args) -> Eval:
    tracer.path, tracer.margins = [], []
    a = np.array(args[-1], dtype=np.float64)
    with np.errstate(all="ignore"):
        try:
            v = float(ns["f"](*args[:-1], a))
        except (OverflowError, ZeroDivisionError, ValueError):
            v = math.nan
    return Eval(v, list(tracer.path), list(tracer.margins))


STENCIL = ((-3, -1.0 / 60), (-2, 9.0 / 60), (-1, -45.0 / 60), (1, 45.0 / 60), (2, -9.0 / 60), (3, 1.0 / 60))


def flat_args(args):
    return list(args[:-1]) + list(args[-1])


def unflat(v):
    return list(v[:N_SCALARS]) + [np.array(v[N_SCALARS:], dtype=np.float64)]


def fd_gradient(ns, tracer, args, h):
    """6th-order stencil of f along every coordinate; None if any point leaves the centre's path."""
    centre = run(ns, tracer, args)
    flat = flat_args(args)
    out = []
    for k in range(len(flat)):
        acc = 0.0
        for m, w in STENCIL:
            p = list(flat)
            p[k] = flat[k] + m * h
            e = run(ns, tracer, unflat(p))
            if e.path != centre.path or not math.isfinite(e.value):
                return None
            acc += w * e.value
        out.append(acc / h)
    return np.array(out)


@dataclass
class Verdict:
    status: str               # "ok", "skip", "fail"
    detail: str = ""


def check(source, fn, ns, tracer, args, vg, argnums=None) -> Verdict:
    """Compare srcgrad's value_and_grad `vg` (over `argnums`, a tuple) with the oracle at `args`."""
    argnums = tuple(range(N_SCALARS + 1)) if argnums is None else argnums
    centre = run(ns, tracer, args)
    if not math.isfinite(centre.value) or abs(centre.value) > 1e8:
        return Verdict("skip", "non-finite or huge value")
    plain = float(fn(*args[:-1], args[-1].copy()))
    a_before = args[-1].copy()
    value, grads = vg(*args)
    if not np.array_equal(args[-1], a_before):
        return Verdict("fail", f"srcgrad modified the array argument: {a_before} -> {args[-1]}")
    if not np.isclose(value, plain, rtol=1e-12, atol=1e-12 * (1.0 + abs(plain))):
        return Verdict("fail", f"value: srcgrad {value!r} != Python {plain!r}")
    if len(grads) != len(argnums):
        return Verdict("fail", f"{len(grads)} gradients for argnums={argnums}")
    for i, gi in zip(argnums, grads):
        if np.shape(gi) != np.shape(args[i]):
            return Verdict("fail", f"gradient of argument {i} has shape {np.shape(gi)}, not {np.shape(args[i])}")
    # srcgrad's gradient, laid out like the flat coordinates; NaN where not asked for
    g = np.full(N_SCALARS + N, np.nan)
    for i, gi in zip(argnums, grads):
        if i < N_SCALARS:
            g[i] = gi
        else:
            g[N_SCALARS:] = gi
    asked = np.isin(np.arange(N_SCALARS + N), _coords(argnums))
    scale = 1.0 + max(abs(centre.value), float(np.max(np.abs(flat_args(args)))))
    h = 1e-3
    fd1 = fd_gradient(ns, tracer, args, h)
    fd2 = fd_gradient(ns, tracer, args, h / 2) if fd1 is not None else None
    if fd1 is None or fd2 is None:
        return Verdict("skip", "a stencil point crosses a branch switch")
    est = np.abs(fd1 - fd2)
    if np.any(est > 1e-5 * (scale + np.abs(fd2))):
        return Verdict("skip", "finite differences are not converged (ill-conditioned)")
    tol = 1e-6 * (scale + np.abs(fd2)) + 20 * est
    bad = ~(np.abs(g - fd2) <= tol) & asked
    if np.any(bad):
        rows = "\n".join(f"  d/d{_coord(k)}: srcgrad {g[k]!r}  stencil {fd2[k]!r}"
                         for k in range(len(g)) if bad[k])
        return Verdict("fail", f"gradient mismatch:\n{rows}")
    return Verdict("ok")


def _coords(argnums):
    out = []
    for i in argnums:
        out += [i] if i < N_SCALARS else list(range(N_SCALARS, N_SCALARS + N))
    return out


def _coord(k):
    return f"x{k}" if k < N_SCALARS else f"a[{k - N_SCALARS}]"


def random_args(rng):
    xs = [float(v) for v in rng.uniform(-2.0, 2.0, N_SCALARS)]
    return xs + [rng.uniform(-2.0, 2.0, N)]
