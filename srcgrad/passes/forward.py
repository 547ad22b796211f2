"""Emit forward-mode (tangent) code from the analysed IR: the JVP by source transformation.

What holds for the emitted functions:
* `<f>_jvp(params..., <p>_dot for p in argnums)` runs the primal statements in order, each
  active statement followed by its tangent, `t_dot = sum_i partial_i * a_i_dot`, from the same
  partials tables the reverse pass uses (so a rule is declared once for both modes); it returns
  `(value, value_dot)`.  No values are saved: forward mode needs no tape.
* `<f>_tangent(...)` is the same body as plain, uncompiled Python returning only `value_dot`.
  It is inside srcgrad's own subset, so srcgrad's reverse mode can differentiate it: this is how
  `grad(grad(f))`, Hessian-vector products and `hessian` are built (reverse over forward).
"""
from __future__ import annotations

import ast

from .. import ir
from ..errors import NoDerivativeRuleError
from ..rules.registry import substitute
from .activity import Analysis
from .reverse import N, _add, _call, _is_comment, _range, _short, assign, comment, index_ast, op_ast, primal_expr

# tangents of the array primitives whose adjoint is a vjp: all are linear or bilinear
_LINEAR = {"transpose", "copy"}


class Forward:
    """`ndir` tangent directions: 1 for a JVP (tangents are parameters), or one per argument in
    `argnums` for a whole gradient in one sweep (one-hot tangents, no tape: the fastest gradient
    of a loop with few scalar inputs)."""

    def __init__(self, fn: ir.Function, an: Analysis, names, ndir: int = 1):
        self.fn, self.an, self.names, self.ndir = fn, an, names, ndir
        self.dots: dict = {}
        self.j = 0            # the direction being emitted

    def dot(self, v: str, j: int | None = None) -> str:
        j = self.j if j is None else j
        if (v, j) not in self.dots:
            self.dots[(v, j)] = self.names.fresh(f"{v}_dot" if self.ndir == 1 else f"{v}_d{j}")
        return self.dots[(v, j)]

    def has(self, op) -> bool:
        return isinstance(op, ir.Var) and op.name in self.an.active

    def tangent_of(self, op):
        if self.has(op):
            return N(self.dot(op.name))
        return ast.Constant(0.0)

    def zero(self, v):
        if self.an.is_scalar(v):
            return ast.Constant(0.0)
        return _call("_rt.zeros_like", N(v))

    # ------------------------------------------------------------------ statements
    def block(self, block) -> list:
        out, last = [], None
        for s in block.stmts:
            loc = getattr(s, "loc", None)
            if loc is not None and (loc.file, loc.line) != last and not (isinstance(s, ir.Assign) and s.phi):
                out.append(comment(f"{loc.text.strip()}    [{_short(loc.file)}:{loc.line}]"))
                last = (loc.file, loc.line)
            out += self.stmt(s)
        return out

    def stmt(self, s) -> list:
        if isinstance(s, ir.Assign):
            out = [assign(s.target, primal_expr(s.value))]
            if s.target in self.an.active:
                for self.j in range(self.ndir):
                    out.append(assign(self.dot(s.target), self.tangent(s)))
            return out
        if isinstance(s, ir.Store):
            out = [ast.Assign([ast.Subscript(N(s.array.name), index_ast(s.index), ast.Store())], op_ast(s.value))]
            if s.array.name in self.an.active:
                for self.j in range(self.ndir):
                    out.append(ast.Assign([ast.Subscript(N(self.dot(s.array.name)), index_ast(s.index), ast.Store())],
                                          self.tangent_of(s.value)))
            return out
        if isinstance(s, ir.If):
            return [ast.If(op_ast(s.cond), self.block(s.body) or [ast.Pass()], self.block(s.orelse))]
        if isinstance(s, ir.For):
            body = self.block(s.body)
            if s.exit is not None:
                body.append(ast.If(op_ast(s.exit), [ast.Break()], []))
            return [ast.For(ast.Name(s.index, ast.Store()), _range(s.start, s.stop, s.step), body or [ast.Pass()], [])]
        if isinstance(s, ir.While):
            cond = [x for x in self.block(s.cond_block) if not _is_comment(x)]
            body = self.block(s.body)
            if s.exit is not None:
                body.append(ast.If(op_ast(s.exit), [ast.Break()], []))
            return cond + [ast.While(op_ast(s.cond), body + cond, [])]
        raise TypeError(s)

    def tangent(self, s: ir.Assign):
        v = s.value
        if isinstance(v, ir.Var):
            return self.tangent_of(v)
        if isinstance(v, ir.Const):
            return ast.Constant(0.0)
        if isinstance(v, ir.Load):
            return ast.Subscript(N(self.dot(v.array.name)), index_ast(v.index), ast.Load())
        if isinstance(v, ir.Raw):      # an active array allocated by a constructor
            return self.zero(s.target)
        r = v.rule
        if r.kind == "partials":
            mapping = {p: op_ast(a) for p, a in zip(r.params, v.args)}
            mapping["out"] = N(s.target)
            terms = []
            for i, a in enumerate(v.args):
                if self.has(a) and r.exprs[i] is not None:
                    partial = substitute(r.exprs[i], mapping)
                    d = N(self.dot(a.name))
                    if isinstance(partial, ast.Constant) and partial.value == 1:
                        terms.append(d)
                    elif isinstance(partial, ast.UnaryOp) and isinstance(partial.operand, ast.Constant) \
                            and partial.operand.value == 1:
                        terms.append(ast.UnaryOp(ast.USub(), d))
                    else:
                        terms.append(ast.BinOp(partial, ast.Mult(), d))
            if not terms:
                return ast.Constant(0.0)
            out = terms[0]
            for t in terms[1:]:
                out = _add(out, t)
            return out
        # vjp rules: the array primitives are linear or bilinear in their arguments
        if _is_linear(r.key):
            args = [self.tangent_of(v.args[0])] + [op_ast(a) for a in v.args[1:]]
            return primal_expr(ir.Prim(r, tuple(_Tmp(a) for a in args)))
        if r.key == "matmul" or r.key is _np_dot():
            a, b = v.args
            terms = []
            if self.has(a):
                terms.append(primal_expr(ir.Prim(r, (_Tmp(N(self.dot(a.name))), _Tmp(op_ast(b))))))
            if self.has(b):
                terms.append(primal_expr(ir.Prim(r, (_Tmp(op_ast(a)), _Tmp(N(self.dot(b.name)))))))
            return terms[0] if len(terms) == 1 else _add(terms[0], terms[1])
        raise NoDerivativeRuleError(
            f"`{r.name}` has a reverse-mode rule (vjp) but no forward-mode tangent", s.loc,
            "use grad/value_and_grad for this function, or declare the function's partials instead")

    # ------------------------------------------------------------------ functions
    def build_grad(self, name: str) -> ast.FunctionDef:
        """`name(params..., _seed) -> (value, (d value / d p for p in argnums) * _seed)`: the
        signature of a stack-free reverse-mode vjp, computed in one forward sweep."""
        fn = self.fn
        body = []
        for j, i in enumerate(fn.argnums):
            p = fn.params[i].name
            for self.j in range(self.ndir):
                body.append(assign(self.dot(p), ast.Constant(1.0 if self.j == j else 0.0)))
        body += self.block(fn.body)
        seed = self.names.fresh("_seed")
        grads = []
        for self.j in range(self.ndir):
            t = self.tangent_of(fn.result)
            grads.append(ast.BinOp(t, ast.Mult(), N(seed)))
        body.append(ast.Return(ast.Tuple([op_ast(fn.result), ast.Tuple(grads, ast.Load())], ast.Load())))
        params = [p.name for p in fn.params] + [seed]
        return ast.FunctionDef(name=name, args=ast.arguments([], [ast.arg(p) for p in params], None, [], [], None, []),
                               body=body, decorator_list=[N("_jit")], returns=None, type_params=[])

    def build(self, name: str, plain: bool) -> ast.FunctionDef:
        fn = self.fn
        body = self.block(fn.body)
        res = fn.result
        value = op_ast(res)
        tangent = self.tangent_of(res)
        ret = tangent if plain else ast.Tuple([value, tangent], ast.Load())
        body.append(ast.Return(ret))
        params = [p.name for p in fn.params] + [self.dot(fn.params[i].name) for i in fn.argnums]
        return ast.FunctionDef(name=name, args=ast.arguments([], [ast.arg(p) for p in params], None, [], [], None, []),
                               body=body, decorator_list=[] if plain else [N("_jit")], returns=None,
                               type_params=[])


class _Tmp(ir.Var):
    """An operand that is already an AST expression (for tangent expressions built from rules)."""

    def __init__(self, node):
        object.__setattr__(self, "name", "")
        object.__setattr__(self, "node", node)


def _is_linear(key) -> bool:
    """Array primitives linear in their first argument: the tangent is the op on the tangent."""
    import numpy as np
    return key in _LINEAR or any(key is f for f in (np.sum, np.mean, np.transpose))


def _np_dot():
    import numpy as np
    return np.dot
