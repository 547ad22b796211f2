"""Emit forward-mode (tangent) code from the analysed IR: the JVP by source transformation.

What holds for the emitted functions:
* `<f>_jvp(params..., <p>_dot for p in argnums)` runs the primal statements in order, each
  active statement followed by its tangent, `t_dot = sum_i partial_i * a_i_dot`, from the same
  partials tables the reverse pass uses (so a rule is declared once for both modes); it returns
  `(value, value_dot)`.  No values are saved: forward mode needs no tape.
* `<f>_tangent(...)` is the same body as plain, uncompiled Python returning only `value_dot`.
  It is inside srcgrad's own subset, so srcgrad's reverse mode can differentiate it: this is how
  `grad(grad(f))`, Hessian-vector products and `hessian` are built (reverse over forward).
* Symbolic constants (as JAX's symbolic zeros): a scalar tangent that is the same constant
  wherever it is assigned (0.0 or 1.0, mostly: the one-hot seeds of `build_grad` and what flows
  from them) gets no variable.  A zero is dropped from sums and products when the tangent code
  is generated and a one drops its multiplication.  IEEE forbids the compiler to fold `x * 0.0`
  (x may be inf or NaN), so this is where the work of a structurally-zero direction goes away;
  it also means an inf or NaN partial never reaches a direction that does not depend on it,
  as in reverse mode.
* Step Jacobians (`build_grad`, for a `for` loop with a straight-line body): the new tangent of
  each carried value in direction j is linear in the carried tangents at the start of the step
  and in the tangents that come from outside the loop: `y_1_dj = y_1_dy * y_dj + y_1_inj`.
  With few carried values and several directions, sweeping the body once per carried value
  (`_dy`: seeded with one, the rest symbolic zeros, so its partials need no multiplication) and
  once per direction through what the loop reads from outside (`_inj`: carried tangents symbolic
  zeros), then combining, is cheaper than sweeping every direction through the whole body.  It
  is chosen per loop when it emits fewer operations; the result is the same derivative, rounded
  differently by a few ulp (the chain rule applied in another order).
"""
from __future__ import annotations

import ast

from .. import ir
from ..errors import NoDerivativeRuleError
from ..rules.registry import substitute
from .activity import Analysis
from ..codegen.target import function
from ..codegen.astb import N, assign, call as _call, comment, index_ast, is_comment as _is_comment, op_ast
from ..codegen.astb import LineComments, carried, primal_expr, range_call as _range, total, zero

_GENERAL = "general"         # a tangent that is not known to be constant


class _Unknown(Exception):
    """Raised while solving for symbolic constants: an operand's tangent has no value yet."""


