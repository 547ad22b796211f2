"""Abstract types: what srcgrad knows statically about every value of a derivative it generates.

A derivative is generated for one *abstract signature* of the arguments (as Numba compiles
one machine-code version per concrete signature): for each argument, whether it is a number or
an array, and for arrays their number of dimensions and element kind.  From there every value
of the function gets a `Ty` by NumPy's rules (broadcasting, reductions, indexing), so the
generated adjoint knows which contributions must be summed back to a smaller shape and which
values are arrays that loops must save as blocks.  Shapes themselves (lengths) stay dynamic:
one derivative serves every array length.

`Ty.dtype` is a kind, not a precision: "f" (floating), "i" (integer), "b" (bool).  float32 and
float64 share a derivative's source; Numba specialises the machine code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_ORDER = {"b": 0, "i": 1, "f": 2}


@dataclass(frozen=True)
class Ty:
    ndim: int = 0          # 0: a number (NumPy scalar or Python float/int/bool)
    dtype: str = "f"       # "f" | "i" | "b"

    @property
    def is_array(self) -> bool:
        return self.ndim > 0

    def __str__(self) -> str:
        name = {"f": "float", "i": "int", "b": "bool"}[self.dtype]
        return name if self.ndim == 0 else f"{self.ndim}-D {name} array"


class _NoneTy:
    """The type of `None` (an omitted axis, a default): only static arguments take it."""
    ndim = 0
    is_array = False
    dtype = "none"

    def __str__(self):
        return "None"

    def __repr__(self):
        return "NONE"


NONE = _NoneTy()
FLOAT = Ty(0, "f")
INT = Ty(0, "i")
BOOL = Ty(0, "b")


@dataclass(frozen=True)
class TupleTy:
    """A tuple known element by element at generation time (shapes, several return values)."""
    items: tuple

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.items)) + ")"


def promote(*dtypes: str) -> str:
    """NumPy's kind promotion: bool < int < float."""
    return max(dtypes, key=_ORDER.__getitem__) if dtypes else "f"


def broadcast(*tys: Ty, dtype: str | None = None) -> Ty:
    """The type of an element-wise operation's result (NumPy broadcasting)."""
    tys = [t for t in tys if isinstance(t, Ty)]
    ndim = max((t.ndim for t in tys), default=0)
    return Ty(ndim, dtype if dtype is not None else promote(*(t.dtype for t in tys)))


def join(a, b):
    """The type of a variable that holds `a` on one path and `b` on another, or None when no
    single type holds both (a number on one path and an array on the other)."""
    if a == b:
        return a
    if isinstance(a, Ty) and isinstance(b, Ty) and a.ndim == b.ndim:
        return Ty(a.ndim, promote(a.dtype, b.dtype))
    return None


def of_value(v) -> Ty | TupleTy:
    """The abstract type of a Python/NumPy value."""
    if v is None:
        return NONE
    if isinstance(v, (bool, np.bool_)):
        return BOOL
    if isinstance(v, (int, np.integer)):
        return INT
    if isinstance(v, (float, np.floating)):
        return FLOAT
    if isinstance(v, np.ndarray):
        k = v.dtype.kind
        if k not in "fiub":
            raise TypeError(f"arrays of dtype {v.dtype} are not supported")
        kind = "f" if k == "f" else ("b" if k == "b" else "i")
        return Ty(v.ndim, kind) if v.ndim else Ty(0, kind)
    if isinstance(v, tuple):
        return TupleTy(tuple(of_value(x) for x in v))
    raise TypeError(f"values of type {type(v).__name__} are not supported")


def of_numba(t) -> Ty | None:
    """The abstract type of a Numba type (for calls from compiled code), or None."""
    from numba.core import types as nt
    if isinstance(t, nt.Boolean):
        return BOOL
    if isinstance(t, nt.Integer):
        return INT
    if isinstance(t, nt.Float):
        return FLOAT
    if isinstance(t, nt.Array):
        d = t.dtype
        kind = "f" if isinstance(d, nt.Float) else ("b" if isinstance(d, nt.Boolean) else
                                                     "i" if isinstance(d, nt.Integer) else None)
        return None if kind is None else Ty(t.ndim, kind)
    return None
