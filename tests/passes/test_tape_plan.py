"""Direct tests of the tape plan (srcgrad/passes/tape.py) against its docstring: straight-line
values are saved nowhere; a value the adjoint reads that a later iteration overwrites (defined
in a loop body, or carried by the loop) is in `floats`/`ints`/`arrays` of its loop body; cheap
arithmetic on restored values is in `recompute` instead (the logistic step
`y = y + dt * r * y * (1 - y / k)` saves only `y`).  Also the README's two loop claims: for
`s = s * w + math.sin(x)` only `s` is saved, for `s = s + x * w` nothing.

Expected plans are derived by hand from the adjoint each statement needs (d(a*b) reads the
other factor, d(a/k) reads k, d(exp) reads its result, d(a+b) reads nothing); the passes run
on their own (no Numba), except for one gradient checked against central differences.
"""
import math
import re

import numpy as np
import pytest

from srcgrad import abstract, ir
from srcgrad.frontend.source import parse_function
from srcgrad.passes import activity, alias, lower, tape
from srcgrad.testing import numerical_grad

A1 = abstract.Ty(1, "f")


def straight(a, b):
    t = (a + b) * (b + 1.0)
    if t > 1.0:
        u = math.exp(t) * a
    else:
        u = t * t
    return u * b


def sin_carry(s, w, x, n):
    for i in range(n):
        s = s * w + math.sin(x)
    return s


def add_carry(s, w, x, n):
    for i in range(n):
        s = s + x * w
    return s


def logistic(y, dt, r, k, n):
    for i in range(n):
        y = y + dt * r * y * (1 - y / k)
    return y


def exp_square(s, x, n):
    for i in range(n):
        u = math.exp(s * x)
        s = s + u * u
    return s


def threshold(x, n):
    s = x
    for i in range(n):
        if s > 10.0:
            break
        s = s * x
    return s


def tanh_array(x, w, n):
    for i in range(n):
        x = np.tanh(x * w)
    return np.sum(x)


def planned(func, argnums, sig=None):
    fn = lower.lower(parse_function(func), argnums, sig)
    an = activity.analyse(fn)
    return fn, an, tape.plan(fn, an, alias.analyse(fn, an))


def the_loop(fn):
    (node,) = [s for s in ir.walk_stmts(fn.body) if isinstance(s, (ir.For, ir.While))]
    return node


def stored(plan):
    """{block id: names} of every non-empty save list."""
    return {(what, b): vs for what, d in (("floats", plan.floats), ("ints", plan.ints), ("arrays", plan.arrays))
            for b, vs in d.items() if vs}


def defined_by(fn, block, rule_name, *args):
    """The target of the Assign in `block` applying `rule_name` to `args`."""
    hits = [s.target for s in block.stmts if isinstance(s, ir.Assign) and isinstance(s.value, ir.Prim)
            and s.value.rule.name == rule_name and s.value.args == args]
    assert len(hits) == 1, (rule_name, args, hits)
    return hits[0]


V, C = ir.Var, ir.Const


# ---------------------------------------------------------------- nothing stored
def test_straight_line_values_are_saved_nowhere():
    fn, an, plan = planned(straight, (0, 1))
    assert plan.saved() == set() and stored(plan) == {}
    assert not any(plan.recompute.values()) and not plan.uses_stacks(fn)
    # ... although the adjoint does read them (they stay in locals of the fused function)
    reads = set()
    for s in ir.walk_stmts(fn.body):
        reads |= plan.reads(s)
    assert {"a", "b"} <= reads and len(reads) > 2


def test_readme_add_carry_saves_nothing():
    # d(s + x*w) reads nothing; d(x*w) reads x and w, arguments no iteration overwrites
    fn, an, plan = planned(add_carry, (0, 1, 2))
    assert stored(plan) == {} and not any(plan.recompute.values()) and not plan.uses_stacks(fn)


# ---------------------------------------------------------------- saved per iteration
def test_readme_sin_carry_saves_s_once_per_iteration():
    fn, an, plan = planned(sin_carry, (0, 1, 2))
    node = the_loop(fn)
    (s,) = node.phis
    # d(s*w) reads w (an argument) and s (carried: overwritten each trip); d sin(x) reads x
    assert stored(plan) == {("floats", node.body.id): (s,)}
    assert not any(plan.recompute.values()) and plan.uses_stacks(fn)
    mul = next(x for x in node.body.stmts if isinstance(x, ir.Assign) and isinstance(x.value, ir.Prim)
               and x.value.rule.name == "mul")
    assert plan.reads(mul) == {s, "w"}


