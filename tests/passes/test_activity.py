"""Direct tests of the activity analysis (srcgrad/passes/activity.py) against its docstring:
`active` (depends on a differentiated argument through differentiable operations; an array is
active once an active value is stored into it), `useful` (reaches the result), adjoints only for
both, types/kinds/dtypes (a number used as an index or range bound is an int), `home` blocks,
and the located refusals: a differentiated value as an index or a `range` bound, an in-place
write into a differentiated argument, a call without a rule reached by a differentiated value.

Expected sets are derived by hand from each function; the pass runs on its own (no Numba),
except for one gradient checked against central differences.
"""
import inspect
import math

import numpy as np
import pytest

from srcgrad import abstract, ir
from srcgrad.errors import NoDerivativeRuleError, NotDifferentiableError, UnsupportedArrayUseError
from srcgrad.frontend.source import parse_function
from srcgrad.passes import activity, lower
from srcgrad.testing import numerical_grad

A1 = abstract.Ty(1, "f")


def mixed(x, k):
    a = k * 2.0            # from the non-differentiated k only: inactive
    b = x * a              # active, reaches the result
    c = math.exp(x)        # active, but only decides the branch: not useful
    if c > 1.0:
        d = b + 1.0
    else:
        d = b * a
    return d


def dead(x, y):
    u = x * x              # active, never read again
    v = u + y              # active, reaches nothing  # noqa: F841
    return y * x


def counted(n, x):
    s = x
    for i in range(n):
        s = s * x
    return s


def index_by(j, v):
    return v[j] * 2.0


def write_argument(x):
    x[0] = 1.0
    return np.sum(x)


def gamma_of_constant(x, k):
    return x * math.gamma(k)


def gamma_of_argument(x, k):
    return k * math.gamma(x)


def into_local(x):
    y = np.zeros(3)
    y[0] = x * 2.0
    return np.sum(y)


def loss_and_aux(x):
    loss = x * x
    aux = math.sin(x)
    return loss, aux


def analysed(func, argnums=(0,), sig=None, seeded=None):
    fn = lower.lower(parse_function(func), argnums, sig)
    return fn, activity.analyse(fn, seeded(fn) if seeded else None)


def line_of(func, snippet):
    lines, first = inspect.getsourcelines(func)
    hits = [first + k for k, text in enumerate(lines) if snippet in text]
    assert len(hits) == 1, (snippet, hits)
    return hits[0]


def target_of(fn, rule_name):
    (t,) = [s.target for s in ir.walk_stmts(fn.body) if isinstance(s, ir.Assign)
            and isinstance(s.value, ir.Prim) and s.value.rule.name == rule_name]
    return t


# ---------------------------------------------------------------- active and useful
def test_active_and_useful_sets():
    fn, an = analysed(mixed)
    node = next(s for s in fn.body.stmts if isinstance(s, ir.If))
    (d,) = node.phis
    d_then = next(s.target for s in node.body.stmts if not s.phi)
    d_else = next(s.target for s in node.orelse.stmts if not s.phi)
    cond = next(s.target for s in fn.body.stmts if isinstance(s, ir.Assign) and isinstance(s.value, ir.Raw))
    assert an.active == {"x", "b", "c", d_then, d_else, d}
    assert an.useful == {"x", "b", d_then, d_else, d}
    assert "a" not in an.active and "k" not in an.active and cond not in an.active
    assert an.needs_adjoint("b") and not an.needs_adjoint("c") and not an.needs_adjoint("a")


def test_values_reaching_nothing_are_not_useful():
    fn, an = analysed(dead, (0, 1))
    assert {"u", "v"} <= an.active
    assert not {"u", "v"} & an.useful
    assert an.useful == {"x", "y", fn.result.name}
    # with x alone differentiated, v = u + y is active through u, y is not
    _, an_x = analysed(dead, (0,))
    assert "v" in an_x.active and "y" not in an_x.active and "y" not in an_x.useful


def test_a_store_makes_the_array_active():
    fn, an = analysed(into_local)
    t = target_of(fn, "mul")
    assert {"x", t, "y", fn.result.name} == an.active == an.useful
    assert an.kind["y"] == "array" and an.types["y"] == A1 and an.dtype["y"] == "float"


