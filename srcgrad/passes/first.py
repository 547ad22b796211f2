"""An array adjoint is made by its first contribution, not zeroed and then added to.

Called by reverse.py on the adjoint code of each block; it rewrites that Python AST only.

Why. The reverse pass gives every array adjoint a zero array where its variable is homed (and
again after a loop-carry), then adds each contribution into it in place:

    a_bar = _rt.zeros_like(a)                   # alloc + a pass writing zeros
    ...                                         # (a_bar not mentioned)
    a_bar += _rt.unbroadcast(_t_bar * 0.001, a_bar)   # alloc of the product + a pass adding it

In a loop over whole arrays that is two passes over memory and an allocation per adjoint and
trip, for nothing: the oscillator of benchmarks/array_loops.py allocated 7 zero arrays per
reversed step.

What. In one statement list, `X = _rt.zeros_like(Y)` followed (with no statement between that
mentions X, nor re-binds Y) by `X += E` becomes

    X = _rt.adjoint_take(E', Y)     when E is a value nothing else holds
    X = _rt.adjoint_copy(E', Y)     otherwise

where E' is E with the shape argument `_rt.unbroadcast(c, X)` read from Y (X's shape is Y's).
Both helpers return what `zeros_like(Y) + E` holds, a fresh array of the adjoint's own type
(take returns E itself when its type and shape are already the adjoint's; copy fills one new
array), so the invariant the in-place `+=` and `X[i] += ...` rely on is kept: no two adjoint
names share an array. E is a value nothing else holds when it is

* an arithmetic expression (`g * p`, `-g`): Numba allocates its result;
* `_rt.zsafe(...)`, `_rt.copy(...)` and the other helpers of `_ALLOCATING`: they allocate;
* `_rt.unbroadcast(c, ...)` of such a c (it returns c, or a new reduced array);
* an adjoint N of this block that no later statement of the list mentions (dead after this,
  since the block re-makes it on every execution) or re-binds before any other mention: N's
  array is handed over, a move.

The only value that can differ is a zero's sign (`0.0 + -0.0` is 0.0; a moved -0.0 stays -0.0).

Later contributions: `X += _rt.matmul_grad_a(g, a, b)` left after the rewrite (X exists
already, e.g. a weight matrix's adjoint summed over a loop's trips) becomes
`_rt.add_matmul_grad_a(X, g, a, b)`, which adds an outer product in place instead of making it
and adding it, and `X += _rt.select_grad(g, x, m)` (the adjoint of `m = np.max(x)`) becomes
`_rt.add_select_grad(X, g, x, m)`, which adds g to the selected elements instead of making an
array of zeros that holds it there (`in_place_contributions`, run on the whole function).
"""
from __future__ import annotations

import ast

from ..codegen.astb import N, assign, call, dotted, names_in, unbroadcast_args

# runtime helpers whose array result is always a new array (np.dot, np.outer, arithmetic, the
# expanded adjoint of np.sum(x, axis), the adjoint of np.max's selection)
_ALLOCATING = {"_rt.zsafe", "_rt.copy", "_rt.matmul_grad_a", "_rt.matmul_grad_b", "_rt.sum_axis_grad",
               "_rt.select_grad"}


def _mentions(node, name: str) -> bool:
    return name in names_in(node)


