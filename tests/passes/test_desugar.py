"""Early returns (srcgrad/passes/desugar.py): an `if`/`elif` chain of returns followed by more
code gets that code as its `else`, with no flag; other shapes keep the flags. Every case is
checked against central differences on each path, and its value against Python's."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import check_grad
from tests.golden_functions import huber as huber_early_return


def chain_then_loop(x, n):
    if x > 3.0:
        return x * x
    elif x < -3.0:
        return -x
    elif x == 0.25:
        return 7.0 * x
    s = x
    for i in range(n):
        s = s * 0.5 + x * x
    t = s * x
    return t


def two_fall_throughs(x):
    if x > 1.0:
        if x > 2.0:
            return x * x
    elif x < -1.0:
        return -x
    y = 3.0 * x
    return y


def return_not_last(x):
    if x > 0.0:
        if x > 1.0:
            return x * x * x
        y = x * x
    else:
        y = -x
    return y * 2.0


CASES = [(huber_early_return, [(2.5, 1.0), (-2.5, 1.0), (0.3, 1.0)], 0),
         (chain_then_loop, [(4.0, 3), (-4.0, 3), (0.25, 3), (1.1, 3), (-0.7, 0)], 0),
         (two_fall_throughs, [(2.5,), (1.5,), (-1.5,), (0.4,)], 0),
         (return_not_last, [(1.5,), (0.5,), (-0.5,)], 0)]


@pytest.mark.parametrize("fn,points,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_every_path_against_central_differences(fn, points, argnums):
    vg = srcgrad.value_and_grad(fn, argnums=argnums)
    for args in points:
        value, _ = vg(*args)
        assert value == pytest.approx(fn(*args), rel=1e-14)
        if fn is not chain_then_loop or args[0] != 0.25:     # x == 0.25 is a single point
            check_grad(fn, *args, argnums=argnums)
    assert vg(0.25, 3)[1] == 7.0 if fn is chain_then_loop else True


@pytest.mark.parametrize("fn", [huber_early_return, chain_then_loop, return_not_last])
def test_one_fall_through_needs_no_flag(fn):
    src = srcgrad.grad(fn).source
    assert "_returned" not in src, src


@pytest.mark.parametrize("fn", [two_fall_throughs])
def test_other_shapes_keep_the_flag(fn):
    assert "_returned" in srcgrad.grad(fn).source


def test_early_return_huber_is_the_clamp():
    g = srcgrad.grad(huber_early_return)
    for x in np.linspace(-3, 3, 61):
        assert g(float(x), 1.0) == min(max(float(x), -1.0), 1.0)
