"""Broadcasting for srcgrad.vectorize, as NumPy's ufuncs do it: operands of any shapes and
strides described to the compiled drivers as 2-D strided views (dimensions coalesced where every
operand walks them with one stride), with nothing proportional to the number of elements
allocated; and inputs copied where an output overlaps them other than element for element.
"""
from __future__ import annotations

import numpy as np


def is_scalar(v) -> bool:
    return isinstance(v, (int, float, bool, np.number, np.bool_)) or (
        isinstance(v, np.ndarray) and v.ndim == 0)


def coalesce(shape, strides_list):
    """Merge adjacent dimensions that every operand walks with one stride; drop size-1 ones."""
    merged = []
    for k, n in enumerate(shape):
        if n == 1:
            continue
        st = [s[k] for s in strides_list]
        if merged:
            pn, pst = merged[-1]
            if all(ps == s * n for ps, s in zip(pst, st)):
                merged[-1] = (pn * n, st)
                continue
        merged.append((n, st))
    while len(merged) < 2:
        merged.insert(0, (1, [0] * len(strides_list)))
    return merged


def views(operands, shape):
    """Yield lists of 2-D views (one per operand) covering `shape` in order, coalesced."""
    if all(op.shape == shape and op.flags.c_contiguous for op in operands):   # the common case
        yield [op.reshape(1, -1) for op in operands]
        return
    if all(op.shape == shape and op.flags.f_contiguous for op in operands):   # elementwise: any order
        yield [op.T.reshape(1, -1) for op in operands]
        return
    full = [np.broadcast_to(op, shape) if op.shape != shape else op for op in operands]
    dims = coalesce(shape, [a.strides for a in full])
    cshape = tuple(n for n, _ in dims)
    out = [np.lib.stride_tricks.as_strided(a, cshape, tuple(st[i] for _, st in dims),
                                           writeable=a.flags.writeable)
           for i, a in enumerate(full)]
    if len(cshape) == 2:
        yield out
        return
    for idx in np.ndindex(*cshape[:-2]):  # dimensions that do not coalesce: one call per slice
        yield [v[idx] for v in out]


def unalias(inputs, outs):
    """Copy an input that overlaps an output other than element for element (NumPy does too)."""
    res = []
    for a in inputs:
        if isinstance(a, np.ndarray):
            for o in outs:
                if np.may_share_memory(a, o) and not (
                        a.__array_interface__["data"][0] == o.__array_interface__["data"][0]
                        and a.strides == o.strides and a.shape == o.shape):
                    a = a.copy()
                    break
        res.append(a)
    return res