def _zero_init(s):
    """(X, Y) for `X = _rt.zeros_like(Y)`."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
            and isinstance(s.value, ast.Call) and dotted(s.value.func) == "_rt.zeros_like" \
            and len(s.value.args) == 1 and isinstance(s.value.args[0], ast.Name):
        return s.targets[0].id, s.value.args[0].id
    return None


def _stores(s) -> set:
    return {n.id for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _shape_from(e, x: str, y: str):
    """E with `_rt.unbroadcast(c, X)` read as `_rt.unbroadcast(c, Y)`, or None when E reads X
    any other way."""
    u = unbroadcast_args(e)
    if u is not None and isinstance(u[1], ast.Name) and u[1].id == x:
        inner = _shape_from(u[0], x, y)
        return None if inner is None else ast.Call(e.func, [inner, N(y)], [])
    return None if _mentions(e, x) else e


class _Lists:
    """The rewrite of one statement list: `local` are the adjoints homed in its block (made
    again each time the block's adjoint runs), `bars` every adjoint name.  The names each
    statement mentions and binds are read once (`names`, `stores`, kept in step with `out`):
    a block's list holds its nested loops whole, and every zeroed adjoint looks ahead."""

    def __init__(self, local: set, bars: set):
        self.local, self.bars = local, bars

    def fresh(self, e, start: int) -> bool:
        """Whether E is a value nothing else holds once `out[start:]` runs."""
        if isinstance(e, ast.BinOp) or (isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub)):
            return True
        if isinstance(e, ast.Call):
            u = unbroadcast_args(e)
            return dotted(e.func) in _ALLOCATING or (u is not None and self.fresh(u[0], start))
        if isinstance(e, ast.Name) and e.id in self.bars:
            k = self._next_mention(e.id, start)
            if k is None:
                return e.id in self.local
            later = self.out[k]
            return (isinstance(later, ast.Assign) and len(later.targets) == 1
                    and isinstance(later.targets[0], ast.Name) and later.targets[0].id == e.id
                    and not _mentions(later.value, e.id))
        return False

    def _next_mention(self, name: str, start: int):
        return next((k for k in range(start, len(self.out)) if name in self.names[k]), None)

    def rewrite(self, stmts: list) -> list:
        self.out = list(stmts)
        self.names = [names_in(s) for s in self.out]
        self.stores = [_stores(s) for s in self.out]
        i = 0
        while i < len(self.out):
            m = _zero_init(self.out[i])
            if m is not None and self._first(i, *m):
                for seq in (self.out, self.names, self.stores):
                    del seq[i]
                continue
            i += 1
        return self.out

    def _first(self, i, x, y) -> bool:
        out = self.out
        j = self._next_mention(x, i + 1)
        if j is None or any(y in st for st in self.stores[i + 1:j]):
            return False
        s = out[j]
        if not (isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add) and isinstance(s.target, ast.Name)
                and s.target.id == x):
            return False
        e = _shape_from(s.value, x, y)
        if e is None:
            return False
        how = "_rt.adjoint_take" if self.fresh(e, j + 1) else "_rt.adjoint_copy"
        out[j] = ast.copy_location(assign(x, call(how, e, N(y))), s)
        self.names[j], self.stores[j] = names_in(out[j]), _stores(out[j])
        return True


def first_contributions(stmts: list, local: set, bars: set) -> list:
    """`stmts` (one block's adjoint) with array adjoints made by their first contribution."""
    return _Lists(local, bars).rewrite(stmts)


# contributions that have a runtime helper adding them in place: helper -> (in-place helper, its arity)
_ADDED_IN_PLACE = {"_rt.matmul_grad_a": ("_rt.add_matmul_grad_a", 3),
                   "_rt.select_grad": ("_rt.add_select_grad", 3)}


class _InPlace(ast.NodeTransformer):
    def visit_AugAssign(self, s):
        how = _ADDED_IN_PLACE.get(dotted(s.value.func)) if isinstance(s.value, ast.Call) else None
        if how is not None and isinstance(s.op, ast.Add) and isinstance(s.target, ast.Name) \
                and len(s.value.args) == how[1] and not s.value.keywords and not _mentions(s.value, s.target.id):
            return ast.copy_location(ast.Expr(call(how[0], N(s.target.id), *s.value.args)), s)
        return s


def in_place_contributions(stmts: list) -> list:
    """`stmts` with `X += _rt.matmul_grad_a(...)` or `X += _rt.select_grad(...)` added in place
    (see the module's docstring)."""
    mod = _InPlace().visit(ast.Module(list(stmts), []))
    return mod.body
