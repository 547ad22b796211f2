"""Element-wise adjoint statements run as one loop over the elements.

Called by reverse.py on the adjoint code of each block, in a loop or not (after first.py); it
rewrites that Python AST only.

Why. The adjoint of `a = -k * u - c * v; v = v + dt * a; u = u + dt * v` is a dozen
whole-array statements per reversed trip. Each is a pass over memory and most allocate, so the
derivative of such a time-stepping loop cost 6-10x its primal, where a hand-written adjoint
is one loop over the elements doing the same arithmetic on numbers (2-3x). Outside loops the
same holds once: log-sum-exp's adjoint was five passes over x, and is one.

What. A run of consecutive statements of one list, each of one of the forms

    X = _rt.adjoint_take(E, Y)  /  X = _rt.adjoint_copy(E, Y)    (X, Y arrays; first.py)
    X += E                                                      (X an array)
    s += E    /    s = _rt.unbroadcast(E, t)                     (s, t numbers, E an array: a sum)
    A[1:-1] += E                                                (slices only: a view of A's dimensions)

where E is element-wise (names, numbers, + - * / **, unary -, `_rt.zsafe` and a few NumPy
ufuncs of one argument, optionally inside `_rt.unbroadcast(E, X or Y)`; for the first form
also `_rt.sum_grad(g, x)`, a sum's adjoint, which is the number g; and `_rt.sum_axis_grad(g, x,
axis)`, the adjoint of `np.sum(x, axis)` for x of one or two dimensions and a constant axis,
whose element is g[i] (axis 1), g[j] (axis 0) or the number g), and every array but such a g
has the same number of dimensions, becomes

    _shape = <an array's shape>
    if _shape == <the shape of every other array the run reads or shapes from>
            and (_shape[0],) == g.shape (a sum's adjoint read as g[i]):
        <new arrays for the adjoints the run (re)defines that are read after it>
        for _i in range(_shape[0]):  (one loop per dimension)
            <the same statements on the elements, the sums accumulated>
        <the adjoints re-bound to the new arrays>
    else:
        <the statements as they were>

Why it is the same. With every array of one shape, broadcasting and `unbroadcast` are the
identity, so each statement is independent scalar computations: element i of a statement's
result reads only element i of its operands (and `sum_axis_grad(g, x, 1)`, x of the run's shape
and g of x's first dimension, is g[i] at (i, j): g is only read, never defined by the run, as
it has one dimension fewer). Running the statements element by element does
the same arithmetic on the same numbers in an order that respects every dependence from one
statement to a later one at the same element; arrays from before the run are only read (what
the run defines goes to new arrays, re-bound after the loop), so no element is read after it
is overwritten, except an array the run only adds into (`c_bar += E`, k-means' centroids'
adjoint, one per point): it is updated in place, as `+=` updates it, and its element i is
written once every statement has read it, in the trip over element i, which no other trip
reads. A sum's target may be mentioned by no other statement of the run (it holds a
partial sum inside the loop), and a statement that reads a number the run sums ends it. An
array added into through views (`u_bar[:-2] += a; u_bar[1:-1] += b`, which may overlap) is
neither read nor defined by the run: each element gets the same additions, one at a time, in
another order. Only the order of a sum's additions changes (rounding). Anything else (another shape, arrays of
different dimensions, a form not listed) keeps the statements as they were.
"""
from __future__ import annotations

import ast

from ..codegen.astb import N, S, assign, call, comment, dotted, is_comment, names_in, unbroadcast_args

# NumPy's functions on a number give what they give on each element of an array (math's may
# raise where NumPy gives nan, so they are not here)
ELEMENTWISE_UFUNCS = {"np.sin", "np.cos", "np.tan", "np.exp", "np.log", "np.sqrt", "np.tanh", "np.sinh",
                      "np.cosh", "np.arctan", "np.abs"}
ELEMENTWISE_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_MIN_ARRAY_STMTS = 3        # fewer whole-array statements are not worth a second copy of the code


