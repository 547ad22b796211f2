"""Checkpointed loops give the same value and gradient as the plain loop, with less storage."""
import numpy as np
import pytest

import srcgrad

from . import checkpoint_functions as cf


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 15, 50, 400])
def test_checkpointed_equals_plain(n):
    plain = srcgrad.value_and_grad(cf.plain, argnums=(0, 1))(0.9, 1.01, n)
    assert srcgrad.value_and_grad(cf.every7, argnums=(0, 1))(0.9, 1.01, n) == plain
    assert srcgrad.value_and_grad(cf.sqrt_schedule, argnums=(0, 1))(0.9, 1.01, n) == plain


def test_checkpointed_against_central_differences():
    # n = 30 stays on one side of the branch, where the function is smooth
    srcgrad.check_grad(cf.sqrt_schedule, 0.9, 1.01, 30, argnums=(0, 1), rtol=1e-6)
    srcgrad.check_grad(cf.contracting_checkpointed, 0.3, 0.9, 500, argnums=(0, 1), rtol=1e-6)


def _stack_bytes(fn, n):
    g = srcgrad.value_and_grad(fn, argnums=(0, 1))
    fs, is_ = np.empty(16), np.empty(16, np.int64)
    _, _, fs, is_ = g.vjp_kernel(0.9, 1.01, n, 1.0, fs, is_)
    return fs.nbytes + is_.nbytes


def test_storage_drops_from_linear_to_square_root():
    n = 10_000
    plain, cp = _stack_bytes(cf.plain, n), _stack_bytes(cf.sqrt_schedule, n)
    assert plain >= n * 16          # one float and one branch bit per iteration
    assert cp < 16 * 4 * int(n ** 0.5) + 1024


def test_array_writes_in_a_checkpointed_loop_are_refused():
    with pytest.raises(srcgrad.UnsupportedArrayUseError, match="checkpointed"):
        srcgrad.grad(cf.writes_in_checkpointed_loop)(1.0, 5)