def _const_value(node):
    """The float of a constant tangent expression (`1`, `-1.0`), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        c = _const_value(node.operand)
        return None if c is None else -c
    return None


class Forward:
    """`ndir` tangent directions: 1 for a JVP (tangents are parameters), or one per argument in
    `argnums` for a whole gradient in one sweep (one-hot tangents, no tape: the fastest gradient
    of a loop with few scalar inputs)."""

    def __init__(self, fn: ir.Function, an: Analysis, names, aliases, ndir: int = 1):
        self.fn, self.an, self.names, self.ndir = fn, an, names, ndir
        self.dots: dict = {}
        self.j = 0            # the direction being emitted
        # (scalar variable, direction) -> its tangent's constant value, or _GENERAL; see solve()
        self.known: dict | None = None
        self._solving = False
        self._dry = False       # building expressions only to count their operations
        # A JVP's tangents are the caller's values, and often exactly zero in places (a one-hot
        # direction, an element of an array tangent): an infinite partial (sqrt at 0) times a
        # zero tangent must give 0, so such products go through _rt.zsafe.  build_grad's one-hot
        # seeds are symbolic constants, so its zeros are known while generating and dropped,
        # and its products stay plain (the per-element loop kernels of vectorize use it).
        self.zero_safe = True
        self.plans: list = []   # step-Jacobian plans of `for` loops (see _plan)
        self.plan_of: dict = {}  # id(ir.For) -> plan
        # arrays written in place, and every array that may share memory with one
        stored = {x.array.name for x in ir.walk_stmts(fn.body) if isinstance(x, ir.Store)}
        self.written = {v for v in aliases.objects if any(v == w or aliases.may_alias(v, w) for w in stored)}

    def dot(self, v: str, j=None) -> str:
        j = self.j if j is None else j
        if self._dry:
            return "_"
        if (v, j) not in self.dots:
            if isinstance(j, tuple):       # a step-Jacobian sweep: d v / d carried, or through the inputs
                base = f"{v}_d{j[2]}" if j[0] == "carried" else f"{v}_in{j[2]}"
            else:
                base = f"{v}_dot" if self.ndir == 1 else f"{v}_d{j}"
            self.dots[(v, j)] = self.names.fresh(base)
        return self.dots[(v, j)]

    def _key(self, v: str):
        """The direction whose tangent of v the current direction reads: a sweep through a loop's
        inputs reads the global direction's tangents of what the loop does not assign."""
        j = self.j
        if isinstance(j, tuple) and j[0] == "inputs" and v not in self.plans[j[1]].assigned:
            return j[2]
        return j

    def has(self, op) -> bool:
        return isinstance(op, ir.Var) and op.name in self.an.active

    def tangent_of(self, op):
        if self.has(op):
            c = self.constant(op.name)
            return N(self.dot(op.name, self._key(op.name))) if c is _GENERAL else ast.Constant(c)
        return ast.Constant(0.0)

    def result_tangent(self, res):
        """The returned value's tangent: a tuple's item by item, an array's with its shape."""
        if isinstance(res, ir.Tup):
            return ast.Tuple([self.result_tangent(item) for item in res.items], ast.Load())
        t = self.tangent_of(res)
        return self.array_tangent(res.name, t) if isinstance(res, ir.Var) else t

    def constant(self, v: str):
        """The constant value of v's tangent in the current direction, or _GENERAL."""
        if self.known is None or not self.an.is_scalar(v):
            return _GENERAL
        key = self._key(v)
        if isinstance(key, tuple) and key[0] == "carried" and v not in self.plans[key[1]].assigned:
            return 0.0          # d (what the loop does not assign) / d (a carried value)
        c = self.known.get((v, key))
        if c is None:
            if self._solving:
                raise _Unknown(v)
            return _GENERAL
        return c

    def solve(self, seeds: dict):
        """Find the scalar tangents that are one constant wherever they are assigned: an
        optimistic fixed point over every assignment (a tangent starts with no value; each
        assignment, evaluated with what is known, either agrees with the constant so far or makes
        the tangent general).  Flow-insensitive, so it holds at every read, in loops and branches
        alike.  `seeds`: the parameters' tangents, (name, direction) -> constant or _GENERAL."""
        stmts = [st for st in ir.walk_stmts(self.fn.body)
                 if isinstance(st, ir.Assign) and st.target in self.an.active and self.an.is_scalar(st.target)]
        self.known = dict(seeds)
        self._fixpoint(stmts, list(range(self.ndir)))

    def _fixpoint(self, stmts, keys):
        self._solving = True
        try:
            changed = True
            while changed:
                changed = False
                for st in stmts:
                    for self.j in keys:
                        key = (st.target, self.j)
                        old = self.known.get(key)
                        if old is _GENERAL:
                            continue
                        try:
                            c = _const_value(self.tangent(st))
                        except _Unknown:
                            continue
                        new = _GENERAL if c is None or (old is not None and old != c) else c
                        if new != old:
                            self.known[key], changed = new, True
                if not changed:     # assigned only from tangents that never get a value: general
                    for st in stmts:
                        for j in keys:
                            if (st.target, j) not in self.known:
                                self.known[(st.target, j)], changed = _GENERAL, True
        finally:
            self._solving = False

    def zero(self, v):
        return zero(v, self.an.is_scalar(v))

    # ------------------------------------------------------------------ statements
    def block(self, block) -> list:
        out, lines = [], LineComments()
        for s in block.stmts:
            out += lines.before(s)
            out += self.stmt(s)
        return out

    def stmt(self, s) -> list:
        if isinstance(s, ir.Assert):
            return [ast.Assert(op_ast(s.cond), None)]
        if isinstance(s, ir.Assign):
            out = [assign(s.target, carried(s, self.an.types, primal_expr(s.value)))]
            if s.target in self.an.active:
                for self.j in range(self.ndir):
                    if self.constant(s.target) is _GENERAL:
                        t = self.array_tangent(s.target, self._float(self.tangent(s)))
                        out.append(assign(self.dot(s.target), carried(s, self.an.types, t)))
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
            plan = self.plan_of.get(id(s))
            body = self.block(s.body) if plan is None else self.step_jacobian_block(plan)
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

    def array_tangent(self, target: str, t):
        """An array's tangent: a constant tangent becomes an array of its shape (the variable
        may be carried around a loop), and a tangent that is another variable's tangent is
        copied when the array is written in place (its tangent is then written too, which
        must not change the other one, or the caller's tangent argument)."""
        if not self.an.types[target].is_array:
            return t
        c = _const_value(t)
        if c is not None:
            return _call("_rt.zeros_like", N(target)) if c == 0.0 else _call("np.full_like", N(target), t)
        if isinstance(t, ast.Name) and target in self.written:
            return _call("_rt.copy", t)
        return t

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
                    d = self.tangent_of(a)
                    c = _const_value(d)
                    if c == 0.0:                      # symbolic zero: no term
                        continue
                    if c == 1.0:                      # symbolic one: the partial itself
                        terms.append(self._float(partial))
                    elif isinstance(partial, ast.Constant) and partial.value == 1:
                        terms.append(d)
                    elif isinstance(partial, ast.UnaryOp) and isinstance(partial.operand, ast.Constant) \
                            and partial.operand.value == 1:
                        terms.append(ast.UnaryOp(ast.USub(), d))
                    elif r.nonfinite[i] and c is None and self.zero_safe:
                        # a zero tangent (a direction that does not move this input, or an
                        # element of an array tangent) times an infinite partial is 0, not NaN
                        terms.append(_call("_rt.zsafe", d, partial))
                    else:
                        terms.append(ast.BinOp(partial, ast.Mult(), d))
            return total(terms)
        # vjp rules: the rule says the primitive is linear in its first argument, or gives a
        # tangent per argument
        if r.linear:
            t = self.tangent_of(v.args[0])
            if _const_value(t) == 0.0:          # a linear map of a zero tangent
                return ast.Constant(0.0)
            args = [t] + [op_ast(a) for a in v.args[1:]]
            return primal_expr(ir.Prim(r, tuple(_Tmp(a) for a in args)))
        active = [i for i, a in enumerate(v.args) if self.has(a)]
        if r.tangents and all(i < len(r.tangents) and r.tangents[i] is not None for i in active):
            terms = []
            for i in active:
                t = self.tangent_of(v.args[i])
                if _const_value(t) == 0.0:          # a symbolic zero contributes nothing
                    continue
                mapping = {"t": t, "out": N(s.target)}
                mapping.update({p: op_ast(a) for p, a in zip(r.params, v.args)})
                terms.append(substitute(r.tangents[i], mapping))
            return total(terms)
        raise NoDerivativeRuleError(
            f"`{r.name}` has a reverse-mode rule (vjp) but no forward-mode tangent", s.loc,
            "use grad/value_and_grad for this function, or declare the function's partials instead")

    # ------------------------------------------------------------------ step Jacobians
    def _plan(self, loop: ir.For):
        """Record a step-Jacobian plan for `loop` if its body allows one and it emits fewer
        operations than sweeping every direction through the body (module docstring)."""
        stmts = loop.body.stmts
        if loop.exit is not None or not stmts or not all(isinstance(st, ir.Assign) for st in stmts):
            return
        k = next((i for i, st in enumerate(stmts) if st.phi == "carry"), len(stmts))
        main, carries = stmts[:k], stmts[k:]
        if any(st.phi == "carry" for st in main) or not all(st.phi == "carry" for st in carries):
            return
        active = self.an.active
        reads = set().union(*(ir.reads_of(st) for st in stmts))
        if any(v in active and not self.an.is_scalar(v) for v in reads | {st.target for st in stmts}):
            return      # arrays: their tangents are not per step
        if any(isinstance(st.value, (ir.Load, ir.Raw)) and st.target in active for st in main):
            return
        if not all(isinstance(st.value, (ir.Var, ir.Const)) for st in carries):
            return
        carried = [st.target for st in carries if st.target in active
                   and any(self.known.get((st.target, j)) is _GENERAL for j in range(self.ndir))]
        if not carried:
            return
        assigned = {st.target for st in stmts}
        if {st.target for st in main} & {st.target for st in carries}:
            return
        made = set()            # the step map reads carried values at the start of the step only
        for st in main:
            if ir.reads_of(st) & (assigned - made) - {c.target for c in carries}:
                return
            made.add(st.target)
        # what is read outside the body must be carried (its tangent is the only one kept)
        inside = {id(st) for st in ir.walk_stmts(loop.body)}
        outside = set().union(*(ir.reads_of(st) for st in ir.walk_stmts(self.fn.body) if id(st) not in inside))
        outside |= ir.operand_names([self.fn.result])
        if (outside & assigned & active) - set(carried):
            return
        plan = _Plan(len(self.plans), main, carries, carried, assigned)
        self.plans.append(plan)
        plan.keys = [("carried", plan.index, c) for c in carried] + \
                    [("inputs", plan.index, j) for j in range(self.ndir)]
        for st in carries:          # a carry's tangent at the start of the step
            c = st.target
            for key in plan.keys:
                if c in carried:
                    self.known[(c, key)] = 1.0 if key == ("carried", plan.index, c) else 0.0
                else:               # constant in every direction: it comes in as an input
                    self.known[(c, key)] = 0.0 if key[0] == "carried" else self.known.get((c, key[2]), 0.0)
        self._fixpoint([st for st in main if st.target in active], plan.keys)
        if self._cost_plan(plan) < self._cost_sweeps(main):
            self.plan_of[id(loop)] = plan

    def _count(self, stmts, keys) -> int:
        self._dry = True
        try:
            n = 0
            for st in stmts:
                if st.target in self.an.active:
                    for self.j in keys:
                        if self.constant(st.target) is _GENERAL:
                            n += 1 + sum(isinstance(x, (ast.BinOp, ast.UnaryOp, ast.Call))
                                         for x in ast.walk(self.tangent(st)))
            return n
        finally:
            self._dry = False

    def _cost_sweeps(self, main) -> int:
        return self._count(main, range(self.ndir))

    def _cost_plan(self, plan) -> int:
        n = self._count(plan.main, plan.keys)
        self._dry = True
        try:
            for st in [st for st in plan.carries if self._combined(plan, st)]:
                for self.j in range(self.ndir):
                    n += sum(isinstance(x, (ast.BinOp, ast.UnaryOp)) for x in ast.walk(self._combine(plan, st)))
        finally:
            self._dry = False
        return n

    def _combined(self, plan, st) -> bool:
        """Whether carry `st` gets its new tangents from the step's Jacobian (its value is
        computed in the step; a carry of a value from before the step just copies tangents)."""
        return isinstance(st.value, ir.Var) and self.has(st.value) and \
            any(m.target == st.value.name for m in plan.main)

    def _combine(self, plan, st):
        """The new tangent of carry `st` in (global) direction self.j: sum over carried c of
        d value / d c * c's tangent, plus the tangent through the inputs."""
        j, value = self.j, st.value
        terms = []
        for c in plan.carried:
            self.j = ("carried", plan.index, c)
            jac = self.tangent_of(value)
            self.j = j
            t = self.tangent_of(ir.Var(c))
            if _const_value(jac) == 0.0 or _const_value(t) == 0.0:
                continue
            terms.append(t if _const_value(jac) == 1.0 else jac if _const_value(t) == 1.0
                         else ast.BinOp(jac, ast.Mult(), t))
        self.j = ("inputs", plan.index, j)
        direct = self.tangent_of(value)
        self.j = j
        if _const_value(direct) != 0.0:
            terms.append(direct)
        return self._float(total(terms))

    def step_jacobian_block(self, plan) -> list:
        out, lines = [], LineComments()
        for st in plan.main:
            out += lines.before(st)
            out.append(assign(st.target, primal_expr(st.value)))
            if st.target in self.an.active:
                for self.j in plan.keys:
                    if self.constant(st.target) is _GENERAL:
                        out.append(assign(self.dot(st.target), self._float(self.tangent(st))))
        out.append(comment("new tangents: the step's Jacobian ("
                           + ", ".join(f"_d{c}" for c in plan.carried)
                           + ") times the carried tangents, plus what comes through the inputs (_in<j>)"))
        for st in plan.carries:
            if self._combined(plan, st):
                for self.j in range(self.ndir):
                    if self.constant(st.value.name) is _GENERAL:
                        out.append(assign(self.dot(st.value.name), self._combine(plan, st)))
        for st in plan.carries:
            out += self.stmt(st)
        return out

    # ------------------------------------------------------------------ functions
    def _float(self, node):
        """A constant tangent written as a float (partials may be int literals)."""
        c = _const_value(node)
        return node if c is None else ast.Constant(c)

    def build_grad(self, name: str) -> ast.FunctionDef:
        """`name(params..., _seed) -> (value, (d value / d p for p in argnums) * _seed)`: the
        signature of a stack-free reverse-mode vjp, computed in one forward sweep.  The one-hot
        seeds of scalar parameters are symbolic constants (see the module docstring)."""
        fn = self.fn
        self.zero_safe = False
        seeds = {(fn.params[i].name, j): 1.0 if j == jj else 0.0
                 for jj, i in enumerate(fn.argnums) for j in range(self.ndir)}
        self.solve(seeds)
        for st in ir.walk_stmts(fn.body):
            if isinstance(st, ir.For):
                self._plan(st)
        body = []
        for j, i in enumerate(fn.argnums):
            p = fn.params[i].name
            for self.j in range(self.ndir):
                if self.constant(p) is _GENERAL:
                    body.append(assign(self.dot(p), ast.Constant(1.0 if self.j == j else 0.0)))
        body += self.block(fn.body)
        seed = self.names.fresh("_seed")
        grads = []
        for self.j in range(self.ndir):
            t = self.tangent_of(fn.result)
            grads.append(N(seed) if _const_value(t) == 1.0 else ast.BinOp(t, ast.Mult(), N(seed)))
        body.append(ast.Return(ast.Tuple([op_ast(fn.result), ast.Tuple(grads, ast.Load())], ast.Load())))
        params = [p.name for p in fn.params] + [seed]
        return function(name, ast.arguments([], [ast.arg(p) for p in params], None, [], [], None, []), body)

    def build(self, name: str, plain: bool) -> ast.FunctionDef:
        fn = self.fn
        if self.known is None:      # the tangents of the parameters are parameters: general
            self.solve({(fn.params[i].name, j): _GENERAL for i in fn.argnums for j in range(self.ndir)})
        body = self.block(fn.body)
        res = fn.result
        value = op_ast(res)
        tangent = self.result_tangent(res)
        ret = tangent if plain else ast.Tuple([value, tangent], ast.Load())
        body.append(ast.Return(ret))
        # hidden parameters (arrays read from globals) last, after the tangents
        params = [p.name for p in fn.params if not p.hidden] + [self.dot(fn.params[i].name) for i in fn.argnums] \
            + [p.name for p in fn.params if p.hidden]
        return function(name, ast.arguments([], [ast.arg(p) for p in params], None, [], [], None, []), body,
                               compiled=not plain)


class _Plan:
    """A `for` loop's step-Jacobian plan: body statements before the carries, the carries, the
    carried variables with a general tangent, the variables the body assigns, the sweep keys."""

    def __init__(self, index, main, carries, carried, assigned):
        self.index, self.main, self.carries, self.carried, self.assigned = index, main, carries, carried, assigned
        self.keys: list = []


class _Tmp(ir.Var):
    """An operand that is already an AST expression (for tangent expressions built from rules)."""

    def __init__(self, node):
        object.__setattr__(self, "name", "")
        object.__setattr__(self, "node", node)
