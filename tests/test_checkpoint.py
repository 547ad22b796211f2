"""Checkpointed loops give the same value and gradient as the plain loop, with less storage."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad

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


def test_element_writes_in_a_checkpointed_loop():
    # y[i] is written once per step; y[n - 1] * x reads the last one
    for n in (1, 5, 9):
        assert srcgrad.grad(cf.writes_in_checkpointed_loop)(1.5, n) == pytest.approx(2 * 1.5 * (n - 1))


_R = np.random.default_rng(22)
ARRAY_CASES = [
    (cf.heat, cf.heat_plain, (_R.random(9), 0.2), (0, 1)),
    (cf.oscillator, cf.oscillator_plain, (_R.random(4), 0.7, 0.3), (0, 1, 2)),
    (cf.aliased, cf.aliased_plain, (_R.random(3), 0.8), (0, 1)),
    (cf.rebound_and_written, cf.rebound_and_written_plain, (_R.random(4), 0.8), (0, 1)),
]


@pytest.mark.parametrize("every", [1, 3, 4, 50])
@pytest.mark.parametrize("fn, plain, args, argnums", ARRAY_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_arrays_through_checkpointed_loops(fn, plain, args, argnums, every):
    """Value and gradient as the plain loop's, and both as central differences: segments of
    1, 3, 4 steps and one segment longer than the loop."""
    args = args + (every,)
    v, g = srcgrad.value_and_grad(fn, argnums=argnums)(*args)
    vp, gp = srcgrad.value_and_grad(plain, argnums=argnums)(*args)
    assert v == pytest.approx(plain(*args), rel=1e-13)
    for a, b, c in zip(g, gp, numerical_grad(plain, args, argnums)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-8)


def test_tape_size_of_loops_carrying_arrays():
    """The tape holds u and v once per step (two blocks of n floats); checkpointed, it holds
    them once per segment of 20 steps (sqrt(400)) plus one segment's steps.  The peak is the
    re-run of the last segment, whose snapshot has just been taken off the tape."""
    n, steps, seg = 300, 400, 20
    u = np.linspace(0.1, 1.0, n)
    args = (u, 0.7, 0.3, 0, steps, 0.001)         # every=0: segments of sqrt(400) steps
    plain = srcgrad.grad(cf.oscillator_plain, argnums=(0, 1, 2)).tape_size(*args)
    assert plain == 2 * steps * n * 8
    assert plain.parts == {"u_1": steps * n * 8, "v_1": steps * n * 8}
    cp = srcgrad.grad(cf.oscillator, argnums=(0, 1, 2)).tape_size(*args)
    assert cp == 2 * (steps // seg - 1) * n * 8 + 2 * seg * n * 8
    assert cp.parts["u_1 (checkpoint snapshots)"] == (steps // seg - 1) * n * 8
    assert "MB" in repr(plain) and "kB" in repr(cp)
    g = srcgrad.grad(cf.oscillator, argnums=(0, 1, 2))(*args)
    gp = srcgrad.grad(cf.oscillator_plain, argnums=(0, 1, 2))(*args)
    for a, b in zip(g, gp):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_tape_size_of_number_stacks_and_of_no_tape():
    n = 1000
    plain = srcgrad.grad(cf.plain, argnums=(0, 1)).tape_size(0.9, 1.01, n)
    assert plain.parts["float stack"] >= n * 8 and plain.parts["int stack"] >= n * 8
    cp = srcgrad.grad(cf.sqrt_schedule, argnums=(0, 1)).tape_size(0.9, 1.01, n)
    assert cp < plain / 10
    assert srcgrad.grad(cf.oscillator, argnums=0).tape_size(np.ones(3), 0.7, 0.3, 4) > 0
    assert srcgrad.grad(cf.no_loop).tape_size(2.0) == 0


def test_forward_mode_through_a_checkpointed_array_loop():
    """jvp runs the loop forward (nothing to checkpoint); the marker must not change it."""
    u, d = np.linspace(0.2, 1.0, 9), np.linspace(1.0, -1.0, 9)
    args = (u, 0.2, 3)
    _, t = srcgrad.jvp(cf.heat, args, (d, 0.0, 0))
    want = np.sum(numerical_grad(cf.heat_plain, args, (0,))[0] * d)
    assert t == pytest.approx(want, rel=1e-7)
