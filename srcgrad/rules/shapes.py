"""Result types of primitives: how each rule's output type follows from its arguments' types.

A typer is `typer(tys, consts) -> Ty`: `tys` are the arguments' abstract types
(srcgrad/abstract.py), `consts` their values where they are constants known when the
derivative is generated (None otherwise: integer axes, shapes and flags are read from here).
Rules name their typer in their stanza; element-wise rules get `elementwise` by default.
"""
from __future__ import annotations

from ..abstract import FLOAT, TupleTy, Ty, broadcast, promote


class Refusal(Exception):
    """Raised by a typer for argument types the primitive cannot take (or that srcgrad cannot
    compile for it); the lowering turns it into a located error with `hint`."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def elementwise(dtype: str | None = "f"):
    """Broadcast of the arguments; `dtype` "f" (always floating), None (NumPy's promotion of
    the arguments' kinds), or "b"/"i"."""
    def typer(tys, consts):
        t = broadcast(*tys)
        if dtype is None:
            return t if t.dtype != "b" else Ty(t.ndim, "i")
        return Ty(t.ndim, dtype)
    typer.__name__ = f"elementwise_{dtype}"
    return typer


def same(tys, consts):
    """The type of the first argument (copies, transposes)."""
    return tys[0]


def float_like_first(tys, consts):
    return Ty(tys[0].ndim, "f")


def scalar_sum(tys, consts):
    """A full reduction: a number of the array's kind (bool sums to int)."""
    return Ty(0, "f" if tys[0].dtype == "f" else "i")


def scalar_float(tys, consts):
    return FLOAT


def flat(tys, consts):
    """np.cumsum(x): 1-D whatever x's dimensions."""
    return Ty(1, tys[0].dtype if tys[0].dtype == "f" else "i")


def reduce_axis(tys, consts):
    """np.sum(x, axis) with an integer axis: one dimension fewer."""
    x = tys[0]
    axis = consts[1] if len(consts) > 1 else None
    if isinstance(axis, int) and not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise Refusal(f"axis {axis} of a {x.ndim}-D array", "give an axis between -ndim and ndim - 1")
    if x.ndim > 2:
        raise Refusal(f"a reduction along an axis of a {x.ndim}-D array",
                      "reduce a 1-D or 2-D array (loop over the leading axes)")
    return Ty(max(x.ndim - 1, 0), "f" if x.dtype == "f" else "i")


def matmul(tys, consts):
    """`a @ b` / np.dot(a, b): 1-D . 1-D is a number; a number times anything is element-wise."""
    a, b = tys
    if a.ndim == 0 or b.ndim == 0:
        return broadcast(a, b)
    if a.ndim > 2 or b.ndim > 2:
        raise Refusal(f"a matrix product of a {max(a.ndim, b.ndim)}-D array",
                      "write the contraction with np.sum of a broadcast product, or loop over the leading axis")
    nd = {(1, 1): 0, (2, 1): 1, (1, 2): 1}.get((a.ndim, b.ndim), max(a.ndim, b.ndim))
    return Ty(nd, promote(a.dtype, b.dtype))


def shape_ndim(shape_ty, shape_const) -> int:
    """How many dimensions an array built from `shape` has: a tuple's length, else 1."""
    if isinstance(shape_ty, TupleTy):
        return len(shape_ty.items)
    if isinstance(shape_const, tuple):
        return len(shape_const)
    return 1


def expand_dims(tys, consts):
    x = tys[0]
    if isinstance(consts[1], tuple) or isinstance(tys[1], TupleTy):
        raise Refusal("np.expand_dims with a tuple of axes", "call np.expand_dims once per axis")
    return Ty(x.ndim + 1, x.dtype)


def reshape(tys, consts):
    """np.reshape(x, shape): as many dimensions as the shape has entries."""
    x, shape = tys
    if isinstance(shape, TupleTy):
        return Ty(len(shape.items), x.dtype)
    if isinstance(consts[1], tuple):
        return Ty(len(consts[1]), x.dtype)
    return Ty(1, x.dtype)


def square_matrix(tys, consts):
    """np.linalg.inv/cholesky: a 2-D float array (a stack of matrices is refused)."""
    a = tys[0]
    if a.ndim != 2:
        raise Refusal(f"np.linalg of a {a.ndim}-D array (srcgrad takes one square matrix)",
                      "loop over the leading axis and call it on each matrix")
    return Ty(2, "f")


def matrix_scalar(tys, consts):
    """np.linalg.det: a number from one square matrix."""
    square_matrix(tys, consts)
    return FLOAT


def solve(tys, consts):
    """np.linalg.solve(a, b): the shape of b (a vector or a matrix of right-hand sides)."""
    square_matrix(tys[:1], consts)
    b = tys[1]
    if b.ndim not in (1, 2):
        raise Refusal(f"np.linalg.solve with a {b.ndim}-D right-hand side",
                      "give b as a vector or a matrix whose columns are right-hand sides")
    return Ty(b.ndim, "f")
