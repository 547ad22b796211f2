"""The array fuzzer's bugs (tests/fuzz/array_regressions.py): srcgrad's value equals Python's and
its gradient matches central differences.  Open bugs are strict xfails: a fix turns them into
XPASS failures, the signal to drop `bug=` there and turn the generator switch on."""
import numpy as np
import pytest

import srcgrad

from . import gen_arrays
from .array_regressions import CASES
from .oracle_arrays import STENCIL


def central_differences(fun, args, argnums, h=1e-3):
    """6th-order stencil of the plain Python function along every scalar and array element."""
    out = []
    for i in argnums:
        x = np.asarray(args[i], dtype=np.float64)
        g = np.zeros(x.shape)
        for k in np.ndindex(*x.shape):
            acc = 0.0
            for m, w in STENCIL:
                xp = x.copy()
                xp[k] += m * h
                a = list(args)
                a[i] = xp if x.ndim else float(xp)
                acc += w * float(fun(*a))
            g[k] = acc / h
        out.append(g if x.ndim else float(g))
    return out


def _params():
    out = []
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=f"{c.bug}: {c.reason}")] if c.bug else []
        out.append(pytest.param(c, marks=marks, id=c.fun.__name__))
    return out


@pytest.mark.parametrize("case", _params())
def test_array_regression(case):
    vg = srcgrad.value_and_grad(case.fun, argnums=case.argnums)
    for args in case.inputs:
        value, grads = vg(*args)
        assert value == pytest.approx(case.fun(*args), rel=1e-12, abs=1e-12)
        assert len(grads) == len(case.argnums)
        for i, g in zip(case.argnums, grads):
            assert np.shape(g) == np.shape(args[i]), f"gradient of argument {i} has the wrong shape"
        for g, n in zip(grads, central_differences(case.fun, args, case.argnums)):
            np.testing.assert_allclose(g, n, rtol=1e-7, atol=1e-8)


def test_every_open_bug_has_a_switch():
    """Each open case names a documented generator switch that is off by default (a bug switch,
    or the family of a construct srcgrad gets wrong instead of refusing)."""
    for c in CASES:
        if c.bug:
            assert c.bug in gen_arrays.BUG_FEATURES or c.bug in gen_arrays.FEATURES, c.fun.__name__
            assert c.bug not in gen_arrays.DEFAULT, c.fun.__name__
    assert {c.bug for c in CASES if c.bug} >= set(gen_arrays.BUG_FEATURES), \
        "a bug switch without a regression case (or the reverse)"
