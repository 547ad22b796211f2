"""Builders of the Python AST that generated code is made of, shared by the passes that emit it.

Names read like the AST they build: `N("x")` is a load of `x`, `S("x")` a store, `assign`,
`aug` (`x += v`), `call("np.sum", ...)`.  `primal_expr` is the forward expression of an IR
value; `comment(text)` is a statement that `emit` turns into a `# text` line (ast.unparse
drops real comments), and `LineComments` puts one before each new source line of a block.
"""
from __future__ import annotations

import ast
import os

from .. import ir

COMMENT = "__srcgrad_comment__"


def comment(text: str) -> ast.stmt:
    return ast.Expr(ast.Call(ast.Name(COMMENT, ast.Load()), [ast.Constant(text)], []))


def is_comment(s) -> bool:
    return isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and \
        isinstance(s.value.func, ast.Name) and s.value.func.id == COMMENT


def dotted(e) -> str | None:
    """`np.sin` for the expression `np.sin` (a name or an attribute of one), else None."""
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.Attribute):
        base = dotted(e.value)
        return None if base is None else f"{base}.{e.attr}"
    return None


def unbroadcast_args(e):
    """(c, like) for the call `_rt.unbroadcast(c, like)`, else None."""
    if isinstance(e, ast.Call) and dotted(e.func) == "_rt.unbroadcast" and len(e.args) == 2 and not e.keywords:
        return e.args[0], e.args[1]
    return None


def names_in(node) -> set:
    """Every name an AST mentions (read or written)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def N(name):  # noqa: N802 - reads like the AST it builds
    return ast.Name(name, ast.Load())


def S(name):  # noqa: N802
    return ast.Name(name, ast.Store())


def op_ast(op):
    node = getattr(op, "node", None)      # pre-built operands (forward mode's tangents)
    if node is not None:
        return node
    if isinstance(op, ir.Const):
        return const(op.value)
    if isinstance(op, ir.Tup):
        return ast.Tuple([op_ast(i) for i in op.items], ast.Load())
    return N(op.name)


def const(v):
    """A literal: floats that are not finite as math.inf/math.nan, negatives as `-c`, tuples."""
    if isinstance(v, tuple):
        return ast.Tuple([const(x) for x in v], ast.Load())
    if isinstance(v, float) and v != v:
        return ast.parse("math.nan", mode="eval").body
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return ast.parse("math.inf" if v > 0 else "-math.inf", mode="eval").body
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-v))
    return ast.Constant(v)


def assign(name, value):
    return ast.Assign([S(name)], value)


def aug(target, value, op=ast.Add):
    return ast.AugAssign(target, op(), value)


def call(fname, *args):
    return ast.Call(ast.parse(fname, mode="eval").body, list(args), [])


def add(a, b):
    return ast.BinOp(a, ast.Add(), b if isinstance(b, ast.AST) else ast.Constant(b))


def total(terms):
    """The sum of expressions, left to right (0.0 when there are none)."""
    if not terms:
        return ast.Constant(0.0)
    out = terms[0]
    for t in terms[1:]:
        out = add(out, t)
    return out


def zero(name: str, scalar: bool):
    """The zero of variable `name`'s derivative: 0.0 for a number, `_rt.zeros_like(name)` for an array."""
    return ast.Constant(0.0) if scalar else call("_rt.zeros_like", N(name))


def mul(a, b):
    return ast.BinOp(a, ast.Mult(), b if isinstance(b, ast.AST) else ast.Constant(b))


def scale(g, partial):
    """g * partial, written as g or -g when the partial is +-1."""
    if isinstance(partial, ast.Constant) and partial.value == 1:
        return g
    if isinstance(partial, ast.UnaryOp) and isinstance(partial.op, ast.USub) and \
            isinstance(partial.operand, ast.Constant) and partial.operand.value == 1:
        return ast.UnaryOp(ast.USub(), g)
    return ast.BinOp(g, ast.Mult(), partial)


