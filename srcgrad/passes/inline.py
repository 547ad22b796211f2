"""Forward sweep: an element-wise array temporary is written back into the expression that reads it.

Called by reverse.py on the finished function (its forward and adjoint statement lists, after
fuse.py); it rewrites that Python AST only.

Why. Lowering names every operation (`_t_3 = 2.0 * _t_2; _t_4 = _t_1 - _t_3`), and Numba
fuses the operations of one expression into one loop, not those of several statements: each
named whole-array temporary is an allocation and a pass over memory. The heat equation's step
`u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])` is one array expression in the
primal and was five new arrays per step in the forward sweep.

What. A forward statement `T = E` is removed and `(E)` written where T is read, when

* T is a float array, E is element-wise (names, numbers, + - * / **, unary -, the NumPy
  ufuncs of fuse.py) and every array E reads has T's number of dimensions;
* T is assigned once in the whole function and read once in the forward sweep: by a later
  statement of the same list, at an element-wise position of its right-hand side;
* the statements in between only bind names that E does not read, to values that write no
  memory (views, arithmetic, NumPy functions without `out=`);
* the adjoint reads T only for its shape and type: as a source of a fused run's shape check
  (fuse.py's `FusedCheck`), or as the "like" argument of `_rt.unbroadcast`, `adjoint_take`,
  `adjoint_copy`, `adjoint_empty` or `zeros_like` in that run's fallback branch.

The shape check then tests the arrays E reads instead of T, and the fallback branch first
computes T again from the same names.

Why it is the same. The forward: E is evaluated where T was read, after statements that
neither write memory nor re-bind E's names, so it computes the same numbers, and T's value was
read nowhere else. The adjoint: when E's arrays all have the run's shape, so has T (a
broadcast of arrays of one shape); when they do not, the fallback runs, which is right for any
shapes (if T alone had the run's shape, the fused loop would have been right too; it is only
slower). The fallback reads T for its shape and type only, and the names E reads hold, there,
values of the same shapes and types as when T was computed (a value restored from the tape, the
last trip's value of a forward temporary, or one the loop never changes), so the T it computes
has T's shape and type: the same `like` the code read before.
"""
from __future__ import annotations

import ast
import copy

from ..codegen.astb import assign, comment, dotted, is_comment, names_in
from .fuse import ELEMENTWISE_BINOPS, ELEMENTWISE_UFUNCS

# runtime functions whose last argument is read for its shape and type only
_LIKE = {"_rt.unbroadcast": 1, "_rt.adjoint_take": 1, "_rt.adjoint_copy": 1, "_rt.adjoint_empty": 0,
         "_rt.zeros_like": 0}
# forward calls that write no memory (besides NumPy's functions without `out=`)
_PURE_RT = {"_rt.carried", "_rt.copy", "_rt.trip_count", "_rt.cast_like"}


def _elementwise(e, ok_name) -> bool:
    if isinstance(e, ast.Constant):
        return isinstance(e.value, (int, float)) and not isinstance(e.value, bool)
    if isinstance(e, ast.Name):
        return ok_name(e.id)
    if isinstance(e, ast.BinOp):
        return isinstance(e.op, ELEMENTWISE_BINOPS) and _elementwise(e.left, ok_name) and _elementwise(e.right, ok_name)
    if isinstance(e, ast.UnaryOp):
        return isinstance(e.op, ast.USub) and _elementwise(e.operand, ok_name)
    if isinstance(e, ast.Call) and not e.keywords and len(e.args) == 1:
        return dotted(e.func) in ELEMENTWISE_UFUNCS and _elementwise(e.args[0], ok_name)
    return False


def _writes_nothing(s) -> bool:
    """A statement that binds names and writes no memory."""
    if is_comment(s):
        return True
    if not (isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets)):
        return False
    for n in ast.walk(s.value):
        if isinstance(n, ast.Call):
            f = dotted(n.func) or ""
            if any(k.arg == "out" for k in n.keywords) or not (f.startswith("np.") or f in _PURE_RT):
                return False
    return True


class _Uses(ast.NodeVisitor):
    """Every load of a name in the adjoint, sorted into reads of its shape and type only, in a
    fused run's check or its fallback (`shape`, `like`), and any other read (`value`)."""

    def __init__(self):
        self.shape: dict = {}        # name -> the fused ifs whose check tests it
        self.like: dict = {}         # name -> the fused ifs whose fallback reads it as a like
        self.value: set = set()
        self.fallback = None         # the fused if whose fallback is being visited

    def visit_Assign(self, node):
        if not getattr(node, "fused_shape", False):     # `_shape = a.shape`: counted with its if
            self.generic_visit(node)

    def visit_If(self, node):
        check = getattr(node, "fused_check", None)
        if check is None:
            return self.generic_visit(node)
        for src in check.sources:
            self.shape.setdefault(src, []).append(node)
        for s in node.body:
            self.visit(s)
        outer, self.fallback = self.fallback, node
        for s in node.orelse:
            self.visit(s)
        self.fallback = outer

    def visit_Call(self, node):
        pos = _LIKE.get(dotted(node.func))
        if pos is not None and self.fallback is not None and len(node.args) == pos + 1 and not node.keywords \
                and isinstance(node.args[pos], ast.Name):
            self.like.setdefault(node.args[pos].id, []).append(self.fallback)
            for a in node.args[:pos]:
                self.visit(a)
            return
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.value.add(node.id)