def test_a_value_defined_in_the_body_is_saved_in_that_block():
    fn, an, plan = planned(exp_square, (0, 1))
    node = the_loop(fn)
    (s,) = node.phis
    # u = exp(s*x) is not cheap: d exp reads u itself, and u*u reads u; s*x is not read
    # (d exp does not read its argument), s + u*u reads nothing: saved are s (for d(s*x)) and u
    assert stored(plan) == {("floats", node.body.id): tuple(sorted((s, "u")))}
    assert not any(plan.recompute.values())


def test_a_branch_taken_inside_a_loop_is_saved_on_the_int_stack():
    fn, an, plan = planned(threshold, (0,))
    node = the_loop(fn)
    test = next(x for x in node.body.stmts if isinstance(x, ir.If))
    s = next(p for p in node.phis if an.dtype[p] == "float")
    # the reversed body must take the branch the forward one took: the condition, a bool,
    # goes on the int stack; d(s*x) reads the carried s
    assert stored(plan) == {("floats", node.body.id): (s,), ("ints", node.body.id): (test.cond.name,)}
    assert an.dtype[test.cond.name] == "bool"


def test_arrays_are_taped_by_reference_off_the_stacks():
    fn, an, plan = planned(tanh_array, (0, 1), (A1, A1, abstract.INT))
    node = the_loop(fn)
    (x,) = node.phis
    t = defined_by(fn, node.body, "mul", V(x), V("w"))
    new = defined_by(fn, node.body, "np.tanh", V(t))
    # d(x*w) reads x (carried) and w; d tanh reads its result: both arrays, both overwritten
    assert stored(plan) == {("arrays", node.body.id): tuple(sorted((x, new)))}
    assert not plan.uses_stacks(fn)          # arrays have tapes of their own


# ---------------------------------------------------------------- recomputed instead of saved
def test_logistic_step_saves_only_y_and_recomputes_the_cheap_rest():
    fn, an, plan = planned(logistic, (0,))
    node = the_loop(fn)
    (y,) = node.phis
    body = node.body
    dt_r = defined_by(fn, body, "mul", V("dt"), V("r"))
    rate = defined_by(fn, body, "mul", V(dt_r), V(y))
    ratio = defined_by(fn, body, "truediv", V(y), V("k"))
    room = defined_by(fn, body, "sub", C(1), V(ratio))
    growth = defined_by(fn, body, "mul", V(rate), V(room))
    step = defined_by(fn, body, "add", V(y), V(growth))
    # what the adjoint reads: d(rate*room) reads rate and room; d(dt_r*y) reads dt_r (y is
    # differentiated, dt and r are not: dt_r has no adjoint, nothing reads dt or r); d(y/k) reads k
    assert plan.reads(next(s for s in body.stmts if getattr(s, "target", None) == growth)) == {rate, room}
    assert plan.reads(next(s for s in body.stmts if getattr(s, "target", None) == rate)) == {dt_r}
    assert plan.reads(next(s for s in body.stmts if getattr(s, "target", None) == ratio)) == {"k"}
    assert plan.reads(next(s for s in body.stmts if getattr(s, "target", None) == step)) == set()
    # rate and room are + - * / of y, k, dt, r and each other: re-run after popping y
    assert stored(plan) == {("floats", body.id): (y,)}
    recomputed = [s.target for s in plan.recompute[body.id]]
    assert recomputed == [dt_r, rate, ratio, room]       # in the body's order, growth not needed
    assert all(s in body.stmts for s in plan.recompute[body.id])


def test_logistic_gradient_pushes_y_alone_and_matches_central_differences():
    import srcgrad
    g = srcgrad.grad(logistic, argnums=0)
    args = (0.1, 0.01, 1.5, 2.0, 50)
    got = g(*args)
    (num,) = numerical_grad(logistic, args, (0,))
    assert got == pytest.approx(num, rel=1e-6)
    # one step's derivative is 1 + dt r (1 - 2 y / k) > 0: the product over 50 steps is positive
    assert 1.0 < got < (1 + 0.01 * 1.5) ** 50
    src = g.source
    _, _, plan = planned(logistic, (0,))
    (y,) = plan.saved()
    saves = re.findall(r"# save for the adjoint: (.*)", src)
    assert saves == [y]
    assert len(re.findall(r"_fs\[_fp\] = ", src)) == 1 and "_is[_ip] = " not in src
    assert re.findall(r"# recompute: (.*)", src) == [", ".join(s.target for s in next(iter(plan.recompute.values())))]
