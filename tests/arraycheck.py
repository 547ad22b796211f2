"""Shared checks for the array tests: srcgrad against central differences (reverse mode) and
against directional differences (forward mode), and the value against Python's."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad


def nums(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def check_reverse(fn, args, argnums, rtol=1e-6, atol=1e-8):
    v, got = srcgrad.value_and_grad(fn, argnums=argnums)(*[a.copy() if isinstance(a, np.ndarray) else a
                                                           for a in args])
    assert v == pytest.approx(fn(*args), rel=1e-12, abs=1e-12)
    got = (got,) if isinstance(argnums, int) else got
    want = numerical_grad(fn, args, nums(argnums))
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def check_forward(fn, args, argnums, seed=5, rtol=1e-6, atol=1e-8):
    rng = np.random.default_rng(seed)
    tangents = []
    for i, a in enumerate(args):
        if i in nums(argnums):
            tangents.append(rng.normal(size=np.shape(a)) if np.ndim(a) else float(rng.normal()))
        else:
            tangents.append(np.zeros_like(a) if np.ndim(a) else 0)
    value, tangent = srcgrad.jvp(fn, args, tangents)
    assert value == pytest.approx(fn(*args), rel=1e-12, abs=1e-12)
    h = 1e-6
    plus = [a + h * t if i in nums(argnums) else a for i, (a, t) in enumerate(zip(args, tangents))]
    minus = [a - h * t if i in nums(argnums) else a for i, (a, t) in enumerate(zip(args, tangents))]
    assert tangent == pytest.approx((fn(*plus) - fn(*minus)) / (2 * h), rel=rtol, abs=atol)