def _counts(stmts) -> tuple[dict, dict]:
    stores, loads = {}, {}
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name):
                d = loads if isinstance(n.ctx, ast.Load) else stores
                d[n.id] = d.get(n.id, 0) + 1
    return stores, loads


class _Substitute(ast.NodeTransformer):
    def __init__(self, name, expr):
        self.name, self.expr, self.done = name, expr, 0

    def visit_Name(self, node):
        if node.id == self.name and isinstance(node.ctx, ast.Load):
            self.done += 1
            return self.expr
        return node


class Inliner:
    def __init__(self, forward: list, adjoint: list, array_kind):
        self.kind = array_kind                   # name -> (ndim, dtype code) or None
        self.stores, _ = _counts(forward + adjoint)
        _, self.loads = _counts(forward)
        self.uses = _Uses()
        for s in adjoint:
            self.uses.visit(s)
        self.written = {s.targets[0].id: copy.deepcopy(s.value) for s in _assigns(forward)}   # T -> E as lowered
        self.inlined: dict = {}                  # T -> E as lowered (for the fallback)
        self.leaves: dict = {}                   # T -> the arrays its value is computed from

    def candidate(self, s):
        """(T, E) when `s` is `T = E` and T may go, else None."""
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
            return None
        t = s.targets[0].id
        k = self.kind(t)
        if k is None or k[0] < 1 or k[1] != "f" or self.stores.get(t) != 1 or self.loads.get(t) != 1 \
                or t in self.uses.value:
            return None
        if not _elementwise(s.value, lambda n: self.kind(n) is not None and self.kind(n)[0] in (0, k[0])):
            return None
        return t, s.value

    def rewrite(self, stmts: list) -> list:
        out = list(stmts)
        i = 0
        while i < len(out):
            s = out[i]
            if isinstance(s, (ast.For, ast.While, ast.If)):
                s.body, s.orelse = self.rewrite(s.body), self.rewrite(s.orelse)
            c = self.candidate(s)
            if c is not None and self._inline(out, i, *c):
                del out[i]
                continue
            i += 1
        return out

    def _inline(self, stmts, i, t, e) -> bool:
        """Write `e` into the statement after `stmts[i]` that reads `t`, if nothing between
        writes memory or re-binds a name `e` reads."""
        reads = names_in(e)
        for s in stmts[i + 1:]:
            if t in names_in(s):
                return self._into(s, t, e)
            if not _writes_nothing(s) or not is_comment(s) and names_in(s.targets[0]) & reads:
                return False
        return False

    def _into(self, s, t, e) -> bool:
        """Write `e` for the one read of `t` in `s`, if that read is at an element-wise position."""
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1):
            return False
        tg = s.targets[0]
        if not (isinstance(tg, ast.Name) or isinstance(tg, ast.Subscript) and t not in names_in(tg)) \
                or not _elementwise(s.value, lambda n: True):
            return False
        leaves = []
        for n in _ordered_names(e):
            for leaf in self.leaves.get(n, [n] if self.kind(n)[0] > 0 else []):
                if leaf not in leaves:
                    leaves.append(leaf)
        if not leaves:
            return False
        sub = _Substitute(t, e)
        s.value = sub.visit(s.value)
        assert sub.done == 1
        self.inlined[t], self.leaves[t] = self.written[t], leaves
        return True

    def finish(self):
        """The adjoint's fused checks and fallbacks, for the temporaries that went."""
        if not self.inlined:
            return
        order = list(self.inlined)
        ifs = {id(node): node for d in (self.uses.shape, self.uses.like) for t in self.inlined
               for node in d.get(t, [])}
        for node in ifs.values():
            check = node.fused_check
            sources = []
            for src in check.sources:
                for a in self.leaves.get(src, [src]):
                    if a not in sources:
                        sources.append(a)
            if sources != check.sources:
                check.rebuild(node, sources)
            need = {t for t in self.inlined if node in self.uses.like.get(t, [])}
            grow = True
            while grow:
                more = {n for t in need for n in names_in(self.inlined[t]) if n in self.inlined} - need
                grow, need = bool(more), need | more
            if need:
                again = [t for t in order if t in need]
                node.orelse = [comment("for their shapes only (the forward sweep computed them inside the "
                                       "expression that reads them): " + ", ".join(again))] + \
                    [assign(t, copy.deepcopy(self.inlined[t])) for t in again] + node.orelse


def _assigns(stmts):
    """Every `name = value` statement in `stmts` and the statement lists nested in them."""
    for s in stmts:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            yield s
        if isinstance(s, (ast.For, ast.While, ast.If)):
            yield from _assigns(s.body + s.orelse)


def _ordered_names(e) -> list:
    """The names an element-wise expression reads, in order, once each (not the functions it calls)."""
    if isinstance(e, ast.Name):
        return [e.id]
    parts = [e.left, e.right] if isinstance(e, ast.BinOp) else [e.operand] if isinstance(e, ast.UnaryOp) \
        else e.args if isinstance(e, ast.Call) else []
    return list(dict.fromkeys(n for p in parts for n in _ordered_names(p)))


def inline_forward(forward: list, adjoint: list, array_kind) -> list:
    """`forward` with element-wise array temporaries written into their one reader; the
    adjoint's fused checks and fallbacks in `adjoint` are rewritten to match, in place.
    `array_kind(name)` is a name's (number of dimensions, dtype code "f"/"i"/"b"), None when
    it is not a value of the IR."""
    inl = Inliner(forward, adjoint, array_kind)
    out = inl.rewrite(forward)
    inl.finish()
    return out
