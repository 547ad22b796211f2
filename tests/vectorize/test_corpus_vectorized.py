"""The scalar corpus in the per-element mode: srcgrad.vectorize(value_and_grad(f)) over arrays
equals per-element calls in float64, and float32 inputs give float32 results that agree with
float64 to float32 precision."""
import inspect

import numpy as np
import pytest

import srcgrad

from .. import corpus
from ..test_corpus import FLOATS

SCALAR = [f for f in corpus.FUNCTIONS
          if set(inspect.signature(f).parameters) <= FLOATS | {"n"}
          and f.__name__ not in ("many_math",)]       # many_math's floor/ceil jumps are float32-fragile


def _inputs(fn, m=19, seed=0):   # 19: two groups of 8 lanes and a tail
    rng = np.random.default_rng(seed)
    lo, hi = corpus.DOMAINS.get(fn.__name__, (-1.5, 1.5))
    args, nums = [], []
    for i, p in enumerate(inspect.signature(fn).parameters):
        if p == "n":
            args.append(7)
        else:
            args.append(rng.uniform(lo, hi, m))
            nums.append(i)
    return args, tuple(nums)


@pytest.mark.parametrize("fn", SCALAR, ids=lambda f: f.__name__)
def test_vectorized_equals_per_element(fn):
    args, nums = _inputs(fn)
    vg = srcgrad.value_and_grad(fn, argnums=nums)
    out = srcgrad.vectorize(vg)(*args)
    for e in range(len(args[nums[0]])):
        scalar_args = [a[e] if isinstance(a, np.ndarray) else a for a in args]
        value, grads = vg(*scalar_args)
        np.testing.assert_allclose(out[0][e], value, rtol=1e-12, atol=1e-12)
        for k, g in enumerate(grads):
            np.testing.assert_allclose(out[1 + k][e], g, rtol=1e-10, atol=1e-12)


# while_tolerance iterates until |step| < 1e-12, which float32 never reaches: in float32 the
# user's own loop does not terminate (as it would not in NumPy), so it is tested in float64 only.
FLOAT32 = [f for f in SCALAR if f.__name__ != "while_tolerance"]


@pytest.mark.parametrize("fn", FLOAT32, ids=lambda f: f.__name__)
def test_float32_stays_float32(fn):
    args, nums = _inputs(fn, seed=1)
    vec = srcgrad.vectorize(srcgrad.grad(fn, argnums=nums))
    a64 = [a if not isinstance(a, np.ndarray) else a for a in args]
    a32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args]
    r64, r32 = vec(*a64), vec(*a32)
    r64 = r64 if isinstance(r64, tuple) else (r64,)
    r32 = r32 if isinstance(r32, tuple) else (r32,)
    for x64, x32 in zip(r64, r32):
        assert x32.dtype == np.float32
        np.testing.assert_allclose(x32, x64, rtol=2e-3, atol=2e-3 * max(1.0, float(np.max(np.abs(x64)))))
