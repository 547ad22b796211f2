"""The independent oracle for whole-array programs: CPython/NumPy evaluation of the same source
for the value, a 6th-order central-difference stencil for every coordinate of every
differentiated argument (each scalar and each element of each array).

Kinks are detected exactly, as in oracle.py, but element by element: an instrumented copy of
the program records the outcome of every comparison (`if` conditions and `np.where` masks, the
latter as one tuple of booleans per call) and which side every element of `np.abs`,
`np.maximum`, `np.minimum` (and the builtins) takes.  A coordinate is compared only where
every point of its stencil follows the centre's path; each stencil is taken with steps h and
h/2, and coordinates where the two disagree (ill-conditioned, huge values) are not compared;
a mismatch is taken again at steps 10^4 times smaller (h 1e-7 and 5e-8): not reported where
those two agree with each other and with srcgrad to 1e-4 (a function that is noise at the scale
of h, smooth below it), and not compared where they differ from the stencil at h by more than
100 times the tolerance (structure finer than h); a mismatch seen at both scales is reported.
"""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass

import numpy as np

from .oracle import STENCIL, load  # noqa: F401  (load is part of this module's interface)

_OPS = {"Lt": operator.lt, "Gt": operator.gt, "LtE": operator.le, "GtE": operator.ge,
        "Eq": operator.eq, "NotEq": operator.ne}
_TRACED_NP = {"abs": "_np_abs", "absolute": "_np_abs", "fabs": "_np_abs",
              "maximum": "_np_maximum", "minimum": "_np_minimum"}


def _key(res):
    return tuple(np.ravel(res).tolist()) if np.ndim(res) else bool(res)


class _Instrument(ast.NodeTransformer):
    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1:
            return node
        return ast.copy_location(ast.Call(ast.Name("_cmp", ast.Load()),
                                          [node.left, node.comparators[0],
                                           ast.Constant(type(node.ops[0]).__name__)], []), node)

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "np" and node.attr in _TRACED_NP:
            return ast.copy_location(ast.Name(_TRACED_NP[node.attr], ast.Load()), node)
        return node


class Tracer:
    def __init__(self):
        self.path = []

    def __call__(self, left, right, op):
        res = _OPS[op](left, right)
        self.path.append(_key(res))
        return res


def instrumented(source: str):
    """Exec an instrumented copy of the module; return (namespace, tracer)."""
    tree = ast.fix_missing_locations(_Instrument().visit(ast.parse(source)))
    tracer = Tracer()
    ns = {"_cmp": tracer, "__name__": "fuzz_arrays_instrumented"}

    def _np_abs(x):
        tracer.path.append(_key(np.asarray(x) >= 0))
        return np.abs(x)

    def _np_maximum(x, y):
        tracer.path.append(_key(np.asarray(x) >= np.asarray(y)))
        return np.maximum(x, y)

    def _np_minimum(x, y):
        tracer.path.append(_key(np.asarray(x) <= np.asarray(y)))
        return np.minimum(x, y)

    def _abs(x):
        tracer.path.append(_key(np.asarray(x) >= 0))
        return abs(x)

    def _max(x, y):
        tracer.path.append(bool(x >= y))
        return max(x, y)

    def _min(x, y):
        tracer.path.append(bool(x <= y))
        return min(x, y)
    ns.update(_np_abs=_np_abs, _np_maximum=_np_maximum, _np_minimum=_np_minimum,
              abs=_abs, max=_max, min=_min)
    exec(compile(tree, "<instrumented>", "exec"), ns)
    return ns, tracer


@dataclass
class Eval:
    value: float
    path: list


def copy_args(args):
    return [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in args]


def run(ns, tracer, args) -> Eval:
    """Evaluate the instrumented f on copies of `args` (a program may alias and mutate)."""
    tracer.path = []
    with np.errstate(all="ignore"):
        try:
            v = ns["f"](*copy_args(args))
            if np.ndim(v) != 0:
                raise TypeError(f"the generated program returned shape {np.shape(v)}, not a scalar")
            v = float(v)
        except (OverflowError, ZeroDivisionError, ValueError, FloatingPointError):
            v = math.nan
    return Eval(v, list(tracer.path))


# -- coordinates: every scalar argument and every element of every array argument -----------

def flat_args(args) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in args])


def unflat(vec, template):
    out, k = [], 0
    for a in template:
        if isinstance(a, np.ndarray):
            out.append(np.array(vec[k:k + a.size], dtype=np.float64).reshape(a.shape))
            k += a.size
        else:
            out.append(float(vec[k]))
            k += 1
    return out


def coord_names(params) -> list:
    names = []
    for name, shape in params:
        names += [name] if shape == () else [f"{name}[{', '.join(map(str, ix))}]" for ix in np.ndindex(*shape)]
    return names


def coords_of(params, argnums) -> np.ndarray:
    """Boolean mask of the flat coordinates belonging to the arguments in argnums."""
    mask = []
    for i, (_, shape) in enumerate(params):
        mask += [i in argnums] * int(np.prod(shape, dtype=int))
    return np.array(mask, dtype=bool)


