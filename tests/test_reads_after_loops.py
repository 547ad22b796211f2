"""Values a loop reads from an array that is written after the loop (directly, or through memory
a view shares), and that the adjoint sweep reads again: it must see what the loop saw.

Two paths read again in the adjoint instead of saving: the tape plan's recompute of a read from
an array "never written" (passes/tape.py `_cheap`), which must count writes through views of
the same memory, and the replay of a checkpointed loop, whose every read comes again after the
writes that follow the loop (passes/tape.py `find_restores`). The first four functions were
wrong gradients before (3db724f); the next two guard the neighbouring cases that were right, and
the last two the plan's recomputation of views (an unwritten array's, and one whose bound is
restored anyway). The oracle is central differences.
"""
import numpy as np
import pytest

import srcgrad
from srcgrad import abstract, ir
from srcgrad.frontend.source import parse_function
from srcgrad.passes import activity, alias, lower, tape

from .arraycheck import check_reverse


def number_through_view(x):
    y = x * 1.0
    z = y[1:]
    s = 0.0
    for i in range(3):
        a = z[0]
        s = s + a * a * x[0]
    y[1] = 5.0          # z[0] is y[1]
    return s + np.sum(y)


def number_through_view_inline(x):
    y = x * 1.0
    z = y[1:]
    s = 0.0
    for i in range(3):
        s = s + z[0] * x[0] * z[0]
    y[1] = 5.0
    return s + np.sum(y)


def checkpointed_reads_written_later(x):
    y = x * 1.0
    s = 0.0
    for i in srcgrad.checkpoint(range(4), every=2):
        s = s + y[1] * x[0] * y[1]
    y[1] = 5.0
    return s + np.sum(y)


def checkpointed_reads_through_view(x):
    y = x * 1.0
    z = y[1:]
    s = 0.0
    for i in srcgrad.checkpoint(range(4), every=2):
        s = s + z[0] * x[0] * z[0]
    y[1] = 5.0
    return s + np.sum(y)


def checkpointed_reads_whole_array(x):
    y = x * 1.0
    s = 0.0
    for i in srcgrad.checkpoint(range(4), every=2):
        s = s + np.sum(y * y) * x[0]
    y[2] = -3.0
    return s + np.sum(y)


def checkpointed_then_written_in_a_loop(x):
    y = x * 1.0
    s = 0.0
    for i in srcgrad.checkpoint(range(4), every=2):
        s = s + np.sum(y[:2] * y[1:]) * x[0]
    for j in range(2):
        y[j] = y[j] * x[2]
    return s + np.sum(y * y)


def view_of_an_unwritten_array(x, n):
    """The ODE's pattern: `x[1:]` in every step, x never written, is made again in the
    adjoint, not saved."""
    y = np.zeros_like(x)
    for _ in range(n):
        z = np.zeros_like(y)
        z[1:] = x[1:] * y[:-1]
        z[0] = x[0]
        y = y + 0.5 * z
    return np.sum(y * y)


def gate(weight, state, n):
    """The LSTM cell's pattern: a slice of a weight row whose bound is the length of an array
    the loop reads (saved on the int stack for the slice's own adjoint)."""
    s = 0.0
    for t in range(n):
        h = state[t % 2]
        b = h.shape[0]
        w = weight[0:b]
        s = s + np.sum(np.sin(w * h))
    return s


@pytest.mark.parametrize("fn", [number_through_view, number_through_view_inline,
                                checkpointed_reads_written_later, checkpointed_reads_through_view,
                                checkpointed_reads_whole_array, checkpointed_then_written_in_a_loop])
def test_reads_again_see_what_the_loop_saw(fn):
    check_reverse(fn, (np.array([0.7, 1.3, -0.4]),), 0)


def _plan(fn, sig):
    f = lower.lower(parse_function(fn), (0,), sig)
    an = activity.analyse(f)
    return f, tape.plan(f, an, alias.analyse(f, an))


def test_a_view_of_an_unwritten_array_is_made_again_not_saved():
    sig = (abstract.Ty(1, "f"), abstract.INT)
    f, plan = _plan(view_of_an_unwritten_array, sig)
    loads = {s.target: s for s in ir.walk_stmts(f.body) if isinstance(s, ir.Assign)
             and isinstance(s.value, ir.Load) and s.value.array.name == "x"
             and any(isinstance(i, ir.Slice) for i in s.value.index)}
    assert loads, "the loop reads x[1:]"
    recomputed = {s.target for ss in plan.recompute.values() for s in ss}
    assert set(loads) <= recomputed
    assert not set(loads) & plan.saved()
    check_reverse(view_of_an_unwritten_array, (np.linspace(0.1, 0.9, 6), 4), 0)


def test_a_read_through_a_view_of_a_written_array_is_saved_not_made_again():
    f, plan = _plan(number_through_view, (abstract.Ty(1, "f"),))
    reads = {s.target for s in ir.walk_stmts(f.body) if isinstance(s, ir.Assign)
             and isinstance(s.value, ir.Load) and s.value.array.name == "z"}
    assert reads and reads <= plan.saved()


def test_a_view_whose_bound_is_restored_anyway_is_made_again():
    sig = (abstract.Ty(1, "f"), abstract.Ty(2, "f"), abstract.INT)
    f, plan = _plan(gate, sig)
    views = {s.target for s in ir.walk_stmts(f.body) if isinstance(s, ir.Assign)
             and isinstance(s.value, ir.Load) and s.value.array.name == "weight"}
    bounds = {op.name for s in ir.walk_stmts(f.body) if isinstance(s, ir.Assign) and s.target in views
              for op in ir.index_operands(s.value.index) if isinstance(op, ir.Var)}
    assert views and bounds
    assert bounds <= plan.saved()                      # the slice's adjoint reads its bound ...
    assert not views & plan.saved()                    # ... so the view is made from it again
    assert views <= {s.target for ss in plan.recompute.values() for s in ss}
    check_reverse(gate, (np.linspace(0.2, 1.4, 5), np.linspace(-1.0, 1.0, 8).reshape(2, 4), 3), (0, 1))