class _Run:
    """The statements of one run, checked one by one as they are added."""

    def __init__(self, kind):
        self.kind = kind                # name -> its number of dimensions (0: a number), or None
        self.ndim = None                # the arrays' number of dimensions (one for the whole run)
        self.stmts: list = []           # (form, target, element expression, shape source) or a comment
        self.sums: set = set()          # numbers the run sums into
        self.scattered: set = set()     # arrays the run adds into through a slice
        self.mentioned: set = set()     # every name the run's statements mention
        self.defined: set = set()       # arrays the run (re)defines
        self.arrays = 0
        self.original: list = []        # the statements as they were (the fallback)

    def elementwise(self, e) -> bool:
        if isinstance(e, ast.Constant):
            return isinstance(e.value, (int, float)) and not isinstance(e.value, bool)
        if isinstance(e, ast.Name):
            return self.kind(e.id) is not None
        if isinstance(e, ast.BinOp):
            return isinstance(e.op, ELEMENTWISE_BINOPS) and self.elementwise(e.left) and self.elementwise(e.right)
        if isinstance(e, ast.UnaryOp):
            return isinstance(e.op, ast.USub) and self.elementwise(e.operand)
        if isinstance(e, ast.Call) and not e.keywords:
            f = dotted(e.func)
            if f == "_rt.zsafe" and len(e.args) == 2 or f in ELEMENTWISE_UFUNCS and len(e.args) == 1:
                return all(self.elementwise(a) for a in e.args)
            return self.expanded(e) is not None
        return False

    def expanded(self, e):
        """(g, x, kept dimension) for `_rt.sum_axis_grad(g, x, axis)`, the adjoint of
        `np.sum(x, axis)` for x of one or two dimensions and a constant axis: g expanded along
        `axis` to x's shape, so its element at (i, j) is g[i] (axis 1) or g[j] (axis 0), and
        for x of one dimension the number g.  The kept dimension is None for that number."""
        if not (isinstance(e, ast.Call) and dotted(e.func) == "_rt.sum_axis_grad" and len(e.args) == 3
                and not e.keywords and all(isinstance(a, ast.Name) for a in e.args[:2])):
            return None
        g, x, axis = e.args[0].id, e.args[1].id, _constant_int(e.args[2])
        nx, ng = self.kind(x), self.kind(g)
        if nx not in (1, 2) or ng != nx - 1 or axis is None or not -nx <= axis < nx:
            return None
        return g, x, (1 - axis % nx if nx == 2 else None)

    def is_array(self, name) -> bool:
        return self.kind(name) not in (None, 0)

    def full(self, e) -> set:
        """The names of e read element for element (every name but an expanded sum's adjoint)."""
        if self.expanded(e) is not None:
            return {e.args[1].id}
        if isinstance(e, ast.Name):
            return {e.id}
        return set().union(*(self.full(c) for c in ast.iter_child_nodes(e)))

    def has_array(self, e) -> bool:
        return any(self.is_array(n) for n in names_in(e))

    @staticmethod
    def _strip(e, shape: str):
        """E from `_rt.unbroadcast(E, shape)` (the identity when every shape is the same), and g
        from `_rt.sum_grad(g, x)` (which is g)."""
        u = unbroadcast_args(e)
        e = u[0] if u is not None and isinstance(u[1], ast.Name) and u[1].id == shape else e
        if isinstance(e, ast.Call) and dotted(e.func) == "_rt.sum_grad" and len(e.args) == 2 and not e.keywords:
            return e.args[0]        # the adjoint of a sum is its number, broadcast where it is used
        return e

    def _slices(self, index) -> bool:
        """An index of slices only (`[1:-1]`, `[:, 2:]`): a view with the array's dimensions."""
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        bound = lambda b: b is None or _constant_int(b) is not None or \
            (isinstance(b, ast.Name) and self.kind(b.id) == 0)   # noqa: E731
        return all(isinstance(p, ast.Slice) and bound(p.lower) and bound(p.upper) and bound(p.step)
                   for p in parts)

    def match(self, s):
        """(form, target, element expression, shape source) for a statement of the run, or None."""
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.Call) and len(s.value.args) == 2 and not s.value.keywords:
            x, f, (c, y) = s.targets[0].id, dotted(s.value.func), s.value.args
            if f in ("_rt.adjoint_take", "_rt.adjoint_copy") and isinstance(y, ast.Name) \
                    and self.is_array(y.id):
                e = self._strip(c, y.id)
                if self.elementwise(e) and x not in names_in(e):
                    return "define", x, e, y.id
            if unbroadcast_args(s.value) and isinstance(y, ast.Name) and self.kind(y.id) == 0 \
                    and self.kind(x) == 0 and self.elementwise(c) and self.has_array(c) \
                    and x not in names_in(c):
                return "sum=", x, c, None
        if isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add) and isinstance(s.target, ast.Subscript) \
                and isinstance(s.target.value, ast.Name) and self.is_array(s.target.value.id) \
                and self._slices(s.target.slice) and self.elementwise(s.value) \
                and s.target.value.id not in names_in(s.value):
            return "scatter", s.target.value.id, s.value, ast.Subscript(s.target.value, s.target.slice, ast.Load())
        if isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add) and isinstance(s.target, ast.Name):
            x = s.target.id
            e = self._strip(s.value, x)
            if not self.elementwise(e) or x in names_in(e):
                return None
            if self.is_array(x):
                return "add", x, e, x
            if self.kind(x) == 0 and self.has_array(e) and e is not s.value:    # `s += _rt.unbroadcast(E, s)`
                return "sum+", x, e, None
        return None

    def add(self, s) -> bool:
        """Take statement s into the run if it keeps the run's guarantees."""
        if is_comment(s):
            self.stmts.append(s)
            return True
        m = self.match(s)
        if m is None:
            return False
        form, x, e, shape = m
        reads = names_in(e) | (names_in(shape.slice) if form == "scatter" else set())   # slice bounds too
        if reads & (self.sums | self.scattered):        # a partial sum would be read
            return False
        if form == "scatter":
            if x in self.mentioned - self.scattered:     # an array the run only adds into
                return False
        elif x in self.scattered:
            return False
        if form.startswith("sum") and x in self.mentioned:   # read or written by the run already
            return False
        if not form.startswith("sum") and x in self.sums:
            return False
        dims = {self.kind(n) for n in self.full(e) | {x} | ({shape} if isinstance(shape, str) else set())
                if self.is_array(n)}
        if len(dims | ({self.ndim} if self.ndim else set())) != 1:   # broadcasting across dimensions
            return False
        self.ndim = dims.pop()
        if form == "scatter":
            self.scattered.add(x)
        if form.startswith("sum"):
            self.sums.add(x)
        self.mentioned |= reads | {x}
        if form in ("define", "add"):
            self.defined.add(x)
        self.arrays += 1
        self.stmts.append(m)
        return True


