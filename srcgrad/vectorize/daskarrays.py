"""srcgrad.vectorize called with Dask arrays: lazy Dask arrays computed blockwise through
`dask.array.apply_gufunc`, each block by the serial compiled driver (Dask's scheduler owns the
threads).  Dask is imported only when a call's arguments hold a Dask collection (named
`daskarrays` so as not to shadow the `dask` package).
"""
from __future__ import annotations

import sys

from .broadcast import is_scalar


def has_dask(vals) -> bool:
    """Whether any of the call's arguments is a Dask collection (False without importing Dask)."""
    if "dask.array" not in sys.modules:
        return False
    from dask.base import is_dask_collection
    return any(is_dask_collection(v) for v in vals)


def apply(vec, vals):
    """`vec` (a Vectorized) over the bound arguments `vals`, some of them Dask arrays: lazy Dask
    arrays, a tuple of them for several outputs."""
    import dask.array as da
    from dask.array.core import unify_chunks
    dtype = vec._float_dtype(vals)
    pos = [i for i, v in enumerate(vals) if not is_scalar(v)]
    args = [da.asarray(vals[i]) for i in pos]
    nd = max(a.ndim for a in args)
    pairs = []
    for a in args:                     # one chunking per broadcast dimension, by refinement
        pairs += [a, tuple(range(nd - a.ndim, nd))]
    args = unify_chunks(*pairs)[1]
    # scalars travel with the function, so Python floats stay weak in each block's promotion
    scalars = {i: v for i, v in enumerate(vals) if i not in pos}
    sig = ",".join(["()"] * len(pos)) + "->" + ",".join(["()"] * vec.nout)
    dtypes = [dtype] * vec.nout if vec.nout > 1 else dtype
    res = da.apply_gufunc(Blockwise(vec, pos, scalars), sig, *args, output_dtypes=dtypes,
                          vectorize=False)
    return tuple(res) if vec.nout > 1 else res


class Blockwise:
    """What Dask runs on each block: the serial driver (Dask's scheduler owns the threads).
    Pickled with the Vectorized object, which pickles by reference to the user's function."""

    def __init__(self, vec, pos, scalars):
        self.vec, self.pos, self.scalars = vec, pos, scalars

    def __call__(self, *blocks):
        vals = [self.scalars.get(i) for i in range(self.vec.nin)]
        for i, b in zip(self.pos, blocks):
            vals[i] = b
        return self.vec._run(vals, None, parallel=False, scalars=False)
