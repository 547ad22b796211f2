"""srcgrad.vectorize: per-element gradients over arrays as a compiled, broadcasting,
multi-threaded ufunc-like function (issue #5). Placeholder until implemented."""
from __future__ import annotations


def vectorize(fn=None, **options):
    raise NotImplementedError("srcgrad.vectorize is not implemented yet")
