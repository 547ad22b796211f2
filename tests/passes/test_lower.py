"""Direct tests of the lowering (srcgrad/passes/lower.py) against what srcgrad/ir.py and the
pass's docstring promise: A-normal form, SSA names, phi copies at the end of `if` arms and
around loops, plain copies and constants as bindings, helpers inlined, types from
srcgrad/abstract.py, `break`/`return` as flags and exit operands, `False and ...` folded.

Every expected fact below is derived by hand from the small function it is about; the pass is
run on its own (no Numba), except for one gradient checked against central differences.
"""
import inspect
import math

import numpy as np
import pytest

from srcgrad import abstract, ir
from srcgrad.frontend.source import parse_function
from srcgrad.passes import lower
from srcgrad.testing import numerical_grad

FLAG = False
A1 = abstract.Ty(1, "f")
A2 = abstract.Ty(2, "f")


# ---------------------------------------------------------------- the functions lowered
def anf(x, y):
    return x * y + math.sin(x)


def rebind(x):
    x = x * 2.0
    x = x + 1.0
    return x


def copies(x):
    y = x
    c = 3.0
    z = y * c
    return z


def branch(x, c):
    if c > 0.0:
        y = x * x
    else:
        y = -x
    return y


def loop(x, n):
    s = 0.0
    for i in range(n):
        s = s * x + 1.0
    return s


def while_loop(x):
    s = x
    while s < 10.0:
        s = s * 2.0 + x
    return s


def break_last(x, n):
    s = x
    for i in range(n):
        s = s * x
        if s > 10.0:
            break
    return s


def break_first(x, n):
    s = x
    for i in range(n):
        if s > 10.0:
            break
        s = s * x
    return s


def early(x):
    if x > 0.0:
        return x * x
    y = x + 1.0
    return y * 2.0


def early_in_loop(x, n):
    s = x
    for i in range(n):
        s = s * x
        if s > 5.0:
            return s
    return -s


def sq(u):
    return u * u


def uses_helper(x):
    return sq(x) + sq(x + 1.0)


def typed(A, v):
    n = len(v)
    w = A @ v
    B = A.T * 2.0
    return np.sum(w) + np.sum(B) + A[0, 1] + np.sum(A[1]) / n


def folded_global(x):
    if FLAG and x > 0.0:
        y = x * x
    else:
        y = x + 1.0
    return y


def folded_literal(x):
    if False and x > 0.0:
        y = x * x
    else:
        y = x + 1.0
    return y


def folded_or(x):
    if True or x > 0.0:
        y = x * 3.0
    else:
        y = x + 1.0
    return y


# ---------------------------------------------------------------- helpers
def lowered(func, argnums=(0,), sig=None):
    return lower.lower(parse_function(func), argnums, sig)


def assigns(fn):
    return [s for s in ir.walk_stmts(fn.body) if isinstance(s, ir.Assign)]


def defs(fn):
    """Non-phi target -> its Assign (SSA: one each, checked below)."""
    return {s.target: s for s in assigns(fn) if not s.phi}


def prim(s):
    """(rule name, args) of an Assign of a Prim."""
    assert isinstance(s.value, ir.Prim), s
    return s.value.rule.name, s.value.args


def line_of(func, snippet):
    lines, first = inspect.getsourcelines(func)
    hits = [first + k for k, text in enumerate(lines) if snippet in text]
    assert len(hits) == 1, (snippet, hits)
    return hits[0]


def V(name):
    return ir.Var(name)


def C(value):
    return ir.Const(value)


ALL = [(anf, (0, 1), None), (rebind, (0,), None), (copies, (0,), None), (branch, (0,), None),
       (loop, (0,), None), (while_loop, (0,), None), (break_last, (0,), None), (break_first, (0,), None),
       (early, (0,), None), (early_in_loop, (0,), None), (uses_helper, (0,), None), (typed, (0,), (A2, A1)),
       (folded_global, (0,), None), (folded_literal, (0,), None), (folded_or, (0,), None)]


