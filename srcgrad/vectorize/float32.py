"""float32 arithmetic for srcgrad.vectorize: a generated derivative rewritten so that float32
arguments compute in float32.

Python's float literals are float64 in Numba, so `0.5 * x` promotes a float32 `x` to float64.
`float32_source` types the literals of the derivative's function float32 instead.  The integer
counters srcgrad adds to a derivative (stack pointers, trip counts) must stay integers: the
generated module names them (its `COUNTERS`, written by codegen/emit.py), and arithmetic that
reads one is left alone.  A rewrite that still breaks typing falls back to float64 at call time
(ufunc.py).
"""
from __future__ import annotations

import ast


class _Float32Literals(ast.NodeTransformer):
    """Give the literals of a generated derivative the type float32, so that float32 arguments
    are not promoted to float64 by `0.5 * x` or `1 / x`: every float literal, and int literals
    in + - * / next to something that is not one of the module's `counters`.  Loop bounds and
    subscripts are left alone."""

    def __init__(self, counters):
        self.counters = frozenset(counters)

    def visit_Constant(self, node):
        if type(node.value) is float:
            return _f32(node)
        return node

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id == "range" or \
                isinstance(node.func, ast.Attribute) and node.func.attr in ("trip_count", "grow"):
            return node
        return self.generic_visit(node)

    def visit_Subscript(self, node):
        node.value = self.visit(node.value)
        return node

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name) and node.target.id in self.counters:
            return node
        return self.generic_visit(node)

    def visit_BinOp(self, node):
        ints = any(isinstance(n, ast.Name) and n.id in self.counters for n in ast.walk(node))
        self.generic_visit(node)
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)) and not ints:
            node.left, node.right = (_f32(e) if isinstance(e, ast.Constant) and type(e.value) is int
                                     else e for e in (node.left, node.right))
        return node


def _f32(const):
    return ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "float32", ast.Load()), [const], [])


def float32_source(source: str, function: str, counters) -> str:
    """The generated module `source` with `function` rewritten by _Float32Literals; `counters`:
    the module's integer counters (its COUNTERS)."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            _Float32Literals(counters).visit(node)
    ast.fix_missing_locations(tree)
    doc = ast.get_docstring(tree) or ""
    return (f'"""{doc}\n\nfloat32 variant for srcgrad.vectorize: literals typed float32."""\n'
            + ast.unparse(ast.Module(tree.body[1:] if doc else tree.body, [])) + "\n")
