"""NumPy's differentiable function surface as one declarative table (issue 23).

One `Row` per NumPy function, method or operator: the call as the user writes it (`{0}`, `{1}`
are the arguments, `{kw}` a keyword variant spliced in after them and `{kw0}` one written
alone), the argument shapes it is tried with (`F` a Python float, `()` a 0-d array, then 1-d to
3-d and broadcasting pairs), the keyword variants exactly as NumPy accepts them, and the input
domain.  A combination NumPy itself rejects is dropped, so a row may list shapes and keywords
freely.  Each (row, shapes, keyword) case is wrapped into a tiny user function with a fixed
random weight so that its value is a scalar:

    def case_17(x, y, W):
        return np.sum(np.hypot(x, y) * W)

and checked against 5-point central differences of that function run by NumPy: reverse mode
(`value_and_grad`), forward mode (`jvp`, random tangents) and, for elementwise rows,
`vectorize(grad(...))` of the scalar function.  `SINGULAR` lists the points where a derivative
is a convention or infinite, with the expected value and where it comes from.

Speed: cases are compiled in batches (several cases summed in one function, each with its own
arguments, so every derivative is still attributed to its case); a batch that raises is split in
halves until the failing case stands alone, and cases known to fail (the tests' xfail list) or
refused by a cheap transform-only screen run alone.  Scalar code batches well (~0.1 s a case);
array code costs seconds a case today, so CI runs the elementwise rows on Python floats, every
singular point, and the first case of a few array rows (`Row.ci`); SRCGRAD_LONG=1 runs every
shape, keyword variant and vectorize case.  A new rule adds exactly one row (with `ci=1` if
CI should compile its first case).

    python -m tests.numpy_surface          # every case, its outcome, and the counts
"""
from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import shutil
import string
import sys
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from . import npcheck as nc

LONG = os.environ.get("SRCGRAD_LONG", "") not in ("", "0")
F = "float"          # a Python float argument
BATCH_SCALAR = 32    # cases per compiled batch when every argument is a Python float
BATCH_ARRAY = 8      # ... when some are arrays (their compile time grows with the batch)
BATCH_VECTORIZE = 8


# ====================================================================== domains
def _offint(r, shape):
    """Away from the integers and the half-integers (floor, round, mod jump there)."""
    return r.integers(-3, 3, shape) + r.uniform(0.1, 0.4, shape)


def _distinct(r, shape):
    """No two values closer than 0.2 (sort, max, median have kinks at ties)."""
    n = int(np.prod(shape)) if shape else 1
    vals = np.linspace(-2.0, 2.0, n) + r.uniform(-0.05, 0.05, n)
    return r.permutation(vals).reshape(shape) if shape else float(vals[0])


def _spd(r, shape):
    """Well-conditioned square matrices (a stack of them for 3-d shapes)."""
    n = shape[-1]
    return 0.3 * r.normal(size=shape) + 3.0 * np.eye(n)


def _away0(r, shape):
    return r.choice([-1.0, 1.0], size=shape) * r.uniform(0.3, 2.0, shape)


SAMPLERS = {
    "real": lambda r, s: r.uniform(-2.0, 2.0, s),
    "small": lambda r, s: r.uniform(-0.8, 0.8, s),
    "pos": lambda r, s: r.uniform(0.3, 3.0, s),
    "unit": lambda r, s: r.uniform(-0.9, 0.9, s),
    "gt1": lambda r, s: r.uniform(1.2, 4.0, s),
    "gtm1": lambda r, s: r.uniform(-0.7, 3.0, s),
    "lo": lambda r, s: r.uniform(-1.0, -0.3, s),
    "hi": lambda r, s: r.uniform(0.3, 1.0, s),
    "away0": _away0,
    "offint": _offint,
    "distinct": _distinct,
    "spd": _spd,
}


def _modpair(r, shapes):
    """x, y with every x / y near k + 1/2, away from the integers where mod, remainder, fmod and
    floor_divide jump (y near 1 so that this holds for every broadcast pair)."""
    def draw(spec, f):
        v = f(() if spec == F else spec)
        return float(v) if spec == F else np.asarray(v, dtype=np.float64)
    x = draw(shapes[0], lambda s: r.integers(-2, 3, s) + 0.5 + r.uniform(-0.05, 0.05, s))
    y = draw(shapes[1], lambda s: r.uniform(0.97, 1.03, s))
    return [x, y]


def _as(v, spec):
    """`v` reshaped (or cycled) to the shape spec, a Python float for F."""
    if spec == F:
        return float(np.asarray(v).reshape(-1)[0])
    v = np.asarray(v, dtype=np.float64)
    return (v if v.shape == tuple(spec) else np.resize(v, spec)).copy()


# ====================================================================== the table
@dataclass(frozen=True)
class Row:
    fn: str                       # the function/method/operator covered (counted once)
    call: str                     # the call as written: {0}, {1}: arguments; {kw} / {kw0}: variants
    shapes: tuple                 # one tuple of argument shapes per combination
    kws: tuple = ("",)            # keyword (or trailing-argument) variants
    domain: object = "real"       # sampler name, one per argument, or a joint sampler (rng, shapes) -> args
    ufunc: bool = False           # elementwise on scalars: also checked through vectorize
    ci: object = 0                # what CI runs of the first variant: the first `ci` shape
                                  # combinations, or a tuple of them (0: SRCGRAD_LONG=1 only)

    def ci_shapes(self) -> tuple:
        return tuple(self.shapes[:self.ci]) if isinstance(self.ci, int) else tuple(self.ci)

    @property
    def arity(self) -> int:
        return len({int(f[1]) for f in string.Formatter().parse(self.call) if f[1] and f[1].isdigit()})