# ---------------------------------------------------------------- invariants on every function
@pytest.mark.parametrize("func,argnums,sig", ALL, ids=[f.__name__ for f, _, _ in ALL])
def test_ir_invariants(func, argnums, sig):
    fn = lowered(func, argnums, sig)
    params = {p.name for p in fn.params}
    assert [p.name for p in fn.params] == list(inspect.signature(func).parameters)
    assert [p.name for p in fn.params if p.active] == [list(inspect.signature(func).parameters)[i] for i in argnums]
    loops = [s for s in ir.walk_stmts(fn.body) if isinstance(s, (ir.For, ir.While))]
    ifs = [s for s in ir.walk_stmts(fn.body) if isinstance(s, ir.If)]
    phi_names = {p for s in loops + ifs for p in s.phis}
    counts = {}
    for s in assigns(fn):
        counts[s.target] = counts.get(s.target, 0) + 1
        # A-normal form: one operation, its operands variables or constants
        assert isinstance(s.value, (ir.Var, ir.Const, ir.Prim, ir.Load, ir.Raw)), s
        if isinstance(s.value, ir.Prim):
            assert all(isinstance(a, (ir.Var, ir.Const, ir.Tup)) for a in s.value.args), s
        if isinstance(s.value, ir.Load):
            assert all(isinstance(i, (ir.Var, ir.Const, ir.Slice)) or i is None for i in s.value.index), s
        # every variable has a type from srcgrad/abstract.py
        assert isinstance(fn.types[s.target], (abstract.Ty, abstract.TupleTy)), s
        if s.phi:
            assert s.target in phi_names, s
        else:
            assert s.target not in phi_names, f"{s.target} is a phi and also assigned by {s}"
    # SSA: a non-phi variable is assigned by one statement, and never re-uses a parameter's name
    for name, n in counts.items():
        if name not in phi_names:
            assert n == 1, f"{name} assigned {n} times"
        assert name not in params
    for s in ifs:       # one copy per phi at the end of each arm
        for arm in (s.body, s.orelse):
            tail = arm.stmts[len(arm.stmts) - len(s.phis):]
            assert sorted(x.target for x in tail) == sorted(s.phis), (s.phis, arm.stmts)
            assert all(isinstance(x, ir.Assign) and x.phi == "if" for x in tail)
            assert not any(isinstance(x, ir.Assign) and x.phi for x in arm.stmts[:len(arm.stmts) - len(s.phis)])
    for s in loops:     # carried values: an entry copy before the loop, a carry copy ending the body
        body = s.body.stmts
        carries = [x for x in body if isinstance(x, ir.Assign) and x.phi == "carry"]
        assert carries == body[len(body) - len(carries):]
        assert {x.target for x in carries} <= set(s.phis)
        entries = [x for x in ir.walk_stmts(fn.body) if isinstance(x, ir.Assign) and x.phi == "entry"
                   and x.target in s.phis]
        assert sorted(x.target for x in entries) == sorted(s.phis)


# ---------------------------------------------------------------- A-normal form, SSA, bindings
def test_one_operation_per_statement():
    fn = lowered(anf, (0, 1))
    stmts = fn.body.stmts
    assert len(stmts) == 3 and all(isinstance(s, ir.Assign) and not s.phi for s in stmts)
    (n1, a1), (n2, a2), (n3, a3) = (prim(s) for s in stmts)
    assert (n1, a1) == ("mul", (V("x"), V("y")))
    assert (n2, a2) == ("math.sin", (V("x"),))
    assert (n3, a3) == ("add", (V(stmts[0].target), V(stmts[1].target)))
    assert fn.result == V(stmts[2].target)
    line = line_of(anf, "return x * y")
    assert all(s.loc.line == line for s in stmts)


def test_rebinding_gets_numbered_names():
    # the parameter keeps `x`; later bindings are x_1, x_2 (srcgrad/passes/lower.py docstring)
    fn = lowered(rebind)
    assert [(s.target, prim(s)) for s in fn.body.stmts] == [
        ("x_1", ("mul", (V("x"), C(2.0)))), ("x_2", ("add", (V("x_1"), C(1.0))))]
    assert fn.result == V("x_2")


def test_plain_copies_and_constants_are_bindings():
    fn = lowered(copies)
    # y = x and c = 3.0 emit nothing: z = y * c reads x and the constant
    assert [(s.target, prim(s)) for s in fn.body.stmts] == [("z", ("mul", (V("x"), C(3.0))))]
    assert fn.result == V("z")


# ---------------------------------------------------------------- phis
def test_if_arms_end_in_phi_copies():
    fn = lowered(branch)
    cond_def, node = fn.body.stmts
    assert isinstance(node, ir.If) and node.cond == V(cond_def.target)
    assert isinstance(cond_def.value, ir.Raw) and fn.types[cond_def.target] == abstract.BOOL
    assert cond_def.loc.line == line_of(branch, "if c > 0.0")
    (phi,) = node.phis
    then_op, then_phi = node.body.stmts
    else_op, else_phi = node.orelse.stmts
    assert prim(then_op) == ("mul", (V("x"), V("x")))
    assert prim(else_op) == ("neg", (V("x"),))
    assert (then_phi.target, then_phi.value, then_phi.phi) == (phi, V(then_op.target), "if")
    assert (else_phi.target, else_phi.value, else_phi.phi) == (phi, V(else_op.target), "if")
    assert fn.result == V(phi) and fn.types[phi] == abstract.FLOAT