BINOPS = {"add": ast.Add, "sub": ast.Sub, "mul": ast.Mult, "truediv": ast.Div, "pow": ast.Pow,
          "floordiv": ast.FloorDiv, "mod": ast.Mod, "matmul": ast.MatMult}
UNOPS = {"neg": ast.USub, "pos": ast.UAdd}


def primal_expr(v):
    """The forward expression of an IR value."""
    if isinstance(v, (ir.Var, ir.Const)):
        return op_ast(v)
    if isinstance(v, ir.Raw):
        return v.expr
    if isinstance(v, ir.Load):
        return ast.Subscript(N(v.array.name), index_ast(v.index), ast.Load())
    if isinstance(v, ir.Prim):
        r, args = v.rule, [op_ast(a) for a in v.args]
        if r.key in BINOPS:
            return ast.BinOp(args[0], BINOPS[r.key](), args[1])
        if r.key in UNOPS:
            return ast.UnaryOp(UNOPS[r.key](), args[0])
        if r.key == "transpose":
            return ast.Attribute(args[0], "T", ast.Load())
        if r.key == "copy":
            return ast.Call(ast.Attribute(args[0], "copy", ast.Load()), [], [])
        return ast.Call(ast.parse(r.call, mode="eval").body, args, [])
    raise TypeError(v)


def carried(s, types, e):
    """`e`, the value `s` assigns, through `_rt.carried` when `s` is the entry or back-edge copy
    of an array carried around a loop (runtime.carried: one Numba layout for all trips)."""
    if getattr(s, "phi", "") in ("entry", "carry") and types[s.target].is_array:
        return call("_rt.carried", e)
    return e


def index_ast(index):
    def one(i):
        if i is None:
            return ast.Constant(None)
        if isinstance(i, ir.Slice):
            return ast.Slice(*(None if p is None else op_ast(p) for p in (i.start, i.stop, i.step)))
        return op_ast(i)
    if len(index) == 1:
        return one(index[0])
    return ast.Tuple([one(i) for i in index], ast.Load())


def range_call(start, stop, step):
    if isinstance(step, ir.Const) and step.value == 1:
        if isinstance(start, ir.Const) and start.value == 0:
            return call("range", op_ast(stop))
        return call("range", op_ast(start), op_ast(stop))
    return call("range", op_ast(start), op_ast(stop), op_ast(step))


def reversed_range(start, step, trips):
    """The indices of range(start, ..., step) with `trips` iterations, last first."""
    n1 = ast.BinOp(N(trips), ast.Sub(), ast.Constant(1))
    minus_one = ast.UnaryOp(ast.USub(), ast.Constant(1))
    if isinstance(step, ir.Const) and step.value == 1 and isinstance(start, ir.Const) and start.value == 0:
        return call("range", n1, minus_one, ast.UnaryOp(ast.USub(), ast.Constant(1)))
    first = ast.BinOp(op_ast(start), ast.Add(), ast.BinOp(n1, ast.Mult(), op_ast(step)))
    stop = ast.BinOp(op_ast(start), ast.Sub(), op_ast(step))
    return call("range", first, stop, ast.UnaryOp(ast.USub(), op_ast(step)))


def where(loc) -> str:
    """`line text    [file.py:12]`: how generated code names a source line."""
    return f"{loc.text.strip()}    [{os.path.basename(loc.file)}:{loc.line}]"


class LineComments:
    """Walks a block's statements and says when a new source line starts, so that each group of
    generated statements is preceded by the line it comes from (phi copies belong to no line)."""

    def __init__(self):
        self.last = None

    def new_line(self, s) -> bool:
        loc = getattr(s, "loc", None)
        if loc is None or (isinstance(s, ir.Assign) and s.phi) or (loc.file, loc.line) == self.last:
            return False
        self.last = (loc.file, loc.line)
        return True

    def before(self, s, prefix: str = "") -> list:
        """[comment naming s's source line] when s starts a new one, else []."""
        return [comment(prefix + where(s.loc))] if self.new_line(s) else []
