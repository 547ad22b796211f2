"""Every corpus function: value equals the plain Python function, gradient equals central
differences, and `.kernel` (called from the user's own @njit code) returns the same."""
import inspect

import numba
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad

from . import corpus

FLOATS = {"a", "b", "c", "d"}
ARRAYS = {"x": (5,), "y": (3,), "W": (3, 5)}


def make_args(fn, rng):
    lo, hi = corpus.DOMAINS.get(fn.__name__, (-1.5, 1.5))
    args, nums = [], []
    for i, p in enumerate(inspect.signature(fn).parameters):
        if p in FLOATS:
            args.append(float(rng.uniform(lo, hi)))
            nums.append(i)
        elif p == "n":
            args.append(7)
        elif p in ARRAYS:
            args.append(rng.uniform(lo, hi, ARRAYS[p]))
            nums.append(i)
    return args, tuple(nums)


def cases():
    for fn in corpus.FUNCTIONS:
        yield pytest.param(fn, None, id=fn.__name__)
        for k, pt in enumerate(corpus.POINTS.get(fn.__name__, [])):
            yield pytest.param(fn, pt, id=f"{fn.__name__}-point{k}")


def _args(fn, point, seed=0):
    args, nums = make_args(fn, np.random.default_rng(seed))
    if point is not None:
        args = list(point)
    return args, nums


@pytest.mark.parametrize("fn,point", list(cases()))
def test_value_and_gradient(fn, point):
    args, nums = _args(fn, point)
    vg = srcgrad.value_and_grad(fn, argnums=nums)
    value, grads = vg(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    numeric = numerical_grad(fn, args, nums)
    for g, n in zip(grads, numeric):
        np.testing.assert_allclose(g, n, rtol=2e-5, atol=2e-6)


# `.kernel` from the user's own @njit code: one function per construct family (the rest of the
# corpus runs the same compiled code through the Python entry point above).
KERNEL_CASES = [corpus.seed_graph, corpus.many_math, corpus.uses_helpers, corpus.elif_chain,
                corpus.logistic_euler, corpus.while_threshold, corpus.early_return_in_loop,
                corpus.nested_loops, corpus.rosenbrock, corpus.inplace_writes, corpus.matrix_loop]


@pytest.mark.parametrize("fn", KERNEL_CASES, ids=lambda f: f.__name__)
def test_kernel_callable_from_njit(fn):
    args, nums = _args(fn, None, seed=1)
    g = srcgrad.grad(fn, argnums=nums)
    kernel = g.kernel

    @numba.njit
    def user_code(*xs):
        return kernel(*xs)

    expected = g(*args)
    got = user_code(*[float(a) if i in nums and not isinstance(a, np.ndarray) else a for i, a in enumerate(args)])
    for e, r in zip(expected, got):
        np.testing.assert_allclose(r, e, rtol=1e-14, atol=0)


def test_gradients_of_arrays_are_new_arrays_of_the_same_shape_and_dtype():
    x = np.linspace(0.1, 1.0, 5).astype(np.float32)
    before = x.copy()
    g = srcgrad.grad(corpus.inplace_writes)(x)
    assert g.shape == x.shape and g.dtype == np.float32
    assert np.array_equal(x, before)
    assert g is not x