def test_seeded_part_of_the_result_decides_usefulness():
    fn, an = analysed(loss_and_aux, seeded=lambda fn: fn.result.items[0])
    assert isinstance(fn.result, ir.Tup)
    assert an.active == {"x", "loss", "aux"}
    assert an.useful == {"x", "loss"}


def test_a_call_without_a_rule_is_fine_on_constants():
    fn, an = analysed(gamma_of_constant)
    raw = next(s.target for s in fn.body.stmts if isinstance(s.value, ir.Raw))
    assert raw not in an.active and an.active == {"x", fn.result.name}


# ---------------------------------------------------------------- types, kinds, homes
def test_numbers_used_as_range_bounds_are_ints():
    fn, an = analysed(counted, (1,))
    node = next(s for s in fn.body.stmts if isinstance(s, ir.For))
    assert "n" in an.int_context
    assert an.types["n"] == abstract.INT and an.dtype["n"] == "int" and an.kind["n"] == "scalar"
    assert an.types["x"] == abstract.FLOAT and an.dtype["x"] == "float"
    assert an.dtype[node.index] == "int" and an.dtype[node.trips] == "int"
    (s,) = node.phis
    assert an.dtype[s] == "float" and an.is_scalar(s)
    # homes: the loop index and what the body defines live in the body; the trip count and the
    # carried variable in the block holding the loop
    body_def = next(x.target for x in node.body.stmts if not x.phi)
    assert an.home[node.index] is node.body and an.home[body_def] is node.body
    assert an.home[node.trips] is fn.body and an.home[s] is fn.body and an.home["x"] is fn.body


def test_if_phis_live_in_the_block_holding_the_if():
    fn, an = analysed(mixed)
    node = next(s for s in fn.body.stmts if isinstance(s, ir.If))
    (d,) = node.phis
    assert an.home[d] is fn.body
    assert an.home[next(s.target for s in node.body.stmts if not s.phi)] is node.body
    assert an.home[next(s.target for s in node.orelse.stmts if not s.phi)] is node.orelse


# ---------------------------------------------------------------- refusals, located
def _refused(func, argnums, sig, cls):
    with pytest.raises(cls) as exc:
        analysed(func, argnums, sig)
    return exc.value


def test_differentiated_range_bound_is_refused_at_the_loop():
    err = _refused(counted, (0, 1), (abstract.INT, abstract.FLOAT), NotDifferentiableError)
    assert "`n` depends on a differentiated argument but is used as a `range` bound" in err.message
    assert err.loc.line == line_of(counted, "for i in range(n)") and err.loc.col == 4
    assert err.loc.file == inspect.getsourcefile(counted)
    # not differentiated: the same function passes
    analysed(counted, (1,))


def test_differentiated_index_is_refused_at_its_line():
    err = _refused(index_by, (0,), (abstract.INT, A1), NotDifferentiableError)
    assert "`j` depends on a differentiated argument but is used as an array index" in err.message
    assert err.loc.line == line_of(index_by, "return v[j] * 2.0")
    analysed(index_by, (1,), (abstract.INT, A1))


def test_writing_into_a_differentiated_argument_is_refused():
    err = _refused(write_argument, (0,), (A1,), UnsupportedArrayUseError)
    assert "the differentiated argument `x` is modified in place" in err.message
    assert err.loc.line == line_of(write_argument, "x[0] = 1.0") and "copy" in err.hint
    analysed(write_argument, (), (A1,))


def test_a_rule_less_call_reached_by_a_differentiated_value_is_refused():
    err = _refused(gamma_of_argument, (0,), None, NoDerivativeRuleError)
    assert "`math.gamma` has no derivative rule, and a differentiated value reaches it" in err.message
    assert err.loc.line == line_of(gamma_of_argument, "return k * math.gamma(x)")
    analysed(gamma_of_argument, (1,))


# ---------------------------------------------------------------- tied to right answers
def test_gradient_of_mixed_matches_central_differences():
    import srcgrad
    g = srcgrad.grad(mixed, argnums=0)
    # exp(x) > 1 for x > 0: d = 2 k x + 1, derivative 2k; else d = (2 k x)(2k), derivative 4 k^2
    for x, k, want in ((0.5, 3.0, 6.0), (-0.5, 3.0, 36.0)):
        got = g(x, k)
        (num,) = numerical_grad(mixed, (x, k), (0,))
        assert got == want
        assert got == pytest.approx(num, rel=1e-6)