class Fuser:
    def __init__(self, kind, fresh, local: set):
        self.kind, self.fresh, self.local = kind, fresh, local

    def rewrite(self, stmts: list) -> list:
        out, i = [], 0
        while i < len(stmts):
            run = _Run(self.kind)
            j = i
            while j < len(stmts) and run.add(stmts[j]):
                j += 1
            while j > i and is_comment(stmts[j - 1]):         # a trailing comment stays outside
                j -= 1
                run.stmts.pop()
            if run.arrays >= _MIN_ARRAY_STMTS:
                run.original = stmts[i:j]
                out += self.fused(run, stmts[j:])
                i = j
            else:
                out.append(stmts[i])
                i += 1
        return out

    def fused(self, run: _Run, rest: list) -> list:
        later = set().union(*(names_in(s) for s in rest)) if rest else set()
        live = sorted(x for x in run.defined if x in later or x not in self.local)
        shape = self.fresh("_shape")
        idx = [self.fresh(v) for v in ("_i", "_j", "_k", "_l")[:run.ndim]] if run.ndim <= 4 else \
            [self.fresh(f"_i{d}") for d in range(run.ndim)]
        at = (N(idx[0]) if len(idx) == 1 else ast.Tuple([N(v) for v in idx], ast.Load()))
        sources: list = []          # arrays read from before the run (their shapes are checked)
        expanded: list = []         # (g, d): a sum's adjoint g read at the run's index in dimension d
        elem: dict = {}             # array the run defined -> its element's variable
        new: dict = {}              # live array the run defines -> the new array it goes to
        body, before, views = [], [], []
        # an array only added into (`x += E`, x from before the run) is updated in place, one
        # element at a time, as the statement itself does; one the run also re-binds goes to a
        # new array
        redefined = {item[1] for item in run.stmts if isinstance(item, tuple) and item[0] == "define"}

        def el(e):
            ex = run.expanded(e)
            if ex is not None:
                g, x, kept = ex
                if x not in sources and x not in elem:
                    sources.append(x)
                if kept is None:
                    return N(g)
                if (g, kept) not in expanded:
                    expanded.append((g, kept))
                return ast.Subscript(N(g), N(idx[kept]), ast.Load())
            if isinstance(e, ast.Name):
                if e.id in elem:
                    return N(elem[e.id])
                if run.is_array(e.id):
                    if e.id not in sources:
                        sources.append(e.id)
                    return ast.Subscript(N(e.id), at, ast.Load())
                return N(e.id)
            if isinstance(e, ast.BinOp):
                return ast.BinOp(el(e.left), e.op, el(e.right))
            if isinstance(e, ast.UnaryOp):
                return ast.UnaryOp(e.op, el(e.operand))
            if isinstance(e, ast.Call):
                return ast.Call(e.func, [el(a) for a in e.args], [])
            return e

        for item in run.stmts:
            if isinstance(item, ast.stmt):              # a comment
                body.append(item)
                continue
            form, x, e, like = item
            if form in ("sum=", "sum+"):
                if form == "sum=":
                    before.append(assign(x, ast.Constant(0.0)))
                body.append(ast.AugAssign(S(x), ast.Add(), el(e)))
                continue
            if form == "scatter":                       # `A[1:-1] += E` through a view made first
                view = self.fresh(f"{x}_view")
                views.append(assign(view, like))
                sources.append(view)
                body.append(ast.AugAssign(ast.Subscript(N(view), at, ast.Store()), ast.Add(), el(e)))
                continue
            value = el(e)
            if form == "add":
                value = ast.BinOp(el(N(x)), ast.Add(), value)
                if x not in elem and x not in redefined:
                    new[x] = x          # added into where it is, as `x += E` does (below)
            if like not in sources and like not in elem:
                sources.append(like)
            if x in live and x not in new:
                new[x] = self.fresh(f"{x}_new")
                before.append(assign(new[x], call("_rt.adjoint_empty", N(like))))
            elem[x] = self.fresh(f"{x}_i")
            body.append(assign(elem[x], value))
        for x in live:
            body.append(ast.Assign([ast.Subscript(N(new[x]), at, ast.Store())], N(elem[x])))
        after = [assign(x, N(new[x])) for x in live if new[x] != x]
        loop = body
        for d in reversed(range(run.ndim)):
            loop = [ast.For(S(idx[d]), call("range", ast.Subscript(N(shape), ast.Constant(d), ast.Load())), loop, [])]
        first, test = shape_check(shape, sources, expanded)
        node = ast.If(test, [comment("the statements below, element by element (all shapes are equal)")]
                      + before + loop + after, run.original)
        node.fused_check = FusedCheck(first, shape, sources, expanded)
        return views + [first, node]