U_SHAPES = (((2, 3),), (F,), ((),), ((4,),), ((2, 2, 3),))
B_SHAPES = (((2, 3), (2, 3)), ((3,), F), (F, (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((), (3,)), (F, F),
            ((2, 2, 3), (2, 3)))
R_SHAPES = (((2, 3),), (F,), ((4,),), ((2, 2, 3),), ((),))
SQ = (((3, 3),), ((2, 3, 3),))


# CI runs elementwise rows on Python floats (scalar code compiles in ~0.1 s a case when batched;
# array code takes seconds a case today), the singular points, and a few array rows chosen for
# what breaks most (broadcasting, axis/keepdims, products, slices); SRCGRAD_LONG=1 runs the rest.
SCALAR1, SCALAR2 = ((F,),), ((F, F),)


def unary(fn, domain="real", call=None, ci=SCALAR1, ufunc=True):
    return Row(fn, call or f"{fn}({{0}})", U_SHAPES, domain=domain, ufunc=ufunc, ci=ci)


def binary(fn, domain="real", call=None, ci=SCALAR2, ufunc=True):
    return Row(fn, call or f"{fn}({{0}}, {{1}})", B_SHAPES, domain=domain, ufunc=ufunc, ci=ci)


def reduction(fn, kws, domain="real", call=None, ci=0, shapes=R_SHAPES):
    return Row(fn, call or f"{fn}({{0}}{{kw}})", shapes, kws, domain=domain, ci=ci)


def method(name, kws, domain="real", shapes=R_SHAPES, ci=0):
    return Row(f"ndarray.{name}", f"{{0}}.{name}({{kw0}})", shapes, kws, domain=domain, ci=ci)


AX = ("", "axis=0", "axis=-1", "axis=1, keepdims=True", "axis=(0, 1)", "keepdims=True")
AX_KEEP = ("axis=1, keepdims=True",) + AX[:3] + AX[4:]     # the same, CI's variant first
AX_SHORT = ("", "axis=0", "axis=1, keepdims=True")
AX_SHORT0 = ("axis=0", "", "axis=1, keepdims=True")
VAR_KW = ("", "ddof=1", "axis=0", "axis=1, ddof=1, keepdims=True")
NORM_KW = ("", "ord=1", "ord=2", "ord=np.inf", "ord=3", "ord=-np.inf", "axis=0", "axis=1, keepdims=True",
           "ord='fro'", "ord='nuc'", "ord=1, axis=1", "ord=2, axis=(0, 1)")

ROWS = [
    # ---- operators under NumPy's own names, and the operators themselves (broadcasting)
    binary("np.add"), binary("np.subtract"), binary("np.multiply"),
    binary("np.divide", domain=("real", "away0")), binary("np.true_divide", domain=("real", "away0")),
    binary("np.power", domain=("pos", "real")), binary("np.float_power", domain=("pos", "real")),
    binary("np.mod", domain=_modpair), binary("np.remainder", domain=_modpair), binary("np.fmod", domain=_modpair),
    binary("np.floor_divide", domain=_modpair),
    unary("np.negative"), unary("np.positive"), unary("np.reciprocal", "away0"), unary("np.square"),
    Row("np.matmul", "np.matmul({0}, {1})", (((2, 3), (3, 4)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                             ((2, 2, 3), (3, 2)), ((2, 2, 3), (2, 3, 2)))),
    binary("operator +", call="{0} + {1}", ufunc=False), binary("operator -", call="{0} - {1}", ufunc=False),
    binary("operator *", call="{0} * {1}", ufunc=False, ci=((F, F), ((2, 3), (3,)))),
    binary("operator /", call="{0} / {1}", domain=("real", "away0"), ufunc=False),
    binary("operator **", call="{0} ** {1}", domain=("pos", "real"), ufunc=False),
    binary("operator %", call="{0} % {1}", domain=_modpair, ufunc=False),
    binary("operator //", call="{0} // {1}", domain=_modpair, ufunc=False),
    unary("operator - (unary)", call="-{0}", ufunc=False),
    Row("operator @", "{0} @ {1}", (((2, 3), (3, 4)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                    ((2, 2, 3), (3, 2))), ci=1),
    Row("operator ** constant", "{0} ** {kw0}", U_SHAPES, ("2", "3", "0.5", "-1", "1.5", "0"), domain="pos",
        ci=SCALAR1),
    # ---- elementwise math
    unary("np.exp", "small"), unary("np.exp2", "small"), unary("np.expm1", "small"), unary("np.log", "pos"),
    unary("np.log2", "pos"), unary("np.log10", "pos"), unary("np.log1p", "gtm1"), unary("np.sqrt", "pos"),
    unary("np.cbrt", "away0"), unary("np.sin"), unary("np.cos"), unary("np.tan", "unit"),
    unary("np.arcsin", "unit"), unary("np.arccos", "unit"), unary("np.arctan"), unary("np.sinh"),
    unary("np.cosh"), unary("np.tanh"), unary("np.arcsinh"), unary("np.arccosh", "gt1"),
    unary("np.arctanh", "unit"), unary("np.deg2rad"), unary("np.rad2deg"), unary("np.degrees"),
    unary("np.radians"), unary("np.abs", "away0"), unary("np.absolute", "away0"), unary("np.fabs", "away0"),
    unary("np.sign", "away0"), unary("np.sinc", "away0"), unary("np.floor", "offint"),
    unary("np.ceil", "offint"), unary("np.trunc", "offint"), unary("np.rint", "offint"),
    unary("np.round", "offint"), unary("np.around", "offint"), unary("np.fix", "offint"), unary("np.i0"),
    unary("np.conj"), unary("np.conjugate"), unary("np.real"), unary("np.nan_to_num"),
    unary("abs (builtin)", "away0", call="abs({0})"),
    Row("np.clip", "np.clip({0}, -0.5, 0.8)", U_SHAPES, ufunc=True, ci=SCALAR1),
    Row("np.clip", "np.clip({0}, {1}, {2})", (((2, 3), F, F), ((2, 3), (3,), (2, 3)), (F, F, F)),
        domain=("real", "lo", "hi"), ufunc=True, ci=((F, F, F),)),
    Row("ndarray.clip", "{0}.clip(-0.5, 0.8)", U_SHAPES[:1] + U_SHAPES[3:]),
    binary("np.maximum"), binary("np.minimum"), binary("np.fmax"), binary("np.fmin"),
    binary("np.arctan2", domain=("away0", "real")), binary("np.hypot", domain=("away0", "away0")),
    binary("np.logaddexp"), binary("np.logaddexp2"), binary("np.copysign", domain=("away0", "away0")),
    binary("np.heaviside", domain=("away0", "real")),
    Row("np.ldexp", "np.ldexp({0}, 3)", U_SHAPES[:2], ufunc=True, ci=SCALAR1),
    Row("np.where", "np.where({0} > 0.3, {0}, {1})", B_SHAPES, ci=SCALAR2),
    # ---- reductions and their methods
    reduction("np.sum", AX_KEEP, ci=1), method("sum", AX), reduction("np.mean", AX, ci=SCALAR1), method("mean", AX),
    reduction("np.prod", AX_SHORT, domain="away0"), method("prod", AX_SHORT, domain="away0"),
    reduction("np.max", AX_SHORT0, domain="distinct", ci=1), reduction("np.amax", AX_SHORT, domain="distinct"),
    reduction("np.min", AX_SHORT, domain="distinct"), reduction("np.amin", AX_SHORT, domain="distinct"),
    method("max", AX_SHORT, domain="distinct"), method("min", AX_SHORT, domain="distinct"),
    reduction("np.var", VAR_KW[1:] + VAR_KW[:1], ci=1), method("var", VAR_KW),
    reduction("np.std", VAR_KW), method("std", VAR_KW),
    reduction("np.average", AX_SHORT),
    Row("np.average", "np.average({0}{kw}, weights={1})", (((2, 3), (2, 3)), ((4,), (4,)), ((2, 3), (3,))),
        ("", "axis=1", "axis=0"), domain=("real", "pos")),
    reduction("np.cumsum", ("axis=1", "", "axis=0"), ci=1), method("cumsum", ("", "axis=0")),
    reduction("np.cumprod", ("", "axis=0", "axis=1"), domain="away0"),
    method("cumprod", ("", "axis=1"), domain="away0"),
    reduction("np.cumulative_sum", ("axis=0", "axis=1", "axis=0, include_initial=True")),
    reduction("np.ptp", AX_SHORT, domain="distinct"), reduction("np.median", AX_SHORT, domain="distinct"),
    Row("np.quantile", "np.quantile({0}, 0.3{kw})", R_SHAPES, AX_SHORT, domain="distinct"),
    Row("np.percentile", "np.percentile({0}, 70.0{kw})", R_SHAPES, AX_SHORT, domain="distinct"),
    reduction("np.nansum", AX_SHORT), reduction("np.nanmean", AX_SHORT),
    reduction("np.nanmax", AX_SHORT, domain="distinct"), reduction("np.nanstd", AX_SHORT),
    reduction("np.diff", ("", "axis=0", "n=2"), ci=1), reduction("np.ediff1d", ("",), shapes=R_SHAPES[2:3]),
    reduction("np.trapezoid", ("", "dx=0.5", "axis=0")),
    Row("logsumexp (composition)", "np.log(np.sum(np.exp({0}){kw}))", R_SHAPES, AX_SHORT),
    Row("softmax (composition)", "np.exp({0}) / np.sum(np.exp({0}), axis=-1, keepdims=True)",
        (((2, 3),), ((4,),))),
    # ---- products
    Row("np.dot", "np.dot({0}, {1})", (((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
                                         (F, (3,)), ((3,), F), ((2, 2, 3), (3,)), ((2, 2, 3), (3, 2))),
        ci=((F, (3,)),)),
    Row("ndarray.dot", "{0}.dot({1})", (((2, 3), (3,)), ((3,), (3,)), ((2, 3), (3, 4)))),
    Row("np.inner", "np.inner({0}, {1})", (((3,), (3,)), ((2, 3), (4, 3)), ((2, 3), (3,)))),
    Row("np.outer", "np.outer({0}, {1})", (((3,), (4,)), ((2, 2), (3,)), (F, (3,)))),
    Row("np.tensordot", "np.tensordot({0}, {1}{kw})", (((2, 3), (3, 4)), ((2, 3), (2, 3)), ((2, 2, 3), (2, 3, 2))),
        ("axes=1", "axes=2", "axes=([1], [0])", "axes=0", "axes=([0, 1], [0, 1])")),
    Row("np.einsum", "np.einsum({kw0}, {0}, {1})", (((2, 3), (3, 4)), ((3,), (3,)), ((2, 3), (3,)),
                                                     ((2, 3), (2, 3)), ((2, 2, 3), (2, 3, 4))),
        ("'ij,jk->ik'", "'i,i->'", "'ij,j->i'", "'ij,ij->'", "'ij,ij->i'", "'bij,bjk->bik'", "'i,j->ij'",
         "'ij,kj->ik'"), ci=1),
    Row("np.einsum", "np.einsum({kw0}, {0})", (((3, 3),), ((2, 3),), ((2, 2, 3),)),
        ("'ii->'", "'ij->ji'", "'ij->'", "'ii->i'", "'ijk->ki'")),
    Row("np.einsum", "np.einsum('i,ij,j->', {0}, {1}, {2})", (((2,), (2, 3), (3,)),)),
    Row("np.kron", "np.kron({0}, {1})", (((2, 2), (2, 3)), ((3,), (2,)))),
    Row("np.cross", "np.cross({0}, {1}{kw})", (((3,), (3,)), ((4, 3), (3,)), ((4, 3), (4, 3)), ((3, 4), (3, 4))),
        ("", "axis=0")),
    Row("np.vdot", "np.vdot({0}, {1})", (((3,), (3,)), ((2, 3), (2, 3)))),
    Row("np.trace", "np.trace({0}{kw})", (((3, 3),), ((3, 4),), ((2, 3, 3),)), ("", "offset=1", "axis1=1, axis2=2")),
    Row("ndarray.trace", "{0}.trace()", (((3, 3),),)),
    Row("np.linalg.multi_dot", "np.linalg.multi_dot([{0}, {1}, {2}])", (((2, 3), (3, 4), (4, 2)),)),
    Row("np.linalg.matrix_power", "np.linalg.matrix_power({0}, {kw0})", SQ, ("3", "0", "-2"), domain="spd"),
    Row("np.convolve", "np.convolve({0}, {1}{kw})", (((5,), (3,)),), ("", "mode='same'", "mode='valid'")),
    Row("np.correlate", "np.correlate({0}, {1}{kw})", (((5,), (3,)),), ("", "mode='same'", "mode='full'")),
    Row("np.polyval", "np.polyval({0}, {1})", (((3,), (4,)), ((4,), F))),
    Row("np.interp", "np.interp({0}, np.linspace(-2.0, 2.0, 5), {1})", (((3,), (5,)), (F, (5,))),
        domain=("unit", "real")),
    Row("np.cov", "np.cov({0}{kw})", (((3, 5),), ((5,),)), ("", "rowvar=False", "ddof=0")),
    Row("np.corrcoef", "np.corrcoef({0})", (((3, 5),),)),
    Row("np.linspace", "np.linspace({0}, {1}, 5)", ((F, F), ((), ()))),
    # ---- shapes and assembly
    Row("np.reshape", "np.reshape({0}, {kw0})", (((2, 3),),), ("(3, 2)", "-1", "(1, 6)", "(3, 2), order='F'"), ci=1),
    Row("ndarray.reshape", "{0}.reshape({kw0})", (((2, 3),),), ("3, 2", "(3, -1)", "-1", "6, 1")),
    Row("np.ravel", "np.ravel({0})", (((2, 3),), ((2, 2, 3),))), method("ravel", ("",), shapes=(((2, 3),),)),
    method("flatten", ("",), shapes=(((2, 3),),)),
    Row("np.squeeze", "np.squeeze({0}{kw})", (((1, 3),), ((2, 1, 3),)), ("", "axis=0", "axis=1")),
    method("squeeze", ("",), shapes=(((1, 3),),)),
    Row("np.expand_dims", "np.expand_dims({0}, {kw0})", (((3,),), ((2, 3),)), ("0", "-1", "(0, 2)")),
    Row("np.transpose", "np.transpose({0}{kw})", (((2, 3),), ((2, 3, 4),)), ("", "axes=(1, 0)", "axes=(2, 0, 1)")),
    Row("ndarray.transpose", "{0}.transpose({kw0})", (((2, 3),), ((2, 3, 4),)), ("", "1, 0", "(2, 0, 1)")),
    Row("ndarray.T", "{0}.T", (((2, 3),), ((3,),), ((2, 3, 4),))),
    Row("np.swapaxes", "np.swapaxes({0}, 0, 1)", (((2, 3),), ((2, 3, 4),))),
    Row("np.moveaxis", "np.moveaxis({0}, 0, -1)", (((2, 3, 4),), ((2, 3),))),
    Row("np.concatenate", "np.concatenate(({0}, {1}){kw})", (((2, 3), (2, 3)), ((3,), (2,)), ((2, 3), (4, 3))),
        ("", "axis=1", "axis=None"), ci=1),
    Row("np.stack", "np.stack(({0}, {1}){kw})", (((3,), (3,)), ((2, 3), (2, 3))), ("", "axis=1", "axis=-1")),
    Row("np.hstack", "np.hstack(({0}, {1}))", (((3,), (2,)), ((2, 3), (2, 2)))),
    Row("np.vstack", "np.vstack(({0}, {1}))", (((3,), (3,)), ((2, 3), (1, 3)))),
    Row("np.column_stack", "np.column_stack(({0}, {1}))", (((3,), (3,)),)),
    Row("np.append", "np.append({0}, {1}{kw})", (((3,), (2,)), ((2, 3), (1, 3))), ("", "axis=0")),
    Row("np.array (of scalars)", "np.array([{0}, {1}, {0} * {1}])", ((F, F), ((), ()))),
    Row("np.array (of arrays)", "np.array([{0}, {1}])", (((3,), (3,)),)),
    Row("np.repeat", "np.repeat({0}, {kw0})", (((2, 3),), ((3,),)),
        ("2", "2, axis=0", "2, axis=1", "[1, 2, 3], axis=1")),
    Row("ndarray.repeat", "{0}.repeat({kw0})", (((2, 3),),), ("2", "2, axis=0")),
    Row("np.tile", "np.tile({0}, {kw0})", (((2, 3),), ((3,),)), ("2", "(2, 1)", "(1, 2, 2)")),
    Row("np.roll", "np.roll({0}, {kw0})", (((2, 3),), ((4,),)), ("1", "-2", "1, axis=0", "1, axis=1",
                                                               "(1, 2), axis=(0, 1)"), ci=1),
    Row("np.flip", "np.flip({0}{kw})", (((2, 3),), ((4,),)), ("", "axis=0", "axis=1")),
    Row("np.fliplr", "np.fliplr({0})", (((2, 3),),)), Row("np.flipud", "np.flipud({0})", (((2, 3),),)),
    Row("np.rot90", "np.rot90({0}{kw})", (((2, 3),),), ("", "k=2")),
    Row("np.diag", "np.diag({0}{kw})", (((3,),), ((3, 3),), ((3, 4),)), ("", "k=1", "k=-1")),
    Row("np.diagonal", "np.diagonal({0}{kw})", (((3, 3),), ((3, 4),), ((2, 3, 3),)),
        ("", "offset=1", "axis1=1, axis2=2")),
    Row("ndarray.diagonal", "{0}.diagonal()", (((3, 3),),)),
    Row("np.triu", "np.triu({0}{kw})", (((3, 3),), ((3, 4),), ((2, 3, 3),)), ("", "k=1", "k=-1"), ci=1),
    Row("np.tril", "np.tril({0}{kw})", (((3, 3),), ((3, 4),), ((2, 3, 3),)), ("", "k=1", "k=-1")),
    Row("np.pad", "np.pad({0}, {kw0})", (((3,),), ((2, 3),)), ("1", "(1, 2)", "((1, 0), (0, 2))", "1, mode='edge'",
                                                              "1, mode='reflect'", "2, constant_values=0.5")),
    Row("np.take", "np.take({0}, [0, 2, 1]{kw})", (((3, 3),), ((4,),)), ("", "axis=0", "axis=1")),
    Row("np.take_along_axis", "np.take_along_axis({0}, np.argsort({0}, axis=1), axis=1)", (((2, 3),),),
        domain="distinct"),
    Row("np.sort", "np.sort({0}{kw})", (((2, 3),), ((5,),)), ("", "axis=0", "axis=None"), domain="distinct"),
    Row("np.broadcast_to", "np.broadcast_to({0}, (2, 3))", (((3,),), ((2, 1),), (F,))),
    Row("np.atleast_2d", "np.atleast_2d({0})", (((3,),), (F,))),
    Row("np.split", "np.split({0}, {kw0})[1]", (((4,),), ((2, 4),)), ("2", "[1, 3]", "2, axis=1")),
    Row("np.copy", "np.copy({0})", (((2, 3),),)), method("copy", ("",), shapes=(((2, 3),),)),
    Row("ndarray.astype", "{0}.astype(np.float64)", (((2, 3),),)),
    Row("np.fft.fftshift", "np.fft.fftshift({0})", (((5,),), ((2, 4),))),
    Row("np.meshgrid", "np.meshgrid({0}, {1})[{kw0}]", (((3,), (2,)),), ("0", "1")),
    # ---- indexing (syntax, not functions: the forms NumPy code is made of)
    Row("x[i] (element)", "{0}[1]", (((4,),), ((2, 3),))),
    Row("x[a:b] (slice)", "{0}[{kw0}]", (((5,),),), ("1:", ":-1", "1:4", "::2", "::-1", "-2:"), ci=1),
    Row("x[:, j] (2-d slice)", "{0}[{kw0}]", (((3, 4),),), (":, 1", "1:, :2", "1", ":, ::-1", "..., 0")),
    Row("x[None] (new axis)", "{0}[{kw0}]", (((3,),),), (":, None", "None, :", "None")),
    Row("x[[i, j]] (fancy)", "{0}[[0, 2, 2]]", (((4,),), ((3, 2),))),
    Row("x[mask] (boolean)", "{0}[{0} > 0.1]", (((5,),),)),
    # ---- linear algebra
    Row("np.linalg.inv", "np.linalg.inv({0})", SQ, domain="spd"),
    Row("np.linalg.solve", "np.linalg.solve({0}, {1})", (((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1))),
        domain=("spd", "real"), ci=1),
    Row("np.linalg.det", "np.linalg.det({0})", SQ, domain="spd"),
    Row("np.linalg.slogdet", "np.linalg.slogdet({0}){kw0}", SQ, ("[1]", ".logabsdet"), domain="spd"),
    Row("np.linalg.cholesky", "np.linalg.cholesky({0} + {0}.T)", (((3, 3),),), domain="spd"),
    Row("np.linalg.eigh", "np.linalg.eigh({0} + {0}.T){kw0}", (((3, 3),),), ("[0]", ".eigenvalues"), domain="spd"),
    Row("np.linalg.eigvalsh", "np.linalg.eigvalsh({0} + {0}.T)", (((3, 3),),), domain="spd"),
    Row("np.linalg.norm", "np.linalg.norm({0}{kw})", (((4,),), ((2, 3),), ((2, 2, 3),)), NORM_KW, domain="away0",
        ci=1),
    Row("np.linalg.pinv", "np.linalg.pinv({0})", (((3, 2),), ((2, 3),))),
    Row("np.linalg.svd", "np.linalg.svd({0}, compute_uv=False)", (((3, 2),), ((3, 3),))),
    Row("np.linalg.qr", "np.linalg.qr({0}){kw0}", (((3, 2),), ((3, 3),)), ("[1]", "[0]")),
    Row("np.linalg.lstsq", "np.linalg.lstsq({0}, {1}, rcond=None)[0]", (((4, 2), (4,)),)),
    # ---- FFTs of real input
    Row("np.fft.fft", "np.fft.fft({0}{kw0}", (((4,),), ((2, 4),)), (").real", ").imag", ", n=6).real",
                                                                   ", axis=0).real")),
    Row("np.fft.ifft", "np.fft.ifft({0}).real", (((4,),),)),
    Row("np.fft.rfft", "np.fft.rfft({0}{kw0}", (((5,),), ((2, 4),)), (").real", ").imag", ", n=8).real")),
    Row("np.fft.irfft", "np.fft.irfft({0}{kw0}", (((5,),), ((2, 4),)), (")", ", n=8)")),
    Row("np.fft.fft2", "np.fft.fft2({0}).real", (((3, 4),),)),
    Row("np.fft.rfftn", "np.fft.rfftn({0}).imag", (((3, 4),),)),
    Row("np.abs (complex)", "np.abs(np.fft.rfft({0}))", (((5,),),)),
]


# ====================================================================== singular points
@dataclass(frozen=True)
class Point:
    fn: str
    call: str                  # a scalar expression of the arguments
    args: tuple                # the singular point
    expected: tuple            # the derivative w.r.t. each argument
    source: str                # where the convention comes from
    ufunc: bool = False


INF = np.inf
# JAX: jax/_src/lax/lax.py.  `_integer_pow_jvp` is zero for exponent 0; `_pow_jvp_lhs` in JAX's
# releases until 2023 evaluated `y * x ** select(y == 0, 1, y - 1)` (0 for y == 0); autograd's
# power rule likewise uses `x ** anp.where(y, y - 1, 1.)`.  `_pow_jvp_rhs` uses `log(_replace_zero(x))`,
# so d(x**y)/dy at x == 0 is 0.  sqrt: `0.5 / ans` (inf at 0); log: `g / x`; arcsin: `rsqrt(1 - x**2)`.
# `_reduce_chooser_jvp_rule` (max/min reductions) splits the derivative equally among ties, as
# autograd's `grad_chooser` does.  Elementwise ties and abs at 0 follow srcgrad's README ("abs at 0
# is 0", "max/min/np.maximum/np.minimum give a tie to the first argument"); JAX differs there
# (abs: `select(x >= 0, g, -g)` = 1 at 0; max: `_balanced_eq` = 0.5 each), autograd agrees on abs
# (`replace_zero(x, 0.) / ...` = 0).  Norm at the zero vector: JAX gives nan (jax-ml/jax#21723,
# "working as intended": 0/0), which issue 23 excludes ("never 0 * inf"); autograd's maintainers
# chose 0, an element of the subdifferential, as for abs (HIPS/autograd#151); the squared norm is
# smooth and its derivative at 0 is 0 (JAX's nan there is jax-ml/jax#4177).
SINGULAR = [
    Point("x ** 0.0", "{0} ** 0.0", (0.0,), (0.0,), "constant function; JAX integer_pow, autograd power", True),
    Point("x ** 0", "{0} ** 0", (0.0,), (0.0,), "constant function; JAX _integer_pow_jvp", True),
    Point("np.power(x, 0.0)", "np.power({0}, 0.0)", (0.0,), (0.0,), "as x ** 0.0", True),
    Point("x ** 1", "{0} ** 1", (0.0,), (1.0,), "identity", True),
    Point("x ** 2", "{0} ** 2", (0.0,), (0.0,), "2 * x", True),
    Point("x ** 3", "{0} ** 3", (0.0,), (0.0,), "3 * x ** 2", True),
    Point("x ** 0.5", "{0} ** 0.5", (0.0,), (INF,), "0.5 * x ** -0.5, as sqrt: JAX 0.5 / ans", True),
    Point("x ** 1.5", "{0} ** 1.5", (0.0,), (0.0,), "1.5 * x ** 0.5", True),
    Point("x ** 2.5", "{0} ** 2.5", (0.0,), (0.0,), "2.5 * x ** 1.5", True),
    Point("x ** y at x = 0", "{0} ** {1}", (0.0, 2.0), (0.0, 0.0), "JAX _pow_jvp_rhs: log(_replace_zero(x)) * ans",
          True),
    Point("np.sqrt at 0", "np.sqrt({0})", (0.0,), (INF,), "JAX sqrt_p jvp: 0.5 / ans", True),
    Point("np.sqrt at 0 (array)", "np.sum(np.sqrt({0}))", (np.array([0.0, 1.0]),), (np.array([INF, 0.5]),),
          "JAX sqrt_p jvp: 0.5 / ans"),
    Point("np.cbrt at 0", "np.cbrt({0})", (0.0,), (INF,), "JAX cbrt_p jvp: 1/3 * ans ** -2", True),
    Point("np.abs at 0", "np.abs({0})", (0.0,), (0.0,), "srcgrad README; autograd replace_zero (JAX: 1)", True),
    Point("abs at 0", "abs({0})", (0.0,), (0.0,), "srcgrad README", True),
    Point("np.log at 0", "np.log({0})", (0.0,), (INF,), "JAX log_p jvp: g / x", True),
    Point("np.log1p at -1", "np.log1p({0})", (-1.0,), (INF,), "JAX log1p jvp: g / (1 + x)", True),
    Point("np.arcsin at 1", "np.arcsin({0})", (1.0,), (INF,), "JAX asin jvp: rsqrt(1 - x**2)", True),
    Point("np.arcsin at -1", "np.arcsin({0})", (-1.0,), (INF,), "JAX asin jvp: rsqrt(1 - x**2)", True),
    Point("np.arccos at 1", "np.arccos({0})", (1.0,), (-INF,), "JAX acos jvp: -rsqrt(1 - x**2)", True),
    Point("np.arccos at -1", "np.arccos({0})", (-1.0,), (-INF,), "JAX acos jvp: -rsqrt(1 - x**2)", True),
    Point("np.arctanh at 1", "np.arctanh({0})", (1.0,), (INF,), "1 / (1 - x**2)", True),
    Point("np.maximum tie", "np.maximum({0}, {1})", (0.7, 0.7), (1.0, 0.0), "srcgrad README (JAX/autograd: 0.5, 0.5)",
          True),
    Point("np.minimum tie", "np.minimum({0}, {1})", (0.7, 0.7), (1.0, 0.0), "srcgrad README (JAX/autograd: 0.5, 0.5)",
          True),
    Point("max tie", "max({0}, {1})", (0.7, 0.7), (1.0, 0.0), "srcgrad README", True),
    Point("min tie", "min({0}, {1})", (0.7, 0.7), (1.0, 0.0), "srcgrad README", True),
    Point("ReLU np.maximum(x, 0.0) at 0", "np.maximum({0}, 0.0)", (0.0,), (1.0,), "srcgrad README: tie to x", True),
    Point("ReLU np.maximum(0.0, x) at 0", "np.maximum(0.0, {0})", (0.0,), (0.0,), "srcgrad README: tie to 0.0", True),
    Point("ReLU np.where(x > 0, x, 0.0) at 0", "np.where({0} > 0, {0}, 0.0)", (0.0,), (0.0,), "the branch taken",
          True),
    Point("np.max ties", "np.max({0})", (np.array([1.0, 3.0, 3.0]),), (np.array([0.0, 0.5, 0.5]),),
          "JAX _reduce_chooser_jvp_rule, autograd grad_chooser: split among ties"),
    Point("np.min ties", "np.min({0})", (np.array([2.0, 1.0, 1.0]),), (np.array([0.0, 0.5, 0.5]),),
          "JAX _reduce_chooser_jvp_rule, autograd grad_chooser: split among ties"),
    Point("ndarray.max ties", "{0}.max()", (np.array([3.0, 3.0, 3.0, 1.0]),), (np.array([1, 1, 1, 0]) / 3.0,),
          "JAX _reduce_chooser_jvp_rule, autograd grad_chooser: split among ties"),
    Point("np.linalg.norm at 0", "np.linalg.norm({0})", (np.zeros(3),), (np.zeros(3),),
          "subgradient 0 (HIPS/autograd#151); JAX nan (0 * inf) excluded by issue 23"),
    Point("np.linalg.norm(x) ** 2 at 0", "np.linalg.norm({0}) ** 2", (np.zeros(3),), (np.zeros(3),),
          "smooth: 2 * x (JAX nan is jax-ml/jax#4177)"),
    Point("np.hypot at (0, 0)", "np.hypot({0}, {1})", (0.0, 0.0), (0.0, 0.0), "the 2-vector norm at 0, as above",
          True),
    Point("np.sign at 0", "np.sign({0})", (0.0,), (0.0,), "piecewise constant", True),
    Point("np.floor at an integer", "np.floor({0})", (1.0,), (0.0,), "piecewise constant (srcgrad README)", True),
]


# ====================================================================== cases
_ARGN = "xyzuvw"


@dataclass
class Case:
    id: str
    row: object                   # Row or Point
    call: str                     # the rendered expression (arguments x, y, z)
    kw: str
    shapes: tuple
    args: tuple
    weight: object                # float or array (None for singular points)
    ci: bool
    singular: bool = False
    index: int = 0
    fds: list = field(default_factory=list)


def _shape_str(spec) -> str:
    return "float" if spec == F else ("0d" if spec == () else "x".join(map(str, spec)))


def render(template: str, names, kw: str) -> str:
    return template.format(*names, kw=(", " + kw) if kw else "", kw0=kw)


def _sample(row: Row, shapes, rng):
    if callable(row.domain):
        return list(row.domain(rng, shapes))
    doms = (row.domain,) * len(shapes) if isinstance(row.domain, str) else row.domain
    args = []
    for spec, dom in zip(shapes, doms):
        v = SAMPLERS[dom](rng, () if spec == F else spec)
        args.append(float(np.asarray(v).reshape(-1)[0]) if spec == F else np.asarray(v, dtype=np.float64))
    return args


def _numpy_eval(call: str, args):
    names = [_ARGN[i] for i in range(len(args))]
    env = {"np": np, **dict(zip(names, args))}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval(call, env)   # noqa: S307 -- our own table's expressions


def _valid(out) -> bool:
    if isinstance(out, (bool, int, complex, np.bool_, np.integer, np.complexfloating)):
        return False
    if isinstance(out, (float, np.floating)):
        return True
    return isinstance(out, np.ndarray) and out.dtype.kind == "f" and out.size > 0


def _build_cases():
    cases = []
    for r_i, row in enumerate(ROWS):
        names = [_ARGN[i] for i in range(row.arity)]
        for k_i, kw in enumerate(row.kws):
            call = render(row.call, names, kw)
            for shapes in row.shapes:
                seed = zlib.crc32(f"{row.fn}|{call}|{shapes}".encode())
                rng = np.random.default_rng(seed)
                args = _sample(row, shapes, rng)
                try:
                    out = _numpy_eval(call, args)
                except Exception:   # noqa: BLE001 -- NumPy rejects this combination: not a case
                    continue
                if not _valid(out) or not np.all(np.isfinite(out)):
                    continue
                weight = float(rng.normal()) if np.ndim(out) == 0 else rng.normal(size=np.shape(out))
                ci = k_i == 0 and tuple(shapes) in row.ci_shapes()
                sid = " ".join(f"{n}:{_shape_str(s)}" for n, s in zip(names, shapes))
                cases.append(Case(f"{call} [{sid}]", row, call, kw, tuple(shapes), tuple(args), weight, ci))
    for p in SINGULAR:
        names = [_ARGN[i] for i in range(len(p.args))]
        call = render(p.call, names, "")
        cases.append(Case(f"{p.fn} [singular]", p, call, "", tuple(np.shape(a) for a in p.args), p.args, None, True,
                          singular=True))
    for i, c in enumerate(cases):
        c.index = i
    return cases


CASES = _build_cases()
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES), "two cases with one id"


def selected(long=LONG):
    return [c for c in CASES if long or c.ci]


def modes_of(case: Case, long=LONG) -> tuple:
    """grad and jvp always; vectorize for elementwise singular points, and in the long run for
    the first shape combination of every elementwise row."""
    vec = case.row.ufunc and (case.singular or (long and case.shapes == case.row.shapes[0]))
    return ("grad", "jvp") + (("vectorize",) if vec else ())


def cases(long=LONG):
    """Every (case id, mode) the test runs."""
    return [(c.id, m) for c in selected(long) for m in modes_of(c, long)]


# ====================================================================== generated user functions
_DIR = None


def _module_dir():
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="srcgrad-surface-")
        atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
    return _DIR


def _load(source: str, prefix: str):
    """Write `source` to a real file (srcgrad reads source) and import it."""
    stem = f"{prefix}_{hashlib.sha1(source.encode()).hexdigest()[:16]}"
    if stem in sys.modules:
        return sys.modules[stem]
    path = os.path.join(_module_dir(), stem + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[stem] = mod
    spec.loader.exec_module(mod)
    return mod


def _expr(case: Case, names) -> str:
    return render(case.row.call, names, case.kw)


def _term(case: Case, names, wname) -> str:
    if case.singular:
        return _expr(case, names)
    expr = _expr(case, names)
    return f"{expr} * {wname}" if np.ndim(case.weight) == 0 else f"np.sum({expr} * {wname})"


@dataclass
class Program:
    fn: object
    file: str
    args: list                    # every argument, in order
    slots: list                   # per case: positions of its differentiated arguments
    weights: list                 # per case: position of its weight (None for singular points)


def program(group, vector=False) -> Program:
    """One user function summing the cases of `group` (each with its own arguments)."""
    params, body, terms, slots, weights, args = [], [], [], [], [], []
    one = len(group) == 1
    for k, c in enumerate(group):
        suffix = "" if one else str(k)
        names = [f"{_ARGN[i]}{suffix}" for i in range(len(c.args))]
        pos = list(range(len(args), len(args) + len(names)))
        params += names
        args += list(c.args) if not vector else [None] * len(names)
        slots.append(pos)
        if vector:
            expr = _expr(c, names)
            weights.append(None)
        else:
            wname = None if c.singular else f"W{suffix}"
            expr = _term(c, names, wname)
            if wname:
                params.append(wname)
                weights.append(len(args))
                args.append(c.weight)
            else:
                weights.append(None)
        if one:
            body.append(f"    return {expr}\n")
        else:
            body.append(f"    t{k} = {expr}\n")
            terms.append(f"t{k}")
    if not one:
        body.append(f"    return {' + '.join(terms)}\n")
    kind = "v" if vector else "f"
    name = f"{kind}_case_{group[0].index}" if one else f"{kind}_batch_{group[0].index}_{len(group)}"
    src = f"import numpy as np\n\n\ndef {name}({', '.join(params)}):\n" + "".join(body)
    mod = _load(src, name)
    return Program(getattr(mod, name), mod.__file__, args, slots, weights)


# ====================================================================== the oracle per case
def case_fd(case: Case) -> list:
    """Per argument: central differences of the case's scalar function (weight included)."""
    if not case.fds:
        p = program([case])
        for i in p.slots[0]:
            fd = nc.fd_jacobian(p.fn, p.args, i)
            case.fds.append(fd)
    return case.fds


def case_value(case: Case) -> float:
    p = program([case])
    return float(nc.call_numpy(p.fn, p.args))


# ====================================================================== running, in batches
def _attempt(mode: str, group) -> dict:
    """Run one batch.  Returns {case id: Outcome}; an exception gives every case that outcome."""
    import srcgrad
    vector = mode == "vectorize"
    p = program(group, vector=vector)
    try:
        if mode == "grad":
            res, secs = _grad(srcgrad, p, group)
        elif mode == "jvp":
            res, secs = _jvp(srcgrad, p, group)
        else:
            res, secs = _vectorize(srcgrad, p, group)
    except Exception as exc:   # noqa: BLE001 -- every exception is an outcome to report
        out = nc.classify_exception(exc, [p.file], scalar_output=True)
        return {c.id: out for c in group}
    for o in res.values():
        o.seconds = secs / len(group)
    return res


def _grad(srcgrad, p: Program, group):
    argnums = tuple(i for s in p.slots for i in s)
    vg = srcgrad.value_and_grad(p.fn, argnums=argnums)
    (value, grads), secs = nc.timed(lambda: vg(*nc.fresh(p.args)))
    res, j = {}, 0
    finite = all(not c.singular for c in group)
    want_value = sum(case_value(c) for c in group) if finite else None
    for c, slot in zip(group, p.slots):
        try:
            if not isinstance(grads, tuple) or len(grads) != len(argnums):
                raise nc.Mismatch(f"expected a tuple of {len(argnums)} gradients, got {type(grads).__name__}")
            for k, i in enumerate(slot):
                _check_derivative(c, k, grads[j + k], f"gradient w.r.t. {_ARGN[k]}")
            if len(group) == 1 and finite:
                nc.check_close("value", value, want_value, rtol=nc.VALUE_RTOL)
            res[c.id] = nc.Outcome(nc.OK)
        except nc.Mismatch as exc:
            res[c.id] = nc.Outcome(nc.WRONG, str(exc))
        j += len(slot)
    if finite and len(group) > 1:
        try:
            nc.check_close("value", value, want_value, rtol=nc.VALUE_RTOL)
        except nc.Mismatch as exc:     # not attributable: every case is re-run alone
            res = {c.id: nc.Outcome(nc.WRONG, f"(batch) {exc}") for c in group}
    return res, secs


def _check_derivative(case: Case, k: int, got, what: str):
    if case.singular:
        nc.check_close(what, got, case.row.expected[k], rtol=1e-12)
        return
    fd = case_fd(case)[k]
    nc.check_close(what, got, fd.J.reshape(np.shape(case.args[k])), scale=fd.scale)


def _tangent_like(a, rng):
    if isinstance(a, np.ndarray):
        return rng.normal(size=a.shape)
    return float(rng.normal())


def _zero_like(a):
    return np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0


def _jvp(srcgrad, p: Program, group):
    """One jvp per case (that case's tangents, zeros elsewhere): one compile, attributable."""
    res, secs = {}, 0.0
    for c, slot in zip(group, p.slots):
        try:
            if c.singular:
                _jvp_singular(srcgrad, p, c, slot)
            else:
                rng = np.random.default_rng(c.index)
                tangents = [_zero_like(a) for a in p.args]
                expect = 0.0
                for k, i in enumerate(slot):
                    t = _tangent_like(p.args[i], rng)
                    tangents[i] = t
                    expect += float(case_fd(c)[k].J.reshape(-1) @ np.reshape(t, -1))
                (value, tout), s = nc.timed(lambda: srcgrad.jvp(p.fn, nc.fresh(p.args), tangents))
                secs += s
                scale = sum(fd.scale * float(np.sum(np.abs(tangents[i]))) for fd, i in zip(case_fd(c), slot))
                nc.check_close("jvp's tangent", tout, expect, scale=scale)
                if len(group) == 1:
                    nc.check_close("jvp's value", value, case_value(c), rtol=nc.VALUE_RTOL)
            res[c.id] = nc.Outcome(nc.OK)
        except nc.Mismatch as exc:
            res[c.id] = nc.Outcome(nc.WRONG, str(exc))
    return res, secs


def _jvp_singular(srcgrad, p: Program, c: Case, slot):
    """Unit tangents, one argument element at a time: each gives one expected partial."""
    for k, i in enumerate(slot):
        a = p.args[i]
        want = np.asarray(c.row.expected[k], dtype=np.float64)
        for e in np.ndindex(np.shape(a)):
            tangents = [_zero_like(b) for b in p.args]
            if isinstance(a, np.ndarray):
                t = np.zeros_like(a)
                t[e] = 1.0
            else:
                t = 1.0
            tangents[i] = t
            _, tout = srcgrad.jvp(p.fn, nc.fresh(p.args), tangents)
            nc.check_close(f"jvp's tangent along {_ARGN[k]}{list(e) if e else ''}", tout, want[e], rtol=1e-12)


VEC_SHAPE = (2, 3)


def _vector_inputs(c: Case):
    """Arrays for vectorize: the row's domain sampled at VEC_SHAPE (the singular point, repeated)."""
    if c.singular:
        return [np.full(VEC_SHAPE, float(a)) for a in c.args]
    rng = np.random.default_rng(c.index + 7)
    return [_as(a, VEC_SHAPE) for a in _sample(c.row, (VEC_SHAPE,) * len(c.args), rng)]


def _elementwise_fd(c: Case, inputs, k) -> np.ndarray:
    """d out / d input k per element, for an elementwise function of same-shape arrays."""
    def f(*xs):
        return _numpy_eval(c.call, xs)
    x = inputs[k]
    h = 1e-4 * np.maximum(1.0, np.abs(x))
    vals = []
    for m in (-2, -1, 1, 2):
        xs = list(inputs)
        xs[k] = x + m * h
        vals.append(np.asarray(f(*xs), dtype=np.float64))
    return (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)


def _vectorize(srcgrad, p: Program, group):
    inputs, slots = [], []
    for c in group:
        xs = _vector_inputs(c)
        slots.append(list(range(len(inputs), len(inputs) + len(xs))))
        inputs += xs
    argnums = tuple(range(len(inputs)))
    kern = srcgrad.vectorize(srcgrad.grad(p.fn, argnums=argnums))
    grads, secs = nc.timed(lambda: kern(*[x.copy() for x in inputs]))
    if len(argnums) == 1 and isinstance(grads, np.ndarray):
        grads = (grads,)     # one output: vectorize returns it bare, as a ufunc with nout=1 does
    res = {}
    for c, slot in zip(group, slots):
        try:
            if not isinstance(grads, tuple) or len(grads) != len(argnums):
                raise nc.Mismatch(f"expected a tuple of {len(argnums)} gradient arrays, got {type(grads).__name__}")
            for k, i in enumerate(slot):
                if c.singular:
                    want = np.full(VEC_SHAPE, float(c.row.expected[k]))
                else:
                    want = _elementwise_fd(c, inputs[slot[0]:slot[-1] + 1], k)
                nc.check_close(f"vectorize gradient w.r.t. {_ARGN[k]}", grads[i], want,
                               rtol=1e-12 if c.singular else nc.RTOL)
            res[c.id] = nc.Outcome(nc.OK)
        except nc.Mismatch as exc:
            res[c.id] = nc.Outcome(nc.WRONG, str(exc))
    return res, secs


_RESULTS: dict = {}
_SCREEN: dict = {}


def _screened_ok(case: Case, mode: str) -> bool:
    """A cheap hint (no Numba compile): does srcgrad's reverse transform accept the case?
    Only decides which cases share a batch; outcomes always come from real calls."""
    key = (case.id, mode == "vectorize")
    if key not in _SCREEN:
        import srcgrad
        p = program([case], vector=mode == "vectorize")
        try:
            argnums = tuple(p.slots[0])
            srcgrad.grad(p.fn, argnums=argnums).source   # transform only
            _SCREEN[key] = True
        except Exception:   # noqa: BLE001 -- any failure: run it alone
            _SCREEN[key] = False
    return _SCREEN[key]


def _resolve(mode: str, group) -> dict:
    res = _attempt(mode, group)
    if len(group) == 1:
        return res
    first = res[group[0].id]
    if all(res[c.id] is first for c in group) and first.kind != nc.OK:   # the batch raised: split
        half = len(group) // 2
        return {**_resolve(mode, group[:half]), **_resolve(mode, group[half:])}
    for c in group:                      # a wrong part of a batch: confirm alone
        if res[c.id].kind != nc.OK:
            res.update(_resolve(mode, [c]))
    return res


ALONE: set = set()      # case ids known to fail (the tests' xfail list): never batched


def _is_scalar(case: Case) -> bool:
    return all(isinstance(a, float) for a in case.args)


def _groups(mode: str, pool):
    """Batches of screened cases (consecutive in table order, scalar and array cases apart);
    cases the screen refuses or known to fail run alone."""
    batched = [c for c in pool if c.id not in ALONE and _screened_ok(c, mode)]
    groups = []
    for scalar in (True, False):
        part = [c for c in batched if _is_scalar(c) == scalar]
        size = BATCH_VECTORIZE if mode == "vectorize" else BATCH_SCALAR if scalar else BATCH_ARRAY
        groups += [part[i:i + size] for i in range(0, len(part), size)]
    done = {c.id for g in groups for c in g}
    return groups + [[c] for c in pool if c.id not in done]


_GROUP_OF: dict = {}


def run(case_id: str, mode: str, long=LONG) -> nc.Outcome:
    """The outcome of one case in one mode (its whole batch is run and memoised)."""
    key = (case_id, mode)
    if key in _RESULTS:
        return _RESULTS[key]
    if mode not in _GROUP_OF:
        pool = [c for c in selected(long) if mode in modes_of(c, long)]
        _GROUP_OF[mode] = {c.id: g for g in _groups(mode, pool) for c in g}
    group = _GROUP_OF[mode][case_id]
    for cid, out in _resolve(mode, group).items():
        _RESULTS[(cid, mode)] = out
    return _RESULTS[key]


def case_outcome(case_id: str, long=LONG) -> nc.Outcome:
    return nc.worst([run(case_id, m, long) for m in modes_of(BY_ID[case_id], long)])


def functions_covered(pool=None) -> set:
    """The NumPy functions, methods and operators with at least one case (singular points aside)."""
    return {c.row.fn for c in (pool if pool is not None else selected()) if not c.singular}


def fraction_ok(long=LONG) -> float:
    pool = selected(long)
    return sum(case_outcome(c.id, long).kind == nc.OK for c in pool) / len(pool)


# ====================================================================== the report
def report(out=sys.stdout):
    import time
    t0 = time.perf_counter()
    pool = selected()
    width = min(max(len(c.id) for c in pool), 70)
    per_fn: dict = {}
    counts = {k: 0 for k in (nc.OK, nc.REFUSED, nc.WRONG, nc.CRASH)}
    reasons: dict = {}
    for c in pool:
        outs = {m: run(c.id, m) for m in modes_of(c)}
        w = nc.worst(outs.values())
        counts[w.kind] += 1
        if not c.singular:
            per_fn.setdefault(c.row.fn, []).append(w.kind)
        reason = next((o.reason for o in outs.values() if o.kind == w.kind and o.reason), "")
        if w.kind == nc.REFUSED:
            key = reason.split("\n")[0][:110]
            reasons[key] = reasons.get(key, 0) + 1
        modes_s = " ".join(f"{m}={o.kind}" for m, o in outs.items())
        print(f"{c.id[:width]:<{width}}  {w.kind:<7}  {modes_s}" + (f"  | {reason[:140]}" if reason else ""),
              file=out)
    fns = sorted(functions_covered(pool))
    ok_fns = [f for f in fns if all(k == nc.OK for k in per_fn[f])]
    print(f"\n{len(pool)} cases from {len(ROWS)} rows and {len(SINGULAR)} singular points, "
          f"{len(fns)} distinct functions/methods/operators covered"
          f" ({'long' if LONG else 'CI'} selection; {len(CASES)} cases in the long selection)", file=out)
    print("cases: " + ", ".join(f"{v} {k}" for k, v in counts.items())
          + f"  (ok fraction {counts[nc.OK] / len(pool):.3f})", file=out)
    print(f"functions with every case ok: {len(ok_fns)} of {len(fns)}", file=out)
    if reasons:
        print("refused, by reason:", file=out)
        for r, k in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:40]:
            print(f"  {k:3d}  {r}", file=out)
    print(f"whole report: {time.perf_counter() - t0:.1f} s", file=out)
    return counts


if __name__ == "__main__":
    if "SRCGRAD_CACHE_DIR" not in os.environ:      # cold compile times: a fresh cache
        os.environ["SRCGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="srcgrad-surface-cache-")
        atexit.register(shutil.rmtree, os.environ["SRCGRAD_CACHE_DIR"], ignore_errors=True)
    report()
