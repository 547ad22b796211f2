"""A generator of random whole-array NumPy programs (the array twin of gen.py).

Like gen.py it is driven by a `draw(lo, hi) -> int` callback (Hypothesis' `data.draw` of an
integer, or a `random.Random`), so one code path serves the Hypothesis test, the long mode and
reproduction from a seed.

A program is a module holding helpers `h0`, `h1`, ... (array and scalar parameters, an array
or scalar result) and the main function

    f(s0, s1, x, y, A[, c, r])      s0, s1 floats; x (4,), y (3,), A (3, 4); c (3, 1), r (1, 4)

which returns one float.  Generation is type-directed: every expression is generated for a
concrete NumPy shape, and binary operations pick operand shapes that broadcast to it (both
directions: scalar-array, (4,)-(3, 4), (3, 1)-(1, 4), ...), so every program runs in CPython.

Construct families are switched by *features* (`generate(draw, features=...)`, or the
`FUZZ_FEATURES` environment variable, see `features_from_env`).  The default set is what
srcgrad is expected to differentiate today, so that the CI test stays green; the other
families are off until srcgrad supports them, and the lead turns them on as they land:

    FUZZ_FEATURES=slices,carried_arrays      the default set plus two families
    FUZZ_FEATURES=all,-aliasing              every family but one
    FUZZ_FEATURES=none,reductions            exactly one family

Two kinds of switches are off by default: families srcgrad refuses today (issues 17, 22) and
*bug* switches, each named after a bug the fuzzer found and documented in BUG_FEATURES and
tests/fuzz/array_regressions.py: with the switch off the generator avoids precisely the
pattern that trips the bug; turn it on once the regression test passes.

Values stay in a sane range the way gen.py keeps them: `exp` only of bounded arguments
(`np.exp(np.tanh(e))`), `log` and `sqrt` only of `1 + e*e`, `2 + sin(e)`, `0.5 + e*e`,
divisions only by `1.5 + cos(e)`.  Kinks (`np.abs`, `np.maximum`, `np.minimum`, the conditions
of `np.where` and `if`) are left in: the oracle tracks which side every element takes.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import itertools
import os
import random
from dataclasses import dataclass, field

import numpy as np

N = 4            # length of x, columns of A
M = 3            # length of y, rows of A

# family -> what it generates.  Default-on families first.
FEATURES: dict[str, str] = {
    "reductions": "np.sum/np.mean of whole arrays and with axis=0/1/-1, element reads x[0], A[i, j], x[-1]",
    "rowcol": "2-D row/column vector arguments c (3, 1), r (1, 4) and (3, 1)-(1, 4) broadcasting",
    "matmul": "@ and np.dot: matrix-vector, vector-matrix, vector-vector, matrix-matrix; .T",
    "kinks": "np.abs, np.maximum, np.minimum, np.where(l < r, a, b)",
    "element_writes": "local arrays written element by element: buf = np.zeros(n), buf[i] = ..., buf[i, j] += ...",
    "element_loops": "for/while loops over indices (with break/continue) carrying scalars, reading/writing elements",
    "helpers": "helper functions taking and returning arrays and scalars (inlined by srcgrad); in loop "
               "bodies only with loop_array_temps (their array temporaries)",
    "branches": "if/else on scalar conditions (reductions, element reads), early returns",
    "array_aug": "augmented assignments v += e, v *= e on local arrays outside loops",
    # off by default: refused by srcgrad today
    "slices": "slice reads x[1:] - x[:-1], A[:, j], A[i, :], A[1:, :2], x[::-1]; slice writes buf[1:3] = e",
    "loop_array_temps": "whole-array values computed inside loop bodies (s += np.sum(np.tanh(x * s)), A.T @ y, "
                        "w = x * s local to the body): refused today as 'the array _t is re-assigned inside "
                        "a loop'. Off: loop bodies read arrays by name only (np.sum(x), x @ y, x[i]).",
    "carried_arrays": "for loops that re-bind whole arrays (u = u + 0.1 * g(u)), with array temporaries in "
                      "their bodies",
    "inplace_arrays": "in-place updates of whole arrays inside loops: u += 0.1 * e, u *= ...",
    "carried_while": "arrays carried through while loops and through loops left by break/continue",
    "aliasing": "aliases of local arrays (old = w) followed by in-place updates of either name",
    "tuple_helpers": "helpers returning a tuple, called as a, b = h(...)",
    "methods": "x.sum(), x.mean(), A.sum(axis=k)",
    "keepdims": "np.sum(A, axis=k, keepdims=True) (and A.sum(axis=k, keepdims=True) with methods)",
    "checkpointed_loops": "outermost for loops without break/continue/return run under "
                          "srcgrad.checkpoint(range(...), every=1..3), carrying and writing arrays",
    "reads_written_after_loops": "a loop reads elements, slices or whole-array expressions (np.sum(z * z)) of a "
                                 "local array or of a view of it (z = v[1:], v[::-1], m[1, :], m[:, 2], "
                                 "m[1:, 2:], z = v) and uses them nonlinearly (s = s + a * a * x[0]); after the "
                                 "loop the same memory is written (element and slice writes through the array, "
                                 "the view or another view, z += e, writes in a later loop): the adjoint must "
                                 "see what the loop read. With checkpointed_loops the reading loop is often "
                                 "srcgrad.checkpoint(range(n), every=k), whose adjoint runs it again.",
}

# patterns that were bugs, now fixed and generated by default (their repros stay in
# array_regressions.py); each name still switches its pattern off ("-axis_minus_two")
FIXED_BUGS: dict[str, str] = {
    "write_after_whole_read": "element writes into a local array after a whole-array operation read it "
                              "(or into the result of exp/tanh/sqrt, whose derivatives read their output), "
                              "also in a later iteration of a loop: the adjoint reads the array as the "
                              "writes left it. Off: only arrays from np.zeros/ones/zeros_like/.copy() take "
                              "element writes, and only until they are read whole.",
    "scalar_local_meets_array": "a scalar local meeting an array in an elementwise operation: computed from "
                                "arrays (a reduction, an element read, a dot product, arithmetic on those, "
                                "a helper's scalar parameter: d = x - np.mean(x), x * A[0, 1], m -= np.sum(y)) "
                                "it gives wrong gradients or iadd(float64, array) in Numba (issue 15); "
                                "inside an if or a loop even t = math.sin(s); v *= t crashes (Cannot unify "
                                "float64 and array for t_bar). Off: scalars meeting arrays are f's "
                                "parameters, literals and loop counters, and at the top level also locals "
                                "computed from those.",
    "scalar_where": "np.where with scalar operands: Numba returns a 0-d array (Cannot unify array(float64, 0d) "
                    "and float64; math.tanh of it has no implementation). Off: np.where of arrays only.",
    "adjoint_alias": "an array sum hands its adjoint to a local array operand by reference (v_bar = w_bar) "
                     "and to another operand (_t_bar = w_bar); updating v_bar in place then changes the "
                     "other: v + v * np.sin(v), t = u * np.sin(x); u + t, v += v * e give wrong "
                     "gradients. Off: such sums (a local array summand next to another local array, or "
                     "next to an operation with it as a direct operand) are written as differences.",
    "early_return_with_array_local": "an early return (outside loops) while a local array exists that the "
                                     "return's path does not read: Cannot unify float64 and array for "
                                     "v_bar (if s > 0: return 2 * s after v = np.sin(x)). Off: early "
                                     "returns only before the first local array.",
    "vector_dot_is_array": "a vector-vector product (x @ y, np.dot(x, y)) is typed as an array: returning it "
                           "is refused as 'returns an array' (the error names another return statement), "
                           "and inside a loop it is refused as an array re-assigned in the loop. Off: such "
                           "returns are written 1.0 * (x @ x); no vector products in loop bodies.",
    "axis_minus_two": "np.sum/np.mean(e, axis=-2) of a 2-D array: the gradient is laid out along the wrong "
                      "axis. Off: axis=0 is written instead.",
    "rebind_array_in_branch": "an array re-bound inside an if/else branch to a value not computed from its old "
                              "one (v = x * s; v = x): Cannot unify array and float64 for v_bar. Off: "
                              "branches re-bind arrays only as v = v ± 0.1 * e or 0.5 * v + 0.5 * np.tanh(e).",
    "mean_axis_of_expression": "np.mean(e, axis=k) of an expression (not a name): refused with "
                               "'indexing the result of an expression'. Off: np.mean with axis of names only.",
    "transpose_of_expression": "(e).T of an expression: refused with 'indexing the result of an "
                               "expression'. Off: .T of names only.",
    "helper_in_condition": "a helper call, or np.mean/np.max with axis=, inside a comparison (an if/while "
                           "condition or np.where's): refused as 'assign the helper's result to a variable "
                           "first', and np.mean(A, axis=1) < x[k] crashed Numba (no axis= in its np.mean). "
                           "Off: conditions without helper calls.",
}
FEATURES.update(FIXED_BUGS)

# bug switches: off until srcgrad is fixed (see array_regressions.py for the minimal repros);
# with one off, the generator avoids precisely the pattern that trips the bug
BUG_FEATURES: dict[str, str] = {}

# documented limitations, never generated unless asked for
LIMITS: dict[str, str] = {}

DEFAULT = frozenset(["reductions", "rowcol", "matmul", "kinks", "element_writes", "element_loops",
                     "helpers", "branches", "array_aug", "carried_arrays", "aliasing", "inplace_arrays",
                     "loop_array_temps", "slices", "tuple_helpers", "methods", "keepdims", "carried_while",
                     "helper_in_condition", "checkpointed_loops", "reads_written_after_loops"]
                    + list(FIXED_BUGS))
ALL = frozenset(FEATURES) | frozenset(BUG_FEATURES)
KNOWN = ALL | frozenset(LIMITS)


def parse_features(spec: str | None) -> frozenset:
    """`"slices,-kinks"` -> DEFAULT plus slices minus kinks; `all`, `none`, `default` reset the set."""
    out = set(DEFAULT)
    if not spec:
        return frozenset(out)
    for tok in (t.strip() for t in spec.split(",")):
        if not tok:
            continue
        if tok in ("all", "none", "default"):
            out = set({"all": ALL, "none": (), "default": DEFAULT}[tok])
            continue
        name = tok.lstrip("+-")
        if name not in KNOWN:
            raise ValueError(f"unknown fuzz feature {name!r}; known: {', '.join(sorted(KNOWN))}")
        (out.discard if tok.startswith("-") else out.add)(name)
    return frozenset(out)


def features_from_env() -> frozenset:
    return parse_features(os.environ.get("FUZZ_FEATURES"))


@dataclass
class Program:
    source: str                       # the module text
    params: list                      # [(name, shape)] of f, shape () for floats
    features: frozenset = field(default_factory=frozenset)

    def __str__(self):
        return self.source

    def __repr__(self):               # Hypothesis prints this for a falsifying example
        return f"Program(features={sorted(self.features)}, source=\n{self.source})"


def broadcast(a, b):
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


def is_view(code: str) -> bool:
    """Does the expression evaluate to a view of (or the same object as) an existing array?"""
    node = ast.parse(code, mode="eval").body
    while True:
        if isinstance(node, ast.Name):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "T":
            node = node.value
        elif isinstance(node, ast.Subscript):
            sl = node.slice
            parts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            # a basic index with a slice, or fewer indices than dimensions, is a view; an
            # element read is a scalar, which is never mutated in place
            if not any(isinstance(p, ast.Slice) for p in parts):
                return False
            node = node.value
        else:
            return False


@functools.lru_cache(maxsize=None)
def _broadcast_tables(shapes):
    """For each shape s: the operand pairs that broadcast to s, and the shapes that broadcast into s."""
    pairs = {s: [(a, b) for a in shapes for b in shapes if broadcast(a, b) == s] for s in shapes}
    sub = {s: [a for a in shapes if broadcast(a, s) == s] for s in shapes}
    return pairs, sub


@dataclass
class Var:
    name: str
    shape: tuple


class _Scope:
    """Names readable here; `mutable` are locals that may be re-assigned.  `roots` (shared by
    a function's scopes) maps an array name to the set of objects it may name (parameters'
    names and fresh ids), see `array_mutable`."""

    def __init__(self, vars, mutable, roots, indices, loop, nested, can_return, params):
        self.vars, self.mutable, self.roots = vars, mutable, roots
        self.indices, self.loop, self.nested, self.can_return = indices, loop, nested, can_return
        self.params = params

    def child(self, loop=None, nested=True):
        return _Scope(list(self.vars), list(self.mutable), self.roots, list(self.indices),
                      loop if loop is not None else self.loop, nested, self.can_return, self.params)

    def shape_of(self, name):
        for v in self.vars:
            if v.name == name:
                return v.shape
        raise KeyError(name)

    def of_shape(self, shape):
        return [v.name for v in self.vars if v.shape == shape]


@dataclass
class _Loop:
    kind: str             # "for" or "while"
    may_exit: bool        # break/continue may be generated in its body
    carry_ok: bool        # whole arrays may be re-bound or updated in its body
    parent: "_Loop | None" = None
    written: set = field(default_factory=set)   # arrays its body writes element by element


@dataclass
class _Helper:
    name: str
    params: list          # shapes
    ret: tuple | list     # a shape, or a list of shapes for a tuple-returning helper


class _Gen:
    def __init__(self, draw, features=DEFAULT, max_stmts=5, max_depth=2, n_helpers=None):
        self.draw = draw
        self.f = frozenset(features)
        self.max_stmts = max_stmts
        self.max_depth = max_depth
        self.n_helpers = n_helpers
        self.counter = 1                      # fresh names start at s2: s0, s1 are f's parameters
        self.helpers: list[_Helper] = []
        self.writable: set = set()            # arrays element writes may go to (see `whole`)
        self.write_target: set = set()        # the array the statement being generated writes
        self.pure: set = set()                # scalar names computed from parameters and literals only
        self.dot_names: set = set()           # scalar names bound to a vector-vector product
        self.local_arrays: set = set()        # array names that are not f's parameters
        self.pure_mode = False                # generating a scalar that may meet an array
        self.loop_mode = False                # inside a loop body that may not compute arrays
        self.in_loop = False                  # inside a loop body (or a loop's condition)
        self.nested_now = False               # inside an if or a loop
        self.always_pure: set = set()
        shapes = [(), (N,), (M,), (M, N)]
        if "matmul" in self.f:
            shapes.append((N, M))
        if "rowcol" in self.f or "keepdims" in self.f:
            shapes += [(M, 1), (1, N)]
        self.U = shapes                        # shapes of locals and of generated expressions
        self.pairs, self.sub = _broadcast_tables(tuple(shapes))

    def on(self, feature):
        return feature in self.f

    # -- small helpers --------------------------------------------------------------------
    def pick(self, seq):
        return seq[self.draw(0, len(seq) - 1)]

    def chance(self, percent):
        return self.draw(0, 99) < percent

    def fresh(self, shape=()):
        self.counter += 1
        return f"{'s' if shape == () else 'v' if len(shape) == 1 else 'm'}{self.counter}"

    def const(self):
        return self.pick(["0.5", "1.5", "-0.7", "2.0", "0.25", "-1.25", "0.1"])

    def pick_shape(self, scalar_weight=3):
        return self.pick([()] * scalar_weight + [s for s in self.U if s != ()] + [(N,), (M, N)])

    # -- expressions ----------------------------------------------------------------------
    def expr(self, sc, shape, depth=0):
        if self.loop_mode and shape != ():
            return self.loop_array(sc, shape)
        if depth >= 3 or self.chance(25 + 20 * depth):
            return self.leaf(sc, shape, depth)
        d = depth + 1
        opts = ["unary"] * 3 + ["binary"] * 5 + ["div", "pow"]
        if self.on("kinks"):
            opts += ["abs", "maxmin"]
            if shape != () or (self.on("scalar_where") and not self.pure_mode):
                opts += ["where"]
        if shape == ():
            if not self.pure_mode:
                if self.on("reductions") and self.array_sources(sc):
                    opts += ["reduce"] * 3
                if self.on("matmul") and self.vector_sizes(sc):
                    opts += ["vecdot"]
        elif len(shape) == 1:
            if self.on("reductions"):
                opts += ["reduce_axis"]
            if self.on("matmul"):
                opts += ["matvec"] * 2
        else:
            if self.on("matmul"):
                opts += ["matmul"] + (["transpose"] if shape[::-1] in self.U else [])
            if self.on("keepdims") and 1 in shape:
                opts += ["keepdims"]
        if any(h.ret == shape for h in self.helpers) and not self.pure_mode and not self.loop_mode:
            opts += ["call"] * 2
        k = self.pick(opts)
        e = lambda s=shape: self.expr(sc, s, d)  # noqa: E731
        op = lambda s: self.operand(sc, s, shape, d)  # noqa: E731
        if k == "unary":
            return self.unary(e(), shape)
        if k == "binary":
            a, b = self.pick_pair(shape)
            code = f"({op(a)} {self.pick(['+', '-', '*', '*'])} {op(b)})"
            return self.unaliased(code) if shape != () else code
        if k == "div":
            a, b = self.pick_pair(shape)
            return f"({op(a)} / (1.5 + np.cos({op(b)})))"
        if k == "pow":
            a, b = self.pick_pair(shape)
            return f"((1.5 + np.sin({op(a)})) ** np.tanh({op(b)}))"
        if k == "abs":
            return f"np.abs({e()})"
        if k == "maxmin":
            a, b = self.pick_pair(shape)
            return f"np.{self.pick(['maximum', 'minimum'])}({op(a)}, {op(b)})"
        if k == "where":
            a, b = self.pick_pair(shape)
            c1, c2 = self.pick(self.sub[shape]), self.pick(self.sub[shape])
            with self.no_helpers():     # a comparison is a condition for srcgrad too
                cond = f"({e(c1)}) < ({e(c2)})"
            return f"np.where({cond}, {op(a)}, {op(b)})"
        if k == "reduce":
            return self.reduce(e(self.pick(self.array_sources(sc))))
        if k == "vecdot":
            n = self.pick(self.vector_sizes(sc))
            a, b = e((n,)), e((n,))
            return self.pick([f"({a} @ {b})", f"np.dot({a}, {b})"])
        if k == "reduce_axis":
            return self.reduce_axis(sc, shape, d)
        if k == "matvec":
            return self.matvec(sc, shape, d)
        if k == "transpose":
            return self.transpose(sc, shape, d)
        if k == "matmul":
            return self.matmul(sc, shape, d)
        if k == "keepdims":
            return self.keepdims(sc, shape, d)
        if k == "call":
            h = self.pick([h for h in self.helpers if h.ret == shape])
            return f"{h.name}({', '.join(e(s) for s in h.params)})"
        return self.leaf(sc, shape, depth)

    def operand(self, sc, s, shape, depth):
        """An operand of shape `s` of an elementwise operation whose result has `shape`.  A
        scalar meeting an array is kept to parameters, literals and locals computed from them
        unless `scalar_local_meets_array`."""
        if s == () and shape != () and not self.on("scalar_local_meets_array"):
            return self.pure_expr(sc, depth)
        return self.expr(sc, s, depth)

    def pure_expr(self, sc, depth=1):
        saved, self.pure_mode = self.pure_mode, True
        try:
            return self.expr(sc, (), depth)
        finally:
            self.pure_mode = saved

    def unaliased(self, code):
        """With `adjoint_alias` off, an array sum whose adjoint srcgrad would share between a
        local array and another operand that updates it (see `alias_risk`) becomes a difference."""
        if self.on("adjoint_alias") or not self.alias_risk(code):
            return code
        node = ast.parse(code, mode="eval").body
        node.op = ast.Sub()
        return f"({ast.unparse(node)})"

    def alias_risk(self, code):
        """Is `code` (a BinOp) an array sum in which a local array is a summand (its adjoint the
        sum's adjoint, by reference) and another summand is a local array too, or an operation
        with that array as a direct operand (whose adjoint update then changes the shared
        adjoint before the operation's other operands read it)?  Summands are collected through
        `+` and the left side of `-`."""
        node = ast.parse(code, mode="eval").body
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
            return False
        terms = []

        def collect(n):
            if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub)):
                collect(n.left)
                if isinstance(n.op, ast.Add):
                    collect(n.right)
            else:
                terms.append(n)
        collect(node)

        def local(n):
            if isinstance(n, ast.Attribute) and n.attr == "T":
                n = n.value
            return n.id if isinstance(n, ast.Name) and n.id in self.local_arrays else None
        byref = [local(t) for t in terms if local(t)]
        if len(byref) >= 2:
            return True
        if not byref:
            return False
        for t in terms:
            if isinstance(t, ast.BinOp) and byref[0] in (local(t.left), local(t.right)):
                return True
            if isinstance(t, ast.Call) and len(t.args) >= 2 and byref[0] in [local(a) for a in t.args]:
                return True
        return False

    def is_pure(self, code):
        """Is the scalar expression computed from parameters, literals and pure locals only (no
        element read, reduction, product, helper call)?"""
        for node in ast.walk(ast.parse(code, mode="eval")):
            if isinstance(node, ast.Subscript) or isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                return False
            if isinstance(node, ast.Name) and node.id not in ("np", "math") and node.id not in self.pure:
                return False
            if isinstance(node, ast.Attribute) and node.attr in ("sum", "mean", "dot", "where", "ones", "zeros", "T"):
                return False
        return True

    def is_dot(self, code):
        """Is the value of `code` a vector-vector product (or a name bound to one)?"""
        node = ast.parse(code, mode="eval").body
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return True
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "np.dot":
            return True
        return isinstance(node, ast.Name) and node.id in self.dot_names

    def returned(self, code):
        """The expression of a return statement: with `vector_dot_is_array` off, never a bare
        vector-vector product."""
        if not self.on("vector_dot_is_array") and self.is_dot(code):
            return f"1.0 * {self.paren(code)}"
        return code

    def array_sources(self, sc):
        """Shapes a reduction to a scalar may read here."""
        if self.loop_mode:
            return sorted({v.shape for v in sc.vars if v.shape != () and self.readable(sc, v.shape)})
        return [s for s in self.U if s != ()] + [(N,), (M, N)]

    def vector_sizes(self, sc):
        if self.in_loop and not self.on("vector_dot_is_array"):
            return []
        if self.loop_mode:
            return [n for n in (N, M) if self.readable(sc, (n,))]
        return [N, M]

    def loop_array(self, sc, shape):
        """An array inside a loop body without `loop_array_temps`: a name, never a computed
        array (srcgrad refuses whole-array values a loop re-computes and the adjoint needs)."""
        names = self.readable(sc, shape)
        return self.whole(self.pick(names)) if names else f"np.ones({shape if len(shape) > 1 else shape[0]})"

    @staticmethod
    def paren(code):
        return code if code.isidentifier() or (code.startswith("(") and code.endswith(")")) else f"({code})"

    def pick_pair(self, shape):
        r = self.draw(0, 99)
        if r < 40:
            return shape, shape
        if r < 70 and shape != ():
            return self.pick([((), shape), (shape, ())])
        return self.pick(self.pairs[shape])

    def unary(self, x, shape):
        k = self.draw(0, 11)
        mod = "math" if shape == () and self.chance(30) else "np"
        if k == 0:
            return f"(-{x})"
        if k <= 3:
            return f"{mod}.{self.pick(['sin', 'cos', 'tanh'])}({x})"
        if k == 4:
            return f"{mod}.exp({mod}.{self.pick(['sin', 'tanh', 'cos'])}({x}))"
        if k == 5:
            return self.pick([f"{mod}.log(1.0 + {x} * {x})", f"{mod}.log(2.0 + {mod}.sin({x}))"])
        if k == 6:
            return f"{mod}.sqrt(0.5 + {x} * {x})"
        if k in (7, 8):
            return f"({self.paren(x)} ** 2)"
        if k == 9:
            return f"({mod}.tanh({x}) ** 3)"
        if k == 10:
            return f"np.arctan({x})"
        return f"(0.5 * {x})"

    def reduce(self, x):
        fn = self.pick(["sum", "sum", "mean"])
        if self.on("methods") and self.chance(30):
            return f"{self.paren(x)}.{fn}()"
        return f"np.{fn}({x})"

    def reduce_axis(self, sc, shape, depth):
        (k,) = shape
        srcs = [(s, ax) for s in self.U if len(s) == 2 for ax in (0, 1) if s[1 - ax] == k]
        if not srcs:
            return self.leaf(sc, shape, depth)
        src, ax = self.pick(srcs)
        x = self.expr(sc, src, depth)
        fn = self.pick(["sum", "sum", "mean"])
        if fn == "mean" and not x.isidentifier() and not self.on("mean_axis_of_expression"):
            fn = "sum"
        axis = self.pick([str(ax), str(ax), str(ax - 2)])
        if axis == "-2" and not self.on("axis_minus_two"):
            axis = "0"
        if self.on("methods") and fn == "sum" and self.chance(30):
            return f"{self.paren(x)}.sum(axis={axis})"
        return f"np.{fn}({x}, axis={axis})"

    def keepdims(self, sc, shape, depth):
        ax = 1 if shape[1] == 1 else 0
        src = (shape[0], N) if ax == 1 else (M, shape[1])
        x = self.expr(sc, src, depth)
        if self.on("methods") and self.chance(40):
            return f"{self.paren(x)}.sum(axis={ax}, keepdims=True)"
        fn = self.pick(["sum", "mean"]) if x.isidentifier() or self.on("mean_axis_of_expression") else "sum"
        return f"np.{fn}({x}, axis={ax}, keepdims=True)"

    def matvec(self, sc, shape, depth):
        (k,) = shape
        forms = [("Av", j) for j in (N, M) if self.matrix_ok((k, j))]
        forms += [("vA", j) for j in (N, M) if self.matrix_ok((j, k))]
        if not forms:
            return self.leaf(sc, shape, depth)
        form, j = self.pick(forms)
        if form == "Av":
            a, b = self.mat(sc, (k, j), depth), self.expr(sc, (j,), depth)
        else:
            a, b = self.expr(sc, (j,), depth), self.mat(sc, (j, k), depth)
        return self.pick([f"({a} @ {b})", f"np.dot({a}, {b})"])

    def matmul(self, sc, shape, depth):
        p, q = shape
        js = [j for j in (N, M) if self.matrix_ok((p, j)) and self.matrix_ok((j, q))]
        if not js:
            return self.leaf(sc, shape, depth)
        j = self.pick(js)
        a, b = self.mat(sc, (p, j), depth), self.mat(sc, (j, q), depth)
        return self.pick([f"({a} @ {b})", f"np.dot({a}, {b})"])

    def matrix_ok(self, shape):
        return shape in self.U or shape in ((M, M), (N, N))

    def mat(self, sc, shape, depth):
        """A matrix of a shape in U, or a square one no local has: (M, N) @ (N, M) or the reverse."""
        if shape in self.U:
            return self.expr(sc, shape, depth)
        a, b = ((M, N), (N, M)) if shape == (M, M) else ((N, M), (M, N))
        d = min(depth + 1, 3)
        return f"({self.expr(sc, a, d)} @ {self.expr(sc, b, d)})"

    def transpose(self, sc, shape, depth):
        """`e.T` of shape `shape`: of any expression with `transpose_of_expression`, else of a name."""
        if self.on("transpose_of_expression"):
            return f"{self.paren(self.expr(sc, shape[::-1], depth))}.T"
        names = self.readable(sc, shape[::-1])
        return f"{self.pick(names)}.T" if names else self.leaf(sc, shape, depth)

    # -- whole-array reads and the arrays element writes may go to -------------------------
    def forbidden(self, sc):
        """Arrays that may not be read whole here: with `write_after_whole_read` off, those an
        enclosing loop writes element by element (the next iteration writes after this read)
        and the target of the write being generated."""
        if self.on("write_after_whole_read"):
            return set()
        out = set(self.write_target)
        loop = sc.loop
        while loop is not None:
            out |= loop.written
            loop = loop.parent
        return out

    def readable(self, sc, shape):
        bad = self.forbidden(sc)
        return [n for n in sc.of_shape(shape) if n not in bad]

    def whole(self, name):
        """`name` is read as a whole array: no element writes into it from now on (unless
        `write_after_whole_read`)."""
        self.writable.discard(name)
        return name

    def leaf(self, sc, shape, depth=3):
        names = self.readable(sc, shape)
        if self.pure_mode:
            # inside an if or a loop, even a local computed from parameters crashes srcgrad
            # when it meets an array: only parameters and loop counters there
            names = [n for n in names if n in (self.always_pure if self.nested_now else self.pure)]
        arrays = [v for v in sc.vars if v.shape != ()]
        whole_arrays = [v.name for v in arrays if v.name not in self.forbidden(sc)]
        opts = ["var"] * 6 if names else []
        if shape == ():
            opts += ["const"] * 2
            if self.on("reductions") and arrays and not self.pure_mode:
                opts += ["elem"] * 4 + ["reduce"] * 2 * bool(whole_arrays)
            if sc.indices:
                opts += ["int"]
        elif len(shape) == 2 and self.on("matmul") and self.readable(sc, shape[::-1]):
            opts += ["T"] * 2
        if self.on("slices") and shape != ():
            opts += ["slice"] * 3
        if not opts:
            return self.fallback(sc, shape)
        k = self.pick(opts)
        if k == "var":
            return self.whole(self.pick(names))
        if k == "const":
            return self.const()
        if k == "int":
            i = self.pick(sc.indices)[0]
            return i if i.isidentifier() else f"({i})"
        if k == "elem":
            return self.element(sc, self.pick(arrays))
        if k == "reduce":
            return self.reduce(self.whole(self.pick(whole_arrays)))
        if k == "T":
            return f"{self.whole(self.pick(self.readable(sc, shape[::-1])))}.T"
        if k == "slice":
            s = self.slice_of(sc, shape)
            return s if s is not None else self.fallback(sc, shape)
        return self.fallback(sc, shape)

    def fallback(self, sc, shape):
        """Something of `shape` when no local has it (helpers' scopes have few names)."""
        names = self.readable(sc, shape)
        if names:
            return self.whole(self.pick(names))
        if shape == ():
            return self.const()
        if self.on("matmul") and len(shape) == 2 and self.readable(sc, shape[::-1]):
            return f"{self.whole(self.pick(self.readable(sc, shape[::-1])))}.T"
        return f"np.ones({shape if len(shape) > 1 else shape[0]})"

    def index(self, sc, n, allow_neg=True):
        """An index valid for a dimension of length n: a loop variable or a constant."""
        ok = [name for name, bound in sc.indices if bound <= n]
        if ok and self.chance(70):
            i = self.pick(ok)
            if self.chance(15) and i.isidentifier():
                return f"{n - 1} - {i}"
            return i
        k = self.draw(0, n - 1)
        return str(k - n) if allow_neg and self.chance(20) else str(k)

    def element(self, sc, var):
        return f"{var.name}[{', '.join(self.index(sc, n) for n in var.shape)}]"

    def slice_of(self, sc, shape):
        """A slice of some variable with exactly `shape`, or None."""
        cands = []
        bad = self.forbidden(sc)
        for v in sc.vars:
            if v.name in bad:
                continue
            if len(shape) == 1 and len(v.shape) == 1 and v.shape[0] >= shape[0]:
                cands.append(("1d", v))
            if len(shape) == 1 and len(v.shape) == 2 and shape[0] in v.shape:
                cands.append(("line", v))
            if len(shape) == 2 and len(v.shape) == 2 and v.shape[0] >= shape[0] and v.shape[1] >= shape[1]:
                cands.append(("block", v))
        if not cands:
            return None
        kind, v = self.pick(cands)
        self.whole(v.name)
        if kind == "1d":
            return f"{v.name}[{self.range_slice(v.shape[0], shape[0])}]"
        if kind == "line":
            opts = [ax for ax in (0, 1) if v.shape[ax] == shape[0]]
            ax = self.pick(opts)
            other = self.index(sc, v.shape[1 - ax])
            return f"{v.name}[:, {other}]" if ax == 0 else f"{v.name}[{other}, :]"
        return f"{v.name}[{self.range_slice(v.shape[0], shape[0])}, {self.range_slice(v.shape[1], shape[1])}]"

    def range_slice(self, n, k):
        """A slice of length k out of n."""
        if k == n:
            return self.pick([":", ":", "::-1", f"0:{n}"])
        a = self.draw(0, n - k)
        forms = [f"{a}:{a + k}"]
        if a == 0:
            forms += [f":{k}", f":{k - n}"]
        if a + k == n:
            forms += [f"{a}:", f"-{k}:"]
        return self.pick(forms)

    def cond(self, sc):
        """A scalar condition; float comparisons are written `(l) < (r)` for the oracle, with
        helper calls only under `helper_in_condition`."""
        with self.no_helpers():
            op = self.pick(["<", ">", "<=", ">="])
            c = f"({self.expr(sc, (), 1)}) {op} ({self.expr(sc, (), 1)})"
            if self.chance(10):
                c = f"not ({c})"
            return c

    @contextlib.contextmanager
    def no_helpers(self):
        """Generate without helper calls unless `helper_in_condition`."""
        helpers = self.helpers
        if not self.on("helper_in_condition"):
            self.helpers = []
        try:
            yield
        finally:
            self.helpers = helpers

    # -- statements -----------------------------------------------------------------------
    def block(self, sc, depth, lines, indent, n=None):
        """Append 1..n statements; return True if the block always returns."""
        n = n if n is not None else self.draw(1, self.max_stmts)
        for _ in range(n):
            if self.stmt(sc, depth, lines, indent):
                return True
        return False

    def array_mutable(self, sc, name):
        """May `name` be updated in place (aug-assignment, element or slice write) here?  Never
        when it may be (a view of) a parameter; with `aliasing` off, only when no other name
        may share its object."""
        roots = sc.roots.get(name)
        if not roots or roots & sc.params:
            return False
        if self.on("aliasing"):
            return True
        return not any(r & roots for n, r in sc.roots.items() if n != name)

    def new_root(self):
        self.counter += 1
        return frozenset([f"#{self.counter}"])

    def rebind(self, sc, name, rhs):
        """Record the objects `name` may hold after `name = rhs`: the objects of the array `rhs`
        views, or a new one; in a nested block also the old ones (the other path).  Loops never
        re-bind an outer array to a view (see `fresh_rhs`), so a later iteration cannot see an
        alias the statements before it did not know of."""
        if sc.shape_of(name) == ():
            return
        if is_view(rhs):
            base = ast.parse(rhs, mode="eval").body
            while not isinstance(base, ast.Name):
                base = base.value
            roots = sc.roots.get(base.id, frozenset())
        else:
            roots = self.new_root()
        if sc.nested and name in sc.roots:
            roots = roots | sc.roots[name]
        sc.roots[name] = roots

    def write_targets(self, sc, names):
        """Arrays an element or slice write may go to here."""
        ok = [n for n in names if self.array_mutable(sc, n)]
        if not self.on("write_after_whole_read"):
            ok = [n for n in ok if n in self.writable]
        return ok

    def written(self, sc, name, rhs):
        """Generate the right-hand side of a write into `name` (which it may not read whole)
        and record the write in the enclosing loops."""
        loop = sc.loop
        while loop is not None:
            loop.written.add(name)
            loop = loop.parent
        self.write_target = {name}
        try:
            return rhs()
        finally:
            self.write_target = set()

    @staticmethod
    def fresh_rhs(rhs):
        return f"1.0 * {_Gen.paren(rhs)}" if is_view(rhs) else rhs

    def stmt(self, sc, depth, lines, indent):
        saved = self.loop_mode, self.in_loop, self.nested_now
        self.loop_mode = sc.loop is not None and self.restricted(sc.loop)
        self.in_loop = sc.loop is not None
        self.nested_now = sc.nested
        try:
            return self._stmt(sc, depth, lines, indent)
        finally:
            self.loop_mode, self.in_loop, self.nested_now = saved

    def restricted(self, loop):
        """May this loop's body compute only scalars (see `loop_array`)?"""
        return not loop.carry_ok and not self.on("loop_array_temps")

    def _stmt(self, sc, depth, lines, indent):
        pad = "    " * indent
        loop = sc.loop
        carry = loop is not None and loop.carry_ok
        outer_arrays = [n for n in sc.mutable if sc.shape_of(n) != ()]
        outer_scalars = [n for n in sc.mutable if sc.shape_of(n) == ()]
        opts = ["new"] * 4
        if outer_scalars:
            opts += ["reassign_s", "aug_s"]
        if outer_arrays and (loop is None or carry):
            opts += ["reassign_a"] * 2
        if self.on("array_aug") and loop is None or self.on("inplace_arrays") and carry:
            if any(self.array_mutable(sc, n) for n in outer_arrays):
                opts += ["aug_a"] * 2
        targets = self.write_targets(sc, outer_arrays)
        if self.on("element_writes") and targets:
            opts += ["store"] * 3
        if self.on("element_writes") and loop is None:
            opts += ["buf"]
        if self.on("slices") and targets and (loop is None or carry):
            opts += ["slice_store"]
        if depth < self.max_depth:
            if self.on("element_loops") or self.on("carried_arrays"):
                opts += ["for"] * 2 + ["while"]
            if self.on("branches"):
                opts += ["if"] * 2
        if loop is not None and loop.may_exit:
            opts += ["exit"]
        if sc.can_return and loop is None and self.on("branches") and (
                self.on("early_return_with_array_local") or not self.local_arrays):
            opts += ["ret"]
        if self.on("aliasing") and outer_arrays and (loop is None or carry):
            opts += ["alias"] * 3
        if self.on("tuple_helpers") and any(isinstance(h.ret, list) for h in self.helpers):
            opts += ["tuple_call"]
        if self.on("reads_written_after_loops") and not sc.nested and self.in_main and depth < self.max_depth:
            opts += ["read_loop"] * 2
        k = self.pick(opts)

        if k == "new":
            shape = self.pick_shape() if loop is None or carry or self.on("loop_array_temps") else ()
            v = self.fresh(shape)
            rhs = self.expr(sc, shape)
            lines.append(f"{pad}{v} = {rhs}")
            self.declare(sc, v, shape)
            if shape != ():
                self.rebind(sc, v, rhs)
            else:
                if self.is_pure(rhs):
                    self.pure.add(v)
                self.scalar_bound(v, rhs)
        elif k == "reassign_s":
            # a pure scalar stays pure (earlier statements in a loop read it again)
            v = self.pick(outer_scalars)
            rhs = self.pure_expr(sc, 0) if self.keep_pure(v) else self.expr(sc, ())
            lines.append(f"{pad}{v} = {rhs}")
            self.scalar_bound(v, rhs)
        elif k == "aug_s":
            v = self.pick(outer_scalars)
            lines.append(f"{pad}{v} {self.aug_rhs(sc, (), pure=self.keep_pure(v))}")
        elif k == "reassign_a":
            v = self.pick(outer_arrays)
            shape = sc.shape_of(v)
            # the shapes of time steps and recurrences, which read the old value
            step = lambda: self.paren(self.operand(sc, self.pick(self.sub[shape]), shape, 1))  # noqa: E731
            recur = lambda: (self.euler(v, step()) if self.chance(50)  # noqa: E731
                             else f"0.5 * {v} + 0.5 * np.tanh({self.expr(sc, shape)})")
            if loop is not None:
                rhs = self.fresh_rhs(recur() if self.chance(70) else self.expr(sc, shape))
            elif sc.nested and not self.on("rebind_array_in_branch"):
                rhs = recur()
            else:
                rhs = self.expr(sc, shape)
            lines.append(f"{pad}{v} = {rhs}")
            self.rebind(sc, v, rhs)
        elif k == "aug_a":
            v = self.pick([n for n in outer_arrays if self.array_mutable(sc, n)])
            lines.append(f"{pad}{v} {self.aug_rhs(sc, sc.shape_of(v), target=v)}")
        elif k == "store":
            v = self.pick(targets)
            target = self.element(sc, Var(v, sc.shape_of(v)))
            op = self.pick(["=", "=", "+=", "-="])
            lines.append(f"{pad}{target} {op} {self.written(sc, v, lambda: self.expr(sc, ()))}")
        elif k == "slice_store":
            v = self.pick(targets)
            shape = sc.shape_of(v)
            if len(shape) == 1:
                n = self.draw(1, shape[0])
                target, tshape = f"{v}[{self.range_slice(shape[0], n)}]", (n,)
            elif self.chance(50):
                target, tshape = f"{v}[:, {self.index(sc, shape[1])}]", (shape[0],)
            else:
                target, tshape = f"{v}[{self.index(sc, shape[0])}, :]", (shape[1],)
            if self.chance(30):         # the region it writes, read on the right (m[1, :] = m[1, :] * s)
                e = self.written(sc, v, lambda: self.expr(sc, ()))
                rhs = self.pick([f"{target} * ({e})", f"np.tanh({target}) + ({e})"])
            else:
                rhs = self.written(sc, v, lambda: self.expr(sc, tshape if tshape in self.U else ()))
            lines.append(f"{pad}{target} {self.pick(['=', '=', '+='])} {rhs}")
        elif k == "buf":
            self.buffer(sc, depth, lines, indent)
        elif k in ("for", "while"):
            self.loop(sc, depth, lines, indent, k)
        elif k == "if":
            lines.append(f"{pad}if {self.cond(sc)}:")
            r1 = self.block(sc.child(), depth + 1, lines, indent + 1, self.draw(1, 3))
            r2 = False
            if self.chance(60):
                lines.append(f"{pad}else:")
                r2 = self.block(sc.child(), depth + 1, lines, indent + 1, self.draw(1, 3))
            return r1 and r2
        elif k == "exit":
            lines.append(f"{pad}if {self.cond(sc)}:")
            lines.append(f"{pad}    {self.pick(['break', 'continue'])}")
        elif k == "ret":
            if self.chance(60) or sc.nested:
                lines.append(f"{pad}if {self.cond(sc)}:")
                lines.append(f"{pad}    return {self.returned(self.expr(sc, ()))}")
            else:
                lines.append(f"{pad}return {self.returned(self.result(sc))}")
                return True
        elif k == "alias":
            # `old = w` and then, usually, an in-place update through one of the two names,
            # with the other one read by the result: NumPy's semantics or not
            u = self.pick(outer_arrays)
            shape = sc.shape_of(u)
            w = self.fresh(shape)
            lines.append(f"{pad}{w} = {self.whole(u)}")
            self.declare(sc, w, shape)
            sc.roots[w] = sc.roots.get(u, frozenset())
            if self.array_mutable(sc, u) and self.chance(70):
                a, b = self.pick([(u, w), (w, u)])
                if self.chance(70):
                    lines.append(f"{pad}{a} {self.aug_rhs(sc, shape, target=a)}")
                else:
                    target = self.element(sc, Var(a, shape))
                    lines.append(f"{pad}{target} = {self.written(sc, a, lambda: self.expr(sc, ()))}")
                if not sc.nested:
                    self.must_read.append(b)
        elif k == "read_loop":
            self.read_loop(sc, depth, lines, indent)
        elif k == "tuple_call":
            h = self.pick([h for h in self.helpers if isinstance(h.ret, list)])
            names = [self.fresh(s) for s in h.ret]
            args = ", ".join(self.expr(sc, s, 1) for s in h.params)
            lines.append(f"{pad}{', '.join(names)} = {h.name}({args})")
            for name, s in zip(names, h.ret):
                self.declare(sc, name, s)
                if s != ():
                    sc.roots[name] = self.new_root()
        return False

    def declare(self, sc, name, shape):
        sc.vars.append(Var(name, shape))
        sc.mutable.append(name)
        if shape != ():
            self.local_arrays.add(name)

    def euler(self, v, step):
        code = self.unaliased(f"({v} + 0.1 * {step})")
        return code[1:-1]

    def keep_pure(self, name):
        return name in self.pure and not self.on("scalar_local_meets_array")

    def scalar_bound(self, name, rhs):
        """Record what the scalar `name` may hold after `name = rhs` (on some path)."""
        if not self.is_pure(rhs):
            self.pure.discard(name)
        if self.is_dot(rhs):
            self.dot_names.add(name)

    def aug_rhs(self, sc, shape, pure=False, target=None):
        op = self.pick(["+=", "-=", "*=", "+="])
        s = self.pick(self.sub[shape])
        if pure or s == () != shape and not self.on("scalar_local_meets_array"):
            rhs = self.pure_expr(sc, 0)
        else:
            rhs = self.expr(sc, s)
        if op == "*=":
            rhs = f"(0.5 + 0.5 * np.tanh({rhs}))"
        if op == "+=" and target and shape != () and self.alias_risk(f"{target} + ({rhs})") \
                and not self.on("adjoint_alias"):
            op = "-="
        return f"{op} {rhs}"

    def buffer(self, sc, depth, lines, indent):
        """A local array to be written element by element, usually filled by a loop at once."""
        pad = "    " * indent
        shape = self.pick([(N,), (M,), (M, N), (N,)] + ([(M, 1)] if (M, 1) in self.U else []))
        b = self.fresh(shape)
        like = sc.of_shape(shape)
        dims = str(shape[0]) if len(shape) == 1 else str(shape)
        forms = ["zeros", "zeros", "ones"] + ["zeros_like"] * bool(like) + ["copy"] * bool(self.readable(sc, shape))
        form = self.pick(forms)
        if form == "zeros_like":
            rhs = f"np.zeros_like({self.pick(like)})"
        elif form == "copy":
            rhs = f"{self.whole(self.pick(self.readable(sc, shape)))}.copy()"
        else:
            rhs = f"np.{form}({dims})"
        lines.append(f"{pad}{b} = {rhs}")
        self.declare(sc, b, shape)
        sc.roots[b] = self.new_root()
        self.writable.add(b)
        if self.on("element_loops") and depth < self.max_depth and self.chance(70):
            idx = []
            for d, n in enumerate(shape):
                i = self.fresh_index()
                lines.append(f"{pad}{'    ' * d}for {i} in range({self.bound_expr(sc, n)}):")
                idx.append((i, n))
            inner = sc.child(loop=_Loop("for", False, False, sc.loop))
            inner.indices = sc.indices + idx
            op = self.pick(["=", "=", "+="])
            saved = self.loop_mode, self.in_loop
            self.loop_mode, self.in_loop = self.restricted(inner.loop), True
            rhs = self.written(inner, b, lambda: self.expr(inner, ()))
            self.loop_mode, self.in_loop = saved
            lines.append(f"{pad}{'    ' * len(shape)}{b}[{', '.join(i for i, _ in idx)}] {op} {rhs}")

    def fresh_index(self, prefix="i"):
        self.counter += 1
        self.pure.add(f"{prefix}{self.counter}")      # an integer: never an array-derived scalar
        self.always_pure.add(f"{prefix}{self.counter}")
        return f"{prefix}{self.counter}"

    def bound_expr(self, sc, n):
        """`n` written as a literal, len(v) or v.shape[d] of some variable with that length."""
        forms = [str(n)] * 2
        for v in sc.vars:
            if len(v.shape) == 1 and v.shape[0] == n:
                forms.append(f"len({v.name})")
            for d, m in enumerate(v.shape):
                if m == n:
                    forms.append(f"{v.name}.shape[{d}]")
        return self.pick(forms)

    def loop(self, sc, depth, lines, indent, kind):
        pad = "    " * indent
        exits = kind == "while" or self.chance(30)
        carry = (self.on("carried_arrays") and (not exits or self.on("carried_while"))
                 and (sc.loop is None or sc.loop.carry_ok))
        if not carry and not self.on("element_loops"):
            return
        ctx = _Loop(kind, exits and (kind == "for" or self.chance(50)), carry, sc.loop)
        child = sc.child(loop=ctx)
        n = self.pick([N, M])
        if kind == "for":
            i = self.fresh_index()
            form = self.draw(0, 9)
            b = self.bound_expr(sc, n)
            if form < 6:
                rng = b
            elif form < 8:
                rng = f"{self.draw(0, n - 1)}, {b}"
            elif form < 9:
                rng = f"{n - 1}, -1, -1"
            else:
                rng = f"0, {b}, 2"
            head = len(lines)
            lines.append(f"{pad}for {i} in range({rng}):")
            child.indices = sc.indices + [(i, n)]
            self.block(child, depth + 1, lines, indent + 1, self.draw(1, 4))
            if ctx.may_exit and self.chance(30):
                saved = self.loop_mode, self.in_loop
                self.loop_mode, self.in_loop = self.restricted(ctx), True
                lines.append(f"{pad}    if {self.cond(child)}:")
                self.loop_mode, self.in_loop = saved
                lines.append(f"{pad}        break")
            if sc.loop is None and self.in_main and self.on("checkpointed_loops") and self.chance(40) and not any(
                    w in ln.split() for ln in lines[head + 1:] for w in ("break", "continue", "return")):
                lines[head] = f"{pad}for {i} in srcgrad.checkpoint(range({rng}), every={self.draw(1, 3)}):"
        else:
            kv = self.fresh_index("k")
            lines.append(f"{pad}{kv} = 0")
            test = f"{kv} < {n}"
            if self.chance(40):       # evaluated in every iteration: generated as in the body
                saved = self.loop_mode, self.in_loop
                self.loop_mode, self.in_loop = self.restricted(ctx), True
                test += f" and ({self.cond(sc)})"
                self.loop_mode, self.in_loop = saved
            lines.append(f"{pad}while {test}:")
            lines.append(f"{pad}    {kv} += 1")
            child.indices = sc.indices + [(f"{kv} - 1", n)]
            self.block(child, depth + 1, lines, indent + 1, self.draw(1, 4))

    # -- a loop reading memory that is written after it -------------------------------------
    @contextlib.contextmanager
    def inside(self, loop):
        """Generate expressions as in the body of `loop` (its restrictions on array temporaries)."""
        saved = self.loop_mode, self.in_loop, self.nested_now
        self.loop_mode, self.in_loop, self.nested_now = self.restricted(loop), True, True
        try:
            yield
        finally:
            self.loop_mode, self.in_loop, self.nested_now = saved

    def param_scalar(self, sc):
        """A scalar of f's parameters (s0, x[2], A[1, 0], ...), sometimes a small expression."""
        if self.chance(25):
            return self.paren(self.expr(sc, (), 2))
        return self.pick(["s0", "s1", f"x[{self.draw(0, N - 1)}]", f"y[{self.draw(0, M - 1)}]",
                          f"A[{self.draw(0, M - 1)}, {self.draw(0, N - 1)}]"])

    def view_of(self, b, shape):
        """A view of the array `b`: (code, shape, map from the view's indices to b's)."""
        if len(shape) == 1:
            n = shape[0]
            kind = self.pick(["slice", "slice", "slice", "rev", "alias"])
            if kind == "alias":
                return b, shape, lambda u: u
            if kind == "rev":
                return f"{b}[::-1]", shape, lambda u: (n - 1 - u[0],)
            k = self.draw(2, n - 1)
            o = self.draw(0, n - k)
            sl = self.pick([f"{o}:{o + k}"] + [f"{o}:", f"{o - n}:"] * (o + k == n) + [f":{k}", f":{k - n}"] * (o == 0))
            return f"{b}[{sl}]", (k,), lambda u: (o + u[0],)
        m, n = shape
        kind = self.pick(["row", "row", "col", "col", "block", "alias"])
        if kind == "alias":
            return b, shape, lambda u: u
        if kind == "row":
            r = self.draw(0, m - 1)
            return self.pick([f"{b}[{r}, :]", f"{b}[{r}]"]), (n,), lambda u: (r, u[0])
        if kind == "col":
            c = self.draw(0, n - 1)
            return f"{b}[:, {c}]", (m,), lambda u: (u[0], c)
        r0, c0 = self.draw(0, 1), self.draw(1, 2)
        return f"{b}[{r0}:, {c0}:]", (m - r0, n - c0), lambda u: (r0 + u[0], c0 + u[1])

    def declare_view(self, sc, w, shape, b):
        """`w` views `b`'s memory; a view of a shape no other local has ((2,), (2, 3)) is read
        and written here only, never picked by the other statements (they need shapes in U)."""
        if shape in self.U:
            self.declare(sc, w, shape)
        else:
            sc.vars.append(Var(w, shape))
            self.local_arrays.add(w)
        sc.roots[w] = sc.roots.get(b, frozenset())

    def read_loop(self, sc, depth, lines, indent):
        """`z = v[1:]` (or v itself), a loop (often checkpointed) whose body reads z or v and
        uses what it reads nonlinearly, then writes into that memory after the loop: the adjoint
        must see the values the loop read, not the later ones (saved, or restored before a
        checkpointed loop is run again)."""
        pad = "    " * indent
        shape = self.pick([(N,), (M,), (M, N), (N,)])
        # an array of the program's, if no other name shares its memory
        own = [n for n in sc.mutable if sc.shape_of(n) == shape and self.array_mutable(sc, n)
               and not any(r & sc.roots[n] for m, r in sc.roots.items() if m != n)]
        if own and self.chance(30):
            b = self.pick(own)
        else:
            b = self.fresh(shape)
            src = {(N,): "x", (M,): "y", (M, N): "A"}[shape]
            how = self.draw(0, 3)
            if how == 0:
                scale = self.param_scalar(sc) if self.on("scalar_local_meets_array") else self.pick(["s0", "s1"])
                rhs = f"{src} * {scale}"
            elif how == 1:
                rhs = f"np.sin({src}) + {self.pick(['s0', 's1'])}"
            else:
                rhs = f"{src} * 1.0" if how == 2 else self.fresh_rhs(self.expr(sc, shape, 2))
            lines.append(f"{pad}{b} = {rhs}")
            self.declare(sc, b, shape)
            sc.roots[b] = self.new_root()
        # the names through which the loop reads (and the writes after it write) b's memory
        handles = [(b, shape, lambda u: u)]
        if self.chance(75):
            code, vshape, fn = self.view_of(b, shape)
            w = self.fresh(vshape)
            lines.append(f"{pad}{w} = {code}")
            self.declare_view(sc, w, vshape, b)
            handles.append((w, vshape, fn))
        acc = self.fresh(())
        lines.append(f"{pad}{acc} = {self.pick(['0.0', '0.0', 's1', '0.5 * s0'])}")
        self.declare(sc, acc, ())
        # the loop
        n = self.draw(2, 4)
        ctx = _Loop("for", False, self.on("carried_arrays"), None)
        child = sc.child(loop=ctx)
        keep = {h[0] for h in handles} | {acc}
        child.mutable = [v for v in child.mutable if v not in keep]
        if self.chance(80):
            i = self.fresh_index()
            rng = f"range({n})"
            if self.on("checkpointed_loops") and self.chance(60):
                rng = f"srcgrad.checkpoint({rng}, every={self.draw(1, 3)})"
            lines.append(f"{pad}for {i} in {rng}:")
        else:
            kv = self.fresh_index("k")
            lines.append(f"{pad}{kv} = 0")
            lines.append(f"{pad}while {kv} < {n}:")
            lines.append(f"{pad}    {kv} += 1")
            i = f"{kv} - 1"
        child.indices = sc.indices + [(i, n)]
        body = pad + "    "
        if self.chance(25):
            self.block(child, depth + 1, lines, indent + 1, 1)
        touched = set()
        whole_ok = self.on("write_after_whole_read")
        temps_ok = self.on("loop_array_temps") or ctx.carry_ok

        def index(dim, u_set):
            """An index into a dimension of length dim: a constant or the loop's counter."""
            if n <= dim and self.chance(40):
                if self.chance(25) and i.isidentifier():
                    u_set.append(list(range(dim - 1, dim - 1 - n, -1)))
                    return f"{dim - 1} - {i}"
                u_set.append(list(range(n)))
                return i if i.isidentifier() else f"({i})"
            k = self.draw(0, dim - 1)
            u_set.append([k])
            return str(k - dim) if self.chance(20) else str(k)

        def read():
            name, hshape, fn = self.pick(handles[1:] if len(handles) > 1 and self.chance(70) else handles)
            forms = ["elem"] * 3
            if whole_ok:
                forms += ["whole"] + ["slice"] * (max(hshape) >= 2 and temps_ok)
            form = self.pick(forms)
            if form == "elem":
                per_dim = []
                code = f"{name}[{', '.join(index(d, per_dim) for d in hshape)}]"
                touched.update(fn(u) for u in itertools.product(*per_dim))
                return code
            self.whole(name)
            if form == "slice":
                # a run of a 1-D array, or of a row or column of a 2-D one
                ax = self.pick([d for d, L in enumerate(hshape) if L >= 2])
                L = hshape[ax]
                a = self.draw(0, L - 2)
                c = self.draw(a + 1, L)
                if len(hshape) == 1:
                    touched.update(fn((u,)) for u in range(a, c))
                    sl = f"{name}[{a}:{c}]"
                else:
                    q = self.draw(0, hshape[1 - ax] - 1)
                    touched.update(fn((u, q) if ax == 0 else (q, u)) for u in range(a, c))
                    sl = f"{name}[{a}:{c}, {q}]" if ax == 0 else f"{name}[{q}, {a}:{c}]"
                return self.pick([f"np.sum({sl} * {sl})", f"np.sum(np.sin({sl}))", f"({sl} @ {sl})"
                                  if self.on("vector_dot_is_array") else f"np.sum({sl} ** 2)"])
            touched.update(fn(u) for u in np.ndindex(*hshape))
            if not temps_ok:
                return self.reduce(name)
            return self.pick([f"np.sum({name} * {name})", f"np.sum(np.tanh({name}))", f"np.mean({name} ** 2)",
                              self.reduce(name)])

        with self.inside(ctx):
            for _ in range(self.draw(1, 2)):
                r = read()
                if self.chance(40):
                    a = self.fresh(())
                    lines.append(f"{body}{a} = {r}")
                    r = a
                r2 = read() if self.chance(30) else r
                p = self.param_scalar(child)
                use = [f"{acc} + {r} * {r2} * {p}", f"{acc} + np.sin({r}) * {p}",
                       f"0.5 * {acc} + np.tanh({r} * {p})", f"{acc} + {self.paren(r)} ** 2",
                       f"{acc} + {r} * {p} * {r2}", f"{acc} + math.cos({r2}) * {r}"]
                use = self.pick(use)
                lines.append(f"{body}{acc} = {use}")
        # the writes after the loop, usually into an element the loop read, all through one name
        # (srcgrad refuses a write while another name of the memory is read later): the array,
        # the loop's view, or another view made now
        if self.chance(25) and len(shape) == 1 and shape[0] >= 3:
            code, vshape, fn = self.view_of(b, shape)
            if code != b:
                w = self.fresh(vshape)
                lines.append(f"{pad}{w} = {code}")
                self.declare_view(sc, w, vshape, b)
                handles = handles + [(w, vshape, fn)]
                handles = handles[-1:]
        hit = [h for h in handles if any(h[2](u) in touched for u in np.ndindex(*h[1]))]
        name, hshape, fn = self.pick(hit if hit and self.chance(80) else handles)
        roots = sc.roots.get(b, frozenset())
        gone = {v.name for v in sc.vars if v.name != name and sc.roots.get(v.name, frozenset()) & roots}
        sc.vars = [v for v in sc.vars if v.name not in gone]
        sc.mutable = [v for v in sc.mutable if v not in gone]
        for _ in range(self.draw(1, 2)):
            self.write_after(sc, lines, pad, name, hshape, fn, touched, whole_ok)
        self.must_use.append(acc)
        if self.chance(50):
            self.must_read.append(name)

    def write_after(self, sc, lines, pad, name, hshape, fn, touched, whole_ok):
        """One write through `name` (a view of the array with `fn` from its indices to the
        array's), usually into an element in `touched` (those the loop read)."""
        hits = [u for u in np.ndindex(*hshape) if fn(u) in touched]
        u = self.pick(hits) if hits and self.chance(80) else tuple(self.draw(0, d - 1) for d in hshape)
        forms = ["elem", "elem", "loop"] + (["slice", "aug"] if whole_ok else [])
        form = self.pick(forms)
        e = lambda: self.written(sc, name, lambda: self.expr(sc, (), 2))  # noqa: E731
        if form == "elem":
            el = f"{name}[{', '.join(map(str, u))}]"
            how = self.draw(0, 2)
            lines.append(f"{pad}{el} {'+=' if how == 1 else '='} {f'{el} * ' if how == 2 else ''}{e()}")
        elif form == "slice":
            if len(hshape) == 1:
                a, c = self.draw(0, u[0]), self.draw(u[0] + 1, hshape[0])
                sl = f"{name}[{a}:{c}]"
            else:
                sl = self.pick([f"{name}[{u[0]}, :]", f"{name}[:, {u[1]}]"])
            how = self.draw(0, 2)
            rhs = e() if how == 0 else f"{sl} * {self.paren(e())}" if how == 1 else f"np.tanh({sl}) + {self.paren(e())}"
            lines.append(f"{pad}{sl} {self.pick(['=', '+='])} {rhs}")
        elif form == "aug":
            op = self.pick(["+=", "-=", "*="])
            rhs = self.written(sc, name, lambda: self.operand(sc, (), hshape, 2))
            if op == "*=":
                rhs = f"(0.5 + 0.5 * np.tanh({rhs}))"
            lines.append(f"{pad}{name} {op} {rhs}")
        else:
            j = self.fresh_index("j")
            lp = _Loop("for", False, False, sc.loop)
            inner = sc.child(loop=lp)
            inner.indices = sc.indices + [(j, hshape[0])]
            lines.append(f"{pad}for {j} in range({hshape[0]}):")
            el = f"{name}[{', '.join([j] + [str(k) for k in u[1:]])}]"
            with self.inside(lp):
                rhs = self.written(inner, name, lambda: self.expr(inner, (), 2))
                lines.append(f"{pad}    {el} = {self.pick([f'{el} * {self.paren(rhs)}', rhs, f'{el} + {rhs}'])}")

    def result(self, sc):
        """The scalar returned: reductions of a few locals (so most statements matter) and an
        expression."""
        locals_ = [v for v in sc.vars if v.name in sc.mutable]
        visible = {v.name for v in sc.vars}
        terms = [f"np.sum(np.sin({name}))" for name in self.must_read[-2:] if name in visible]
        terms += [name for name in self.must_use if name in visible]
        for _ in range(min(len(locals_), self.draw(1, 3))):
            v = self.pick(locals_)
            if v.shape == ():
                terms.append(v.name)
            else:
                terms.append(self.pick([f"np.sum({v.name})", f"np.sum({v.name} * {v.name})",
                                        f"np.mean(np.sin({v.name}))", f"np.sum(np.tanh({v.name}))"]))
        if not terms or self.chance(50):
            terms.append(self.expr(sc, (), 1))
        return " + ".join(terms)

    # -- functions ------------------------------------------------------------------------
    def function(self, name, params, ret, is_main):
        roots = {p: frozenset([p]) for p, s in params if s != ()}
        sc = _Scope([Var(p, s) for p, s in params], [], roots, [], None, False, is_main,
                    frozenset(p for p, _ in params))
        lines = [f"def {name}({', '.join(p for p, _ in params)}):"]
        self.in_main = is_main          # checkpointed loops: not in helpers (inlined into loops)
        self.writable = set()
        # a helper's scalar parameters may be bound to anything: only f's are pure
        self.pure = {p for p, s in params if s == ()} if is_main else set()
        self.always_pure = set(self.pure)     # never re-assigned: parameters and loop counters
        self.dot_names = set()
        self.must_read = []                   # arrays the result should read (aliases)
        self.must_use = []                    # scalars the result adds (read loops' accumulators)
        self.local_arrays = set() if is_main else {p for p, s in params if s != ()}
        saved = self.max_depth
        if not is_main:
            self.max_depth = 1
        if is_main:
            returned = self.block(sc, 0, lines, 1)
        elif self.chance(70):
            self.block(sc, 0, lines, 1, self.draw(1, 3))
        self.max_depth = saved
        if is_main:
            if not returned:
                lines.append(f"    return {self.returned(self.result(sc))}")
        else:
            outs = ret if isinstance(ret, list) else [ret]
            codes = []
            for s in outs:
                c = self.expr(sc, s, 1)
                # a helper returning (a view of) its argument would make the caller's result
                # alias the caller's array: return a new array, as most helpers do
                codes.append(f"1.0 * {self.paren(c)}" if s != () and is_view(c) else c)
            lines.append(f"    return {', '.join(codes)}")
        return "\n".join(lines)

    def program(self) -> Program:
        n_helpers = self.n_helpers if self.n_helpers is not None else (
            self.draw(0, 2) if self.on("helpers") or self.on("tuple_helpers") else 0)
        parts = ["import math", "import numpy as np", "import srcgrad", ""]
        for j in range(n_helpers):
            k = self.draw(1, 3)
            pshapes = [self.pick_shape(scalar_weight=2) for _ in range(k)]
            if self.on("tuple_helpers") and (not self.on("helpers") or self.chance(40)):
                ret = [self.pick_shape(), self.pick_shape()]
            else:
                ret = self.pick_shape()
            params = [(f"p{q}", s) for q, s in enumerate(pshapes)]
            parts.append(self.function(f"h{j}", params, ret, is_main=False))
            parts.append("")
            self.helpers.append(_Helper(f"h{j}", pshapes, ret))
        params = [("s0", ()), ("s1", ()), ("x", (N,)), ("y", (M,)), ("A", (M, N))]
        if self.on("rowcol"):
            params += [("c", (M, 1)), ("r", (1, N))]
        parts.append(self.function("f", params, (), is_main=True))
        return Program("\n".join(parts) + "\n", params, self.f)


def size_from_env() -> dict:
    """Program size for the long mode: FUZZ_DEPTH (nesting) and FUZZ_STMTS (statements per block)."""
    return dict(max_depth=int(os.environ.get("FUZZ_DEPTH", "2")),
                max_stmts=int(os.environ.get("FUZZ_STMTS", "5")))


def generate(draw, features=None, **kw) -> Program:
    return _Gen(draw, DEFAULT if features is None else features, **kw).program()


def from_seed(seed: int, features=None, **kw) -> Program:
    rng = random.Random(seed)
    return generate(rng.randint, features, **kw)
