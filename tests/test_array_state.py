"""Arrays whose contents change (issue 22, and a silent wrong gradient found on the way):
writes after an adjoint has read the array, arrays re-bound in loops, shapes that change from
one iteration to the next, and writes through a second name for the same memory."""
import numpy as np
import pytest

import srcgrad
from tests.arraycheck import check_forward, check_reverse


def write_after_whole_array_read(x, w):
    buf = x * 1.0
    s = np.sum(buf * w)          # the adjoint w.r.t. w reads buf as it is here ...
    buf[0] = 5.0                 # ... before this write: it must be put back
    return s + buf[1] * w[0]


def write_after_read_in_loop(x, w):
    buf = np.zeros(3)
    s = 0.0
    for k in range(3):
        s = s + np.sum(buf * w)
        buf[k] = x[k] * 2.0
    return s


def region_write_after_read_in_loop(x, w):
    buf = x * 1.0
    s = 0.0
    for k in range(3):
        s = s + np.sum(buf * buf * w)
        buf[1:] = buf[:-1] * 0.5 + w[0]
    return s


def damped_oscillators(u, k, c):
    v = np.zeros_like(u)
    for t in range(40):
        a = -k * u - c * v
        v = v + 0.05 * a
        u = u + 0.05 * v
    return np.sum(u * u)


def rnn(h, Wh, Wx, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx * xs[t, 0])
    return np.sum(h * h)


def growing_arrays(x, n):
    s = 0.0
    for i in range(1, n):
        y = np.ones(i) * x[0]
        z = y * x[1]
        s = s + np.sum(z * y)
    return s


def new_array_each_step(u):
    for t in range(5):
        unew = np.zeros_like(u)
        unew[0] = u[0]
        unew[1:] = u[:-1] * 0.5 + u[1:] * 0.5
        u = unew * u
    return np.sum(u)


def while_loop_over_arrays(x):
    y = x * 1.0
    n = 0
    while np.sum(y * y) < 50.0 and n < 100:
        y = y * 1.3 + 0.1
        n = n + 1
    return np.sum(y * x)


X3 = np.array([0.5, 1.5, -2.0])
W3 = np.array([0.3, 0.7, 1.1])
U3 = np.array([1.0, -0.5, 0.3])
CASES = [
    (write_after_whole_array_read, (X3, W3), (0, 1)),
    (write_after_read_in_loop, (X3, W3), (0, 1)),
    (region_write_after_read_in_loop, (X3, W3), (0, 1)),
    (damped_oscillators, (U3, 2.0, 0.3), (0, 1, 2)),
    (rnn, (U3, np.eye(3) * 0.5 + 0.1, np.array([0.2, -0.1, 0.4]), np.ones((5, 1))), (0, 1, 2)),
    (growing_arrays, (np.array([0.7, -1.3]), 5), 0),
    (new_array_each_step, (np.array([0.9, 1.1, 1.2, 0.8]),), 0),
    (while_loop_over_arrays, (X3,), 0),
]


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_reverse(fn, args, argnums):
    check_reverse(fn, args, argnums)


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_forward(fn, args, argnums):
    check_forward(fn, args, argnums)


def test_write_is_restored_only_where_an_adjoint_read_it():
    src = srcgrad.grad(write_after_whole_array_read, argnums=(0, 1)).source_for(X3, W3)
    assert "keep what the write overwrites" in src
    src = srcgrad.grad(damped_oscillators).source_for(U3, 2.0, 0.3)
    assert "keep what the write overwrites" not in src      # no writes: nothing kept


def test_loop_carried_arrays_are_saved_by_reference_not_copied():
    src = srcgrad.grad(damped_oscillators, argnums=(0, 1, 2)).source_for(U3, 2.0, 0.3)
    # np.ascontiguousarray returns a C-ordered array itself (no copy); it copies only a value of
    # another layout, which the tape (a typed list of one layout) could not hold
    assert ".append(np.ascontiguousarray(u_1))" in src and ".append(np.ascontiguousarray(v_1))" in src
    assert "_rt.copy" not in src and ".copy()" not in src     # (adjoint_copy makes an adjoint, not a save)
    u = np.ascontiguousarray(U3)
    assert np.ascontiguousarray(u) is u


def test_write_through_a_second_name_while_both_are_used_is_refused():
    def f(x):
        A = x[:, None] * x[None, :]
        At = A.T
        A[0, 1] = 0.0
        return np.sum(At * A)
    with pytest.raises(srcgrad.UnsupportedArrayUseError, match="`A` is written while `At`") as err:
        srcgrad.grad(f)(X3)
    assert "copy" in str(err.value)


def test_the_refusal_names_the_users_variables_not_ssa_ones():
    # it said "`v_1` is written while `v`", the names of the lowering's SSA variables
    def f(x, s):
        v = x * 2.0
        old = v
        for i in range(2):
            v += np.sin(x * s)
            v = x * 0.5
        return np.sum(v) + old[1]
    with pytest.raises(srcgrad.UnsupportedArrayUseError) as err:
        srcgrad.grad(f)(X3, 0.3)
    msg = str(err.value)
    assert "`v` is written while `old`, which may share its memory" in msg
    assert "old = v.copy()" in msg and "v_1" not in msg


def test_write_after_the_other_name_is_dead_is_fine():
    def f(x):
        A = x[:, None] * x[None, :]
        At = A.T
        s = np.sum(At * x)
        A[0, 1] = 0.0
        return s + np.sum(A)
    check_reverse(f, (X3,), 0)