def test_for_loop_carries_through_entry_and_carry_copies():
    fn = lowered(loop)
    entry, trips, node = fn.body.stmts
    assert isinstance(node, ir.For)
    (phi,) = node.phis
    # s = 0.0 is a binding; the loop's entry copy gives the carried variable its start value
    assert (entry.target, entry.value, entry.phi) == (phi, C(0.0), "entry")
    assert trips.target == node.trips and isinstance(trips.value, ir.Raw) and "trip_count" in str(trips.value.expr.func.attr)
    assert (node.start, node.stop, node.step) == (C(0), V("n"), C(1))
    assert node.exit is None and not node.counted
    mul, add, carry = node.body.stmts
    assert prim(mul) == ("mul", (V(phi), V("x")))
    assert prim(add) == ("add", (V(mul.target), C(1.0)))
    assert (carry.target, carry.value, carry.phi) == (phi, V(add.target), "carry")
    assert fn.result == V(phi)
    assert fn.types[node.index] == abstract.INT and fn.types[node.trips] == abstract.INT
    assert fn.types[phi] == abstract.FLOAT
    assert node.body.depth == fn.body.depth + 1 == 1


def test_while_condition_has_its_own_block():
    fn = lowered(while_loop)
    entry, node = fn.body.stmts
    assert isinstance(node, ir.While)
    (phi,) = node.phis
    assert (entry.target, entry.value, entry.phi) == (phi, V("x"), "entry")
    (cond,) = node.cond_block.stmts
    assert isinstance(cond.value, ir.Raw) and node.cond == V(cond.target) and cond.value.reads == {phi}
    mul, add, carry = node.body.stmts
    assert prim(mul) == ("mul", (V(phi), C(2.0)))
    assert prim(add) == ("add", (V(mul.target), V("x")))
    assert (carry.target, carry.value, carry.phi) == (phi, V(add.target), "carry")


# ---------------------------------------------------------------- exits
def _flag_phi(if_node, taken_value):
    """The phi of `if_node` that is `taken_value` in the arm taken and its carried value otherwise."""
    for p in if_node.phis:
        t = next(x for x in if_node.body.stmts if x.target == p)
        if t.value == C(taken_value):
            return p, next(x for x in if_node.orelse.stmts if x.target == p).value
    raise AssertionError(f"no flag among {if_node.phis}")


def test_break_at_the_end_of_the_body_is_the_exit_operand():
    fn = lowered(break_last)
    node = next(s for s in fn.body.stmts if isinstance(s, ir.For))
    assert node.counted                   # the loop may end early: its trips are counted
    assert not any(isinstance(s, ir.Assign) and s.target == node.trips for s in fn.body.stmts)
    mul, cond, test, flag_carry, s_carry = node.body.stmts
    assert prim(mul)[0] == "mul" and isinstance(test, ir.If) and test.cond == V(cond.target)
    assert cond.value.reads == {mul.target}          # s > 10.0 on the new s
    flag, carried = _flag_phi(test, True)
    assert node.exit == V(flag) and fn.types[flag] == abstract.BOOL
    # the flag is carried too: False on entry, its value in the arm not taken
    assert carried == V(flag_carry.target) and flag_carry.value == V(flag) and flag_carry.phi == "carry"
    entry = next(s for s in fn.body.stmts if isinstance(s, ir.Assign) and s.target == flag_carry.target)
    assert entry.value == C(False) and entry.phi == "entry"


def test_break_before_more_code_guards_it():
    fn = lowered(break_first)
    node = next(s for s in fn.body.stmts if isinstance(s, ir.For))
    assert node.counted and isinstance(node.exit, ir.Var)
    test = next(s for s in node.body.stmts if isinstance(s, ir.If))
    # `s = s * x` runs only when the loop did not break: it sits in the `else` arm
    assert not any(isinstance(s, ir.Assign) and isinstance(s.value, ir.Prim) for s in node.body.stmts)
    assert [prim(s)[0] for s in test.orelse.stmts if not s.phi] == ["mul"]
    assert [s for s in test.body.stmts if not s.phi] == []
    flag, _ = _flag_phi(test, True)
    assert node.exit == V(flag)


def test_early_return_outside_a_loop_moves_the_rest_into_else():
    fn = lowered(early)
    cond, node = fn.body.stmts            # no flags: one `if`, one path each
    assert isinstance(node, ir.If)
    assert [t for t, ty in fn.types.items() if ty == abstract.BOOL] == [cond.target]
    (phi,) = node.phis
    assert fn.result == V(phi)
    assert [prim(s)[0] for s in node.body.stmts if not s.phi] == ["mul"]
    add, mul = [s for s in node.orelse.stmts if not s.phi]
    assert prim(add) == ("add", (V("x"), C(1.0)))
    assert prim(mul) == ("mul", (V(add.target), C(2.0)))