def fd_gradient(ns, tracer, args, h, centre=None):
    """6th-order stencil along every coordinate; NaN where a stencil point leaves the centre's
    path or is not finite."""
    centre = centre or run(ns, tracer, args)
    flat = flat_args(args)
    out = np.full(len(flat), np.nan)
    for k in range(len(flat)):
        acc = 0.0
        for m, w in STENCIL:
            p = flat.copy()
            p[k] = flat[k] + m * h
            e = run(ns, tracer, unflat(p, args))
            if e.path != centre.path or not math.isfinite(e.value):
                break
            acc += w * e.value
        else:
            out[k] = acc / h
    return out


@dataclass
class Verdict:
    status: str               # "ok", "skip", "fail"
    detail: str = ""
    kind: str = ""            # for failures: "value", "gradient", "shape", "mutated argument"
    checked: int = 0          # coordinates compared


def check(fn, ns, tracer, params, args, vg, argnums, h=1e-3) -> Verdict:
    """Compare srcgrad's value_and_grad `vg` over the tuple `argnums` with the oracle at `args`."""
    centre = run(ns, tracer, args)
    if not math.isfinite(centre.value) or abs(centre.value) > 1e8:
        return Verdict("skip", "non-finite or huge value")
    with np.errstate(all="ignore"):
        plain = float(fn(*copy_args(args)))
    before = copy_args(args)
    value, grads = vg(*args)
    for i, (a, b) in enumerate(zip(args, before)):
        if isinstance(a, np.ndarray) and not np.array_equal(a, b):
            return Verdict("fail", f"srcgrad modified argument {params[i][0]}: {b} -> {a}", "mutated argument")
    if not (np.ndim(value) == 0 and np.isclose(float(value), plain, rtol=1e-9, atol=1e-9 * (1.0 + abs(plain)))):
        return Verdict("fail", f"value: srcgrad {value!r} != Python {plain!r}", "value")
    if not isinstance(grads, tuple) or len(grads) != len(argnums):
        return Verdict("fail", f"gradients {grads!r} for argnums={argnums}", "shape")
    g = np.full(len(flat_args(args)), np.nan)
    offsets = np.cumsum([0] + [int(np.prod(s, dtype=int)) for _, s in params])
    for i, gi in zip(argnums, grads):
        want = params[i][1]
        if np.shape(gi) != want:
            return Verdict("fail", f"gradient of {params[i][0]} has shape {np.shape(gi)}, not {want}", "shape")
        g[offsets[i]:offsets[i + 1]] = np.ravel(np.asarray(gi, dtype=np.float64))
    asked = coords_of(params, argnums)
    scale = 1.0 + max(abs(centre.value), float(np.max(np.abs(flat_args(args)))))
    fd1 = fd_gradient(ns, tracer, args, h, centre)
    fd2 = fd_gradient(ns, tracer, args, h / 2, centre)
    est = np.abs(fd1 - fd2)
    usable = asked & np.isfinite(est) & (est <= 1e-5 * (scale + np.abs(fd2)))
    tol = 1e-6 * (scale + np.abs(fd2)) + 20 * est
    bad = usable & ~(np.abs(g - fd2) <= tol)
    if np.any(bad):
        # a mismatch is confirmed at steps 10^4 times smaller before it is reported: a function
        # can be noise at the scale of h yet smooth below it (np.sin of an intermediate of 1e14:
        # seed 6314, whose stencils agreed at h and h/2 on a value 10^6 times too small)
        fine1 = fd_gradient(ns, tracer, args, h * 1e-4, centre)
        fine2 = fd_gradient(ns, tracer, args, h * 0.5e-4, centre)
        fine_est = np.abs(fine1 - fine2)
        resolved = np.isfinite(fine_est) & (fine_est <= 1e-4 * np.abs(fine2)) & \
            (np.abs(g - fine2) <= 1e-4 * np.abs(fine2) + 20 * fine_est)
        # below h the function is not what the stencil at h saw (structure finer than h, which
        # no step in float64 may resolve): not compared; a smooth function whose gradient
        # srcgrad gets wrong shows the same derivative at both scales, and stays a failure
        rough = ~np.isfinite(fine2) | (np.abs(fine2 - fd2) > 100 * tol)
        usable &= ~(bad & rough & ~resolved)
        bad &= ~resolved & ~rough
    if np.any(bad):
        names = coord_names(params)
        rows = "\n".join(f"  d/d{names[k]}: srcgrad {g[k]!r}  stencil {fd2[k]!r}"
                         for k in np.flatnonzero(bad))
        return Verdict("fail", f"gradient mismatch ({int(bad.sum())} of {int(usable.sum())} "
                               f"coordinates compared):\n{rows}", "gradient", int(usable.sum()))
    if not np.any(usable):
        return Verdict("skip", "no coordinate with a smooth, converged stencil")
    return Verdict("ok", checked=int(usable.sum()))


def random_args(params, rng):
    return [float(rng.uniform(-2.0, 2.0)) if s == () else rng.uniform(-2.0, 2.0, s) for _, s in params]
