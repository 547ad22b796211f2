"""Refuse, before any transformation, every construct outside the differentiable subset.

After this check the function uses only: positional parameters (with or without defaults);
assignments (plain, augmented, annotated, tuple unpacking of literal tuples); `if`/`elif`/
`else`; `for <name> in range(...)`; `while` (no `else` clauses); `break`, `continue`, `return`;
arithmetic, comparisons, `and`/`or`/`not`, conditional expressions; numbers and booleans;
calls; names; attribute access; subscripts (with slices, `None` and `...`).  Each refusal is an
UnsupportedSyntaxError (a SyntaxError) at the user's file, line and column, naming the
construct and what to write instead.
"""
from __future__ import annotations

import ast

from ..errors import UnsupportedSyntaxError

_REFUSED = {
    ast.Try: ("try/except", "remove the exception handling; NaN and inf propagate as in NumPy"),
    ast.With: ("a `with` block", "move the context manager outside the differentiated function"),
    ast.Lambda: ("a lambda", "define a named helper function with `def` and call it"),
    ast.ListComp: ("a list comprehension", "write a `for` loop filling a preallocated array (np.zeros)"),
    ast.SetComp: ("a set comprehension", "write a `for` loop"),
    ast.DictComp: ("a dict comprehension", "write a `for` loop"),
    ast.GeneratorExp: ("a generator expression", "write a `for` loop accumulating into a variable"),
    ast.Global: ("a `global` statement", "pass the value as an argument (module-level numeric constants can be read without `global`)"),
    ast.Nonlocal: ("a `nonlocal` statement", "pass the value as an argument"),
    ast.ClassDef: ("a class definition", "define classes outside; pass numbers and arrays to the function"),
    ast.AsyncFunctionDef: ("an async function", "use a plain `def`"),
    ast.Await: ("`await`", "use plain synchronous code"),
    ast.AsyncFor: ("`async for`", "use a plain `for` loop"),
    ast.AsyncWith: ("`async with`", "remove it"),
    ast.Yield: ("`yield` (a generator)", "return a scalar instead"),
    ast.YieldFrom: ("`yield from` (a generator)", "return a scalar instead"),
    ast.JoinedStr: ("an f-string", "strings are not supported in a differentiated function"),
    ast.Starred: ("starred arguments (`*x`)", "pass arguments one by one"),
    ast.Set: ("a set", "remove it; only numbers and arrays are supported"),
    ast.Dict: ("a dict", "remove it; only numbers and arrays are supported"),
    ast.NamedExpr: ("an assignment expression (`:=`)", "assign on its own line"),
    ast.Raise: ("a `raise` statement", "remove it; srcgrad functions cannot raise"),
    ast.Delete: ("a `del` statement", "remove it"),
    ast.Import: ("an import inside the function", "import at module level"),
    ast.ImportFrom: ("an import inside the function", "import at module level"),
    ast.Match: ("a `match` statement", "use if/elif/else"),
}

_ALLOWED = (
    ast.Assign, ast.AugAssign, ast.AnnAssign, ast.If, ast.For, ast.While, ast.Break, ast.Continue,
    ast.Return, ast.Pass, ast.Expr, ast.FunctionDef, ast.Assert,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Name, ast.Constant,
    ast.Attribute, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.keyword,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context, ast.arguments, ast.arg,
)

_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod, ast.MatMult)


def fence(fdef: ast.FunctionDef, loc) -> None:
    """Raise UnsupportedSyntaxError at the first construct outside the subset."""
    if isinstance(fdef, ast.AsyncFunctionDef):   # calling it returns a coroutine, not a number
        raise UnsupportedSyntaxError("an async function", loc(fdef), "use a plain `def`")
    a = fdef.args
    if a.vararg is not None or a.kwarg is not None:
        bad = a.vararg or a.kwarg
        raise UnsupportedSyntaxError("`*args`/`**kwargs` parameters", loc(bad),
                                     "list every parameter explicitly")
    if a.kwonlyargs or a.posonlyargs:
        bad = (a.kwonlyargs or a.posonlyargs)[0]
        raise UnsupportedSyntaxError("keyword-only or positional-only parameters", loc(bad),
                                     "use ordinary positional parameters")
    for stmt in fdef.body:
        for node in ast.walk(stmt):
            _check(node, loc)
            if isinstance(node, ast.FunctionDef):     # a nested helper: plain, like a module-level one
                if node.decorator_list:
                    raise UnsupportedSyntaxError("a decorated nested function", loc(node),
                                                 "remove the decorator (srcgrad compiles the whole derivative)")
                fence(node, loc)


def _check(node, loc):
    for kind, (what, hint) in _REFUSED.items():
        if isinstance(node, kind):
            raise UnsupportedSyntaxError(f"{what} is not supported", loc(node), hint)
    if not isinstance(node, _ALLOWED):
        raise UnsupportedSyntaxError(f"`{type(node).__name__}` is not supported", loc(node))
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, bool)) \
            and node.value is not None and node.value is not Ellipsis:
        if isinstance(node.value, str):
            return  # a docstring is fine; a string used as a value is refused by the lowering
        raise UnsupportedSyntaxError(f"the constant {node.value!r}", loc(node), "use numbers only")
    if isinstance(node, ast.BinOp) and not isinstance(node.op, _OPS):
        raise UnsupportedSyntaxError(f"the operator `{type(node.op).__name__}` (bitwise/shift)", loc(node),
                                     "use arithmetic operators")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
        raise UnsupportedSyntaxError("the operator `~`", loc(node), "use `not` for booleans")
    if isinstance(node, (ast.For, ast.While)) and node.orelse:
        raise UnsupportedSyntaxError(f"`{type(node).__name__.lower()} ... else`", loc(node),
                                     "use a flag variable set before `break`")
    if isinstance(node, ast.For):
        it = node.iter
        if _is_checkpoint_call(it):
            it = it.args[0]
        from ..passes.desugar import sequence_loop_parts
        is_range = isinstance(node.target, ast.Name) and isinstance(it, ast.Call) \
            and isinstance(it.func, ast.Name) and it.func.id == "range" and not it.keywords and 1 <= len(it.args) <= 3
        if not is_range and (it is not node.iter or sequence_loop_parts(node) is None):
            raise UnsupportedSyntaxError(
                "a `for` loop over something other than `range(...)`, an array, `enumerate(x)` or "
                "`zip(x, y, ...)`", loc(node),
                "loop over indices: `for i in range(len(x)): ... x[i] ...`")
    if isinstance(node, ast.Return) and node.value is None:
        raise UnsupportedSyntaxError("`return` without a value", loc(node), "return a scalar")


def _is_checkpoint_call(it) -> bool:
    """`checkpoint(range(...))` / `srcgrad.checkpoint(range(...), every)` (checked by the lowering)."""
    f = getattr(it, "func", None)
    name = f.id if isinstance(f, ast.Name) else (f.attr if isinstance(f, ast.Attribute) else None)
    return isinstance(it, ast.Call) and name == "checkpoint" and 1 <= len(it.args) <= 2 and \
        (len(it.keywords) == 0 or [k.arg for k in it.keywords] == ["every"])