def test_return_inside_a_loop_is_a_flag_and_an_exit():
    fn = lowered(early_in_loop)
    node = next(s for s in fn.body.stmts if isinstance(s, ir.For))
    assert node.counted and isinstance(node.exit, ir.Var)
    test = next(s for s in node.body.stmts if isinstance(s, ir.If))
    flag, _ = _flag_phi(test, True)
    assert node.exit == V(flag)
    # after the loop, `return -s` runs only when the loop did not return
    after = fn.body.stmts[fn.body.stmts.index(node) + 1:]
    guard_def, guard = after
    assert isinstance(guard, ir.If) and guard.cond == V(guard_def.target)
    flag_carried = next(s for s in node.body.stmts if isinstance(s, ir.Assign) and s.phi == "carry"
                        and s.value == V(flag)).target
    assert guard_def.value.reads == {flag_carried}
    (neg,) = [s for s in guard.body.stmts if not s.phi]
    s_phi = next(p for p in node.phis if fn.types[p] == abstract.FLOAT and p.startswith("s"))
    assert prim(neg) == ("neg", (V(s_phi),))
    ret = next(p for p in guard.phis if fn.types[p] == abstract.FLOAT)
    assert fn.result == V(ret)
    # the value returned inside the loop is carried out of it and chosen when the flag is set
    assert next(s for s in guard.orelse.stmts if s.target == ret).value.name in node.phis


# ---------------------------------------------------------------- helpers, types, folding
def test_helpers_are_inlined_at_their_own_lines():
    fn = lowered(uses_helper)
    helper_line, call_line = line_of(sq, "return u * u"), line_of(uses_helper, "return sq(x)")
    sq1, shifted, sq2, total = fn.body.stmts
    assert prim(sq1) == ("mul", (V("x"), V("x"))) and sq1.loc.line == helper_line
    assert prim(shifted) == ("add", (V("x"), C(1.0))) and shifted.loc.line == call_line
    assert prim(sq2) == ("mul", (V(shifted.target), V(shifted.target))) and sq2.loc.line == helper_line
    assert prim(total) == ("add", (V(sq1.target), V(sq2.target))) and total.loc.line == call_line
    assert sq1.loc.file == sq2.loc.file == inspect.getsourcefile(sq)


def test_types_follow_numpy_rules():
    fn = lowered(typed, (0,), (A2, A1))
    d = defs(fn)
    by_rule = {}
    for name, s in d.items():
        key = prim(s)[0] if isinstance(s.value, ir.Prim) else type(s.value).__name__
        by_rule.setdefault(key, []).append(fn.types[name])
    assert fn.types["n"] == abstract.INT and isinstance(d["n"].value, ir.Raw)      # len(v)
    assert fn.types["w"] == A1                                                     # A @ v
    assert by_rule[".T"] == [A2] and fn.types["B"] == A2                            # A.T * 2.0
    assert by_rule["np.sum"] == [abstract.FLOAT] * 3
    loads = sorted((len(s.value.index), fn.types[t]) for t, s in d.items() if isinstance(s.value, ir.Load))
    assert loads == [(1, A1), (2, abstract.FLOAT)]                                   # A[1], A[0, 1]
    assert fn.types[fn.result.name] == abstract.FLOAT


@pytest.mark.parametrize("func,kept", [(folded_global, ("add", C(1.0))), (folded_literal, ("add", C(1.0))),
                                       (folded_or, ("mul", C(3.0)))])
def test_constant_conditions_are_folded(func, kept):
    fn = lowered(func)
    # `False and x > 0.0` is False whatever x is (Python's short circuit): only the other
    # branch is lowered, with no `if`, no condition and no phi
    (s,) = fn.body.stmts
    assert prim(s) == (kept[0], (V("x"), kept[1])) and not s.phi
    assert fn.result == V(s.target)


# ---------------------------------------------------------------- tied to right answers
def test_gradient_through_the_lowered_exits_matches_central_differences():
    import srcgrad
    g = srcgrad.grad(early_in_loop, argnums=0)
    # x = 1.3: s = x^k passes 5 at k = 7 (x^6 = 4.83, x^7 = 6.27): returns x^7, derivative 7 x^6;
    # x = 1.05, n = 5: never passes 5, returns -x^6, derivative -6 x^5
    for x, n, want in ((1.3, 10, 7 * 1.3 ** 6), (1.05, 5, -6 * 1.05 ** 5)):
        got = g(x, n)
        (num,) = numerical_grad(early_in_loop, (x, n), (0,))
        assert got == pytest.approx(want, rel=1e-12)
        assert got == pytest.approx(num, rel=1e-6)