class FusedCheck:
    """What a fused run's `if` tests, kept on the ast.If (`.fused_check`) for passes/inline.py,
    which may replace a source by the arrays it was computed from: `first` is the statement
    `_shape = <sources[0]>.shape`, and the test compares `_shape` with every other source (and
    the expanded sums' adjoints with one dimension of it)."""

    def __init__(self, first, shape, sources, expanded=()):
        self.first, self.shape, self.sources, self.expanded = first, shape, list(sources), list(expanded)
        first.fused_shape = True

    def rebuild(self, node, sources):
        self.sources = list(sources)
        first, node.test = shape_check(self.shape, self.sources, self.expanded)
        self.first.value = first.value


def shape_check(shape: str, sources: list, expanded=()):
    """`_shape = a.shape` and the test `_shape == b.shape == ...` of the arrays `sources`, and
    `(_shape[d],) == g.shape` for each (g, d) in `expanded`."""
    shape_of = lambda a: ast.Attribute(N(a), "shape", ast.Load())  # noqa: E731
    others = [shape_of(a) for a in sources[1:]]
    tests = [ast.Compare(N(shape), [ast.Eq() for _ in others], others)] if others else []
    for g, d in expanded:
        dim = ast.Tuple([ast.Subscript(N(shape), ast.Constant(d), ast.Load())], ast.Load())
        tests.append(ast.Compare(dim, [ast.Eq()], [shape_of(g)]))
    test = ast.BoolOp(ast.And(), tests) if len(tests) > 1 else tests[0] if tests else ast.Constant(True)
    return assign(shape, shape_of(sources[0])), test


def _constant_int(e):
    """The value of an int literal (`1`, `-1`), else None."""
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        v = _constant_int(e.operand)
        return None if v is None else -v
    return e.value if isinstance(e, ast.Constant) and type(e.value) is int else None


def fuse_elementwise(stmts: list, kind, fresh, local: set) -> list:
    """`stmts` (the adjoint of a block inside a loop) with runs of element-wise whole-array
    statements as loops over the elements.  `kind(name)` is a name's number of dimensions (0
    for a number), None when it is not known; `fresh(base)` makes a new name; `local` are the
    adjoints homed in this block (made anew on each execution, so not read after the list)."""
    return Fuser(kind, fresh, local).rewrite(stmts)
