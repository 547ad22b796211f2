"""Lower desugared Python into the IR (srcgrad/ir.py): A-normal form, SSA names, helpers inlined.

What holds after this pass:
* every statement is an `ir` statement; every operation has its own `Assign` with a fresh or
  SSA-renamed target; the first binding of a source variable keeps the user's name, later ones
  are `name_1`, `name_2`, ... (deterministic);
* plain copies `y = x` and constants `s = 0.0` are bindings, not statements;
* values merged after an `if`, or carried around a loop, are phi variables assigned by copies
  (`Assign(phi="if"|"entry"|"carry")`); anything else defined inside a loop body or a branch
  is local to it (using it afterwards is refused with a located error);
* calls to plain Python helpers are inlined (their locations point into the helper's file);
  calls with a rule become `Prim`; inactive expressions (conditions, shape queries,
  constructors, non-differentiable calls) become `Raw`;
* names resolve read-only against each function's own globals; numeric globals are inlined.
"""
from __future__ import annotations

import ast
import builtins
import math
import operator
import re
import types as pytypes

import numpy as np

from .. import ir
from ..errors import (LocatedError, NoDerivativeRuleError, UnsupportedArrayUseError,
                      UnsupportedSyntaxError)
from ..frontend import resolve
from ..frontend.fence import fence
from ..frontend.source import parse_function
from ..rules import registry
from .desugar import desugar
from .naming import NameGen

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.Pow: "pow",
           ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.MatMult: "matmul"}
_FOLD = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
         "pow": operator.pow, "floordiv": operator.floordiv, "mod": operator.mod,
         "neg": operator.neg, "pos": operator.pos}
_ARRAY_ATTRS_INT = {"size", "ndim"}


class _Names(NameGen):
    """NameGen where a source variable may claim its own name once (user names are reserved
    against temporaries, not against themselves)."""

    def __init__(self, reserved):
        super().__init__()
        self.reserved = set(reserved)

    def fresh_source(self, base: str) -> str:
        """A new name for a variable srcgrad adds at the source level (flags, the return value):
        unique, and claimable once by the lowering like a user variable."""
        name = self.fresh(base)
        self.used.discard(name)
        self.reserved.add(name)
        return name

    def claim(self, base: str) -> str:
        if base not in self.used:
            self.used.add(base)
            return base
        return self.fresh(base)

    def fresh(self, base: str) -> str:
        if base not in self.used and base not in self.reserved:
            self.used.add(base)
            return base
        k = self.counters.get(base, 0)
        while True:
            k += 1
            cand = f"{base}_{k}"
            if cand not in self.used and cand not in self.reserved:
                self.counters[base] = k
                self.used.add(cand)
                return cand


class Lowerer:
    def __init__(self, parsed, names: _Names, inline_stack=()):
        self.p = parsed
        self.func = parsed.func
        self.names = names
        self.env: dict[str, object] = {}
        self.cur: ir.Block | None = None
        self.inline_stack = tuple(inline_stack) + (parsed.func,)
        self.array_vars: set[str] = set()     # SSA names known to be arrays
        self.loc_node = None

    # ------------------------------------------------------------------ helpers
    def loc(self, node):
        return self.p.loc(node)

    def emit(self, stmt):
        self.cur.stmts.append(stmt)

    def temp(self, hint="t"):
        return self.names.fresh(f"_{hint}")

    def error(self, cls, msg, node, hint=""):
        return cls(msg, self.loc(node), hint)

    # ------------------------------------------------------------------ entry points
    def lower_function(self, argnums) -> ir.Function:
        fdef = self.p.tree
        params = []
        for i, a in enumerate(fdef.args.args):
            name = self.names.claim(a.arg)
            self.env[a.arg] = ir.Var(name)
            params.append(ir.Param(name, i in argnums))
        body = ir.Block([], 0)
        self.cur = body
        result = self.lower_body(fdef)
        fn = ir.Function(self.p.name, params, body, result, self.loc(fdef), tuple(argnums))
        fn.array_vars = self._propagate_arrays(body)
        return fn

    def _propagate_arrays(self, body) -> set:
        """Array-ness flows through copies, phis and elementwise operations."""
        out = set(self.array_vars)
        changed = True
        while changed:
            changed = False
            for s in ir.walk_stmts(body):
                if isinstance(s, ir.Assign) and s.target not in out:
                    v = s.value
                    if (isinstance(v, ir.Var) and v.name in out) or (
                            isinstance(v, ir.Prim) and v.rule.result == "same"
                            and any(isinstance(a, ir.Var) and a.name in out for a in v.args)):
                        out.add(s.target)
                        changed = True
        return out

    def lower_body(self, fdef) -> object:
        stmts = desugar(fdef, self.names, self.loc)
        for s in stmts[:-1]:
            self.stmt(s)
        ret = stmts[-1]
        assert isinstance(ret, ast.Return)
        return self.read_name(ret.value.id, ret.value)

    # ------------------------------------------------------------------ statements
    def stmt(self, s):
        self.loc_node = s
        if isinstance(s, ast.Assign):
            return self.assign(s)
        if isinstance(s, ast.If):
            return self.if_(s)
        if isinstance(s, ast.For):
            return self.for_(s)
        if isinstance(s, ast.While):
            return self.while_(s)
        raise self.error(UnsupportedSyntaxError, f"the statement `{type(s).__name__}`", s)

    def assign(self, s: ast.Assign):
        target = s.targets[0]
        if isinstance(target, ast.Name):
            name = self.names.claim(target.id) if not self._is_plain_copy(s.value) else None
            op = self.expr(s.value, target=name)
            if name is not None and op != ir.Var(name):
                if isinstance(op, ir.Var):
                    self.emit(ir.Assign(name, op, self.loc(s)))
                    if op.name in self.array_vars:
                        self.array_vars.add(name)
                    op = ir.Var(name)
                else:   # a constant: keep it a binding; give the name back for later use
                    self.names.used.discard(name)
            self.env[target.id] = op
            return
        if isinstance(target, ast.Subscript):
            arr = self.array_operand(target.value, target)
            index = self.index(target.slice)
            value = self.expr(s.value)
            self.emit(ir.Store(arr, index, value, self.loc(s)))
            return
        raise self.error(UnsupportedSyntaxError, "assignment to this kind of target", s,
                         "assign to a variable or to an array element `y[i] = ...`")

    @staticmethod
    def _is_plain_copy(value):
        return isinstance(value, (ast.Name, ast.Constant)) or (
            isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
            and isinstance(value.operand, ast.Constant))

    def if_(self, s: ast.If):
        cond = self.condition(s.test)
        before = dict(self.env)
        body = ir.Block([], self.cur.depth)
        orelse = ir.Block([], self.cur.depth)
        parent = self.cur
        self.cur = body
        for t in s.body:
            self.stmt(t)
        env_b = self.env
        self.env = dict(before)
        self.cur = orelse
        for t in s.orelse:
            self.stmt(t)
        env_e = self.env
        self.cur = parent
        node = ir.If(cond, body, orelse, self.loc(s))
        merged = {}
        for name in sorted(set(env_b) | set(env_e)):
            vb, ve = env_b.get(name), env_e.get(name)
            if vb is None or ve is None:
                continue  # assigned on one side only: not defined after the if
            if vb == ve:
                merged[name] = vb
                continue
            phi = self.names.claim(name)
            body.stmts.append(ir.Assign(phi, vb, self.loc(s), phi="if"))
            orelse.stmts.append(ir.Assign(phi, ve, self.loc(s), phi="if"))
            if (isinstance(vb, ir.Var) and vb.name in self.array_vars) or \
                    (isinstance(ve, ir.Var) and ve.name in self.array_vars):
                self.array_vars.add(phi)
            node.phis.append(phi)
            merged[name] = ir.Var(phi)
        self.env = merged
        self.emit(node)

    def _assigned_in(self, stmts) -> set:
        out = set()
        for s in stmts:
            for n in ast.walk(s):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    out.add(n.id)
        return out

    def _loop_entry(self, s, body_stmts):
        carried = sorted(self._assigned_in(body_stmts) & set(self.env))
        phis = []
        for name in carried:
            phi = self.names.claim(name)
            init = self.env[name]
            self.emit(ir.Assign(phi, init, self.loc(s), phi="entry"))
            if isinstance(init, ir.Var) and init.name in self.array_vars:
                self.array_vars.add(phi)
            self.env[name] = ir.Var(phi)
            phis.append((name, phi))
        return phis

    def _loop_body(self, s, body_stmts, phis, body_block):
        """Lower the body; return the exit operand (or None). Appends carry copies."""
        exit_test = None
        stmts = list(body_stmts)
        last = stmts[-1] if stmts else None
        if isinstance(last, ast.If) and len(last.body) == 1 and isinstance(last.body[0], ast.Break) \
                and not last.orelse:
            exit_test = last.test
            stmts = stmts[:-1]
        outer_env = dict(self.env)
        parent = self.cur
        self.cur = body_block
        for t in stmts:
            self.stmt(t)
        exit_op = self.condition(exit_test) if exit_test is not None else None
        carries = []
        for name, phi in phis:
            nxt = self.env.get(name)
            if nxt is None:
                raise self.error(UnsupportedSyntaxError, f"`{name}` may be left undefined by the loop body", s)
            if nxt != ir.Var(phi):
                carries.append((phi, nxt))
        # the carries are parallel copies: a source that is another carry's target (x, y = y, x)
        # is read into a temporary first, or the first copy would clobber it
        targets = {phi for phi, _ in carries}
        for k, (phi, nxt) in enumerate(carries):
            if isinstance(nxt, ir.Var) and nxt.name in targets:
                tmp = self.temp("carry")
                body_block.stmts.append(ir.Assign(tmp, nxt, self.loc(s)))
                if nxt.name in self.array_vars:
                    self.array_vars.add(tmp)
                carries[k] = (phi, ir.Var(tmp))
        for phi, nxt in carries:
            body_block.stmts.append(ir.Assign(phi, nxt, self.loc(s), phi="carry"))
        self.cur = parent
        # after the loop only the carried values (and what existed before) are visible
        self.env = {k: v for k, v in outer_env.items()}
        return exit_op

    def for_(self, s: ast.For):
        from ..frontend.fence import _is_checkpoint_call
        checkpoint = None
        it = s.iter
        if _is_checkpoint_call(it):
            from ..extend import checkpoint as marker
            if self.callee(it.func) is not marker:
                raise self.error(UnsupportedSyntaxError, "a `for` loop over something other than `range(...)`", s,
                                 "use srcgrad.checkpoint(range(...), every=k) to checkpoint a loop")
            every = it.args[1] if len(it.args) == 2 else (it.keywords[0].value if it.keywords else None)
            checkpoint = self.expr(every) if every is not None else ir.Const(0)
            it = it.args[0]
            if self.cur.depth > 0:
                raise self.error(UnsupportedSyntaxError, "a checkpointed loop inside another loop", s,
                                 "checkpoint the outermost loop")
            if self._has_exit(s.body) or any(isinstance(n, (ast.Break, ast.Return)) for b in s.body for n in ast.walk(b)):
                raise self.error(UnsupportedSyntaxError, "`break`/`return` inside a checkpointed loop", s,
                                 "remove the checkpoint marker, or move the exit out of the loop")
            if any(isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store) for b in s.body for n in ast.walk(b)):
                raise self.error(UnsupportedArrayUseError, "array element writes inside a checkpointed loop", s,
                                 "re-running a segment would repeat the writes: remove the checkpoint marker")
        args = [self.expr(a) for a in it.args]
        if len(args) == 1:
            start, stop, step = ir.Const(0), args[0], ir.Const(1)
        elif len(args) == 2:
            (start, stop), step = args, ir.Const(1)
        else:
            start, stop, step = args
        if isinstance(step, ir.Const) and step.value == 0:
            raise self.error(UnsupportedSyntaxError, "range() with step 0", s)
        phis = self._loop_entry(s, s.body)
        trips = self.names.fresh("_trips")
        index_src = s.target.id
        if index_src in self.env and index_src in self._assigned_in(s.body):
            raise self.error(UnsupportedSyntaxError, f"assigning to the loop variable `{index_src}` inside the loop", s)
        index = self.names.claim(index_src)
        body = ir.Block([], self.cur.depth + 1)
        saved_index = self.env.get(index_src)
        self.env[index_src] = ir.Var(index)
        has_exit = self._has_exit(s.body)
        if not has_exit:
            expr = ast.Call(ast.Attribute(ast.Name("_rt", ast.Load()), "trip_count", ast.Load()),
                            [self._operand_ast(start), self._operand_ast(stop), self._operand_ast(step)], [])
            self.emit(ir.Assign(trips, ir.Raw(expr, frozenset(ir.operand_names([start, stop, step])),
                                              dtype="int"), self.loc(s)))
        exit_op = self._loop_body(s, s.body, phis, body)
        if saved_index is not None:
            self.env[index_src] = saved_index
        else:
            self.env.pop(index_src, None)
        self.emit(ir.For(index, start, stop, step, body, self.loc(s), trips, counted=has_exit,
                         exit=exit_op, phis=[p for _, p in phis], checkpoint=checkpoint))

    @staticmethod
    def _has_exit(body):
        last = body[-1] if body else None
        return isinstance(last, ast.If) and len(last.body) == 1 and isinstance(last.body[0], ast.Break)

    def while_(self, s: ast.While):
        phis = self._loop_entry(s, s.body)
        trips = self.names.fresh("_trips")
        cond_block = ir.Block([], self.cur.depth + 1)
        parent = self.cur
        self.cur = cond_block
        cond = self.condition(s.test)
        self.cur = parent
        body = ir.Block([], self.cur.depth + 1)
        exit_op = self._loop_body(s, s.body, phis, body)
        self.emit(ir.While(cond_block, cond, body, self.loc(s), trips, exit=exit_op,
                           phis=[p for _, p in phis]))

    # ------------------------------------------------------------------ expressions
    def read_name(self, name, node):
        if name in self.env:
            return self.env[name]
        obj = resolve.lookup(self.func, name)
        if resolve.is_number(obj):
            return ir.Const(_py_number(obj))
        if name in resolve.local_names(self.p.tree):
            raise self.error(UnsupportedSyntaxError, f"`{name}` is used where it may not be assigned", node,
                             "assign it before the `if`/loop on every path (a variable first assigned "
                             "inside a loop body or in only one branch is local to it)")
        if obj is resolve._MISSING:
            raise self.error(UnsupportedSyntaxError, f"the name `{name}` is not defined", node)
        raise self.error(UnsupportedSyntaxError,
                         f"`{name}` refers to a {type(obj).__name__}, not a number or an array", node,
                         "pass it as an argument, or make it a module-level numeric constant")

    def expr(self, e, target=None):
        if isinstance(e, ast.Constant):
            if isinstance(e.value, str):
                raise self.error(UnsupportedSyntaxError, "a string value", e, "use numbers only")
            if e.value is None:
                raise self.error(UnsupportedSyntaxError, "`None` as a value", e, "use numbers only")
            return ir.Const(e.value)
        if isinstance(e, ast.Name):
            return self.read_name(e.id, e)
        if isinstance(e, ast.BinOp):
            a = self.expr(e.left)
            b = self.expr(e.right)
            return self.prim(registry.lookup_operator(_BINOPS[type(e.op)]), (a, b), e, target)
        if isinstance(e, ast.UnaryOp):
            if isinstance(e.op, ast.Not):
                return self.raw(e, target)
            a = self.expr(e.operand)
            return self.prim(registry.lookup_operator("neg" if isinstance(e.op, ast.USub) else "pos"), (a,), e, target)
        if isinstance(e, (ast.Compare, ast.BoolOp)):
            return self.raw(e, target)
        if isinstance(e, ast.IfExp):
            return self.ifexp(e, target)
        if isinstance(e, ast.Call):
            return self.call(e, target)
        if isinstance(e, ast.Subscript):
            if isinstance(e.value, ast.Attribute) and e.value.attr == "shape":
                return self.raw(e, target)
            arr = self.array_operand(e.value, e)
            index = self.index(e.slice)
            t = target or self.temp()
            self.emit(ir.Assign(t, ir.Load(arr, index), self.loc(self.loc_node)))
            return ir.Var(t)
        if isinstance(e, ast.Attribute):
            return self.attribute(e, target)
        if isinstance(e, ast.Tuple):
            raise self.error(UnsupportedSyntaxError, "a tuple value", e,
                             "tuples are only supported as shapes, e.g. np.zeros((n, m))")
        raise self.error(UnsupportedSyntaxError, f"the expression `{type(e).__name__}`", e)

    def prim(self, rule, args, node, target=None):
        if rule.key == "pow" and isinstance(args[1], ir.Const) and type(args[1].value) is int and args[1].value < 0:
            # x ** -2 is a float in Python; Numba raises at x == 0 for a negative int power
            args = (args[0], ir.Const(float(args[1].value)))
        if rule.key in _FOLD and all(isinstance(a, ir.Const) for a in args):
            try:
                return ir.Const(_FOLD[rule.key](*(a.value for a in args)))
            except (ZeroDivisionError, OverflowError, ValueError):
                pass
        t = target or self.temp()
        self.emit(ir.Assign(t, ir.Prim(rule, tuple(args)), self.loc(self.loc_node)))
        if rule.array_only and args and isinstance(args[0], ir.Var):
            self.array_vars.add(args[0].name)
        if rule.result == "array" or (rule.result == "same" and any(
                isinstance(a, ir.Var) and a.name in self.array_vars for a in args)):
            self.array_vars.add(t)
        return ir.Var(t)

    def condition(self, test):
        if isinstance(test, ast.Name):
            op = self.read_name(test.id, test)
            if isinstance(op, ir.Var):
                return op
        return self.raw(test, None, hint="c")

    def ifexp(self, e: ast.IfExp, target):
        name = self.temp("sel")
        stmt = ast.copy_location(ast.If(
            test=e.test,
            body=[ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], e.body), e)],
            orelse=[ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], e.orelse), e)]), e)
        # the temporary is a source-level name in this scope for the duration of the merge
        self.names.used.discard(name)
        self.names.reserved.add(name)
        self.if_(stmt)
        return self.env.pop(name)

    def attribute(self, e: ast.Attribute, target):
        base = e.value
        if isinstance(base, ast.Name) and base.id not in self.env:
            obj = resolve.lookup(self.func, base.id)
            if isinstance(obj, pytypes.ModuleType):
                val = getattr(obj, e.attr, resolve._MISSING)
                if resolve.is_number(val):
                    return ir.Const(_py_number(val))
                raise self.error(UnsupportedSyntaxError, f"`{base.id}.{e.attr}` used as a value", e)
        if e.attr == "T":
            arr = self.array_operand(base, e)
            return self.prim(registry.lookup_operator("transpose"), (arr,), e, target)
        if e.attr in _ARRAY_ATTRS_INT:
            self.array_operand(base, e)
            return self.raw(e, target)
        raise self.error(UnsupportedSyntaxError, f"attribute access `.{e.attr}`", e,
                         "only array attributes .shape[k], .size, .ndim, .T and module constants are supported; "
                         "pass user objects' fields as separate arguments")

    def array_operand(self, node, where) -> ir.Var:
        if not isinstance(node, ast.Name):
            raise self.error(UnsupportedArrayUseError, "indexing the result of an expression", where,
                             "assign the array to a variable first")
        op = self.read_name(node.id, node)
        if not isinstance(op, ir.Var):
            raise self.error(UnsupportedArrayUseError, f"`{node.id}` is a number, not an array", where)
        self.array_vars.add(op.name)
        return op

    def index(self, sl) -> tuple:
        elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        return tuple(self.expr(x) for x in elts)

    # ------------------------------------------------------------------ calls
    def callee(self, f):
        """The object a call's function expression denotes (not a local variable)."""
        if isinstance(f, ast.Name):
            if f.id in self.env:
                raise self.error(UnsupportedSyntaxError, f"calling the variable `{f.id}`", f)
            return resolve.lookup(self.func, f.id)
        if isinstance(f, ast.Attribute):
            if isinstance(f.value, ast.Name) and f.value.id in self.env:
                return ("method", f.attr)
            base = self.callee(f.value)
            if isinstance(base, tuple):
                raise self.error(UnsupportedSyntaxError, "a method call on a method result", f)
            return getattr(base, f.attr, resolve._MISSING)
        raise self.error(UnsupportedSyntaxError, "calling the result of an expression", f)

    def call(self, e: ast.Call, target):
        obj = self.callee(e.func)
        name = ast.unparse(e.func)
        if isinstance(obj, tuple):  # method on a local array
            meth = obj[1]
            arr = self.array_operand(e.func.value, e)
            if meth == "copy" and not e.args:
                return self.prim(registry.lookup_operator("copy"), (arr,), e, target)
            if meth in ("sum", "mean") and not e.args and not e.keywords:
                return self.prim(registry.lookup(getattr(np, meth), 1), (arr,), e, target)
            raise self.error(UnsupportedSyntaxError, f"the array method `.{meth}()`", e,
                             "use the NumPy function form, e.g. np.sum(x)")
        if obj is resolve._MISSING:
            raise self.error(UnsupportedSyntaxError, f"the name `{name}` is not defined", e)
        if obj is builtins.range:
            raise self.error(UnsupportedSyntaxError, "range() outside a `for` statement", e)
        if obj in (builtins.min, builtins.max) and len(e.args) >= 2 and not e.keywords:
            ops = [self.expr(a) for a in e.args]
            rule = registry.lookup(obj, 2)
            acc = ops[0]
            for i, o in enumerate(ops[1:]):
                acc = self.prim(rule, (acc, o), e, target if i == len(ops) - 2 else None)
            return acc
        if resolve.is_helper(obj) and not registry.has_any_rule(obj):
            return self.inline(obj, e, target)
        if obj is math.log and len(e.args) == 2 and not e.keywords:   # composite: log(x) / log(base)
            log = registry.lookup(math.log, 1)
            num = self.prim(log, (self.expr(e.args[0]),), e)
            den = self.prim(log, (self.expr(e.args[1]),), e)
            return self.prim(registry.lookup_operator("truediv"), (num, den), e, target)
        args = list(e.args)
        if e.keywords:
            kw = {k.arg: k.value for k in e.keywords}
            if set(kw) == {"axis"} and obj in (np.sum, np.mean) and len(args) == 1:
                args.append(kw["axis"])
            else:
                rule = registry.lookup(obj, len(e.args)) or next(
                    (r for (k, _), r in registry.RULES.items() if k is obj), None)
                if rule is not None and rule.kind == "nondiff":
                    return self.raw(e, target)
                raise self.error(UnsupportedSyntaxError, f"keyword arguments in the call to `{name}`", e,
                                 "pass arguments by position")
        if obj is np.mean and len(args) == 2:   # composite: np.sum(x, axis) / x.shape[axis]
            arr = self.array_operand(args[0], e)
            axis = self.expr(args[1])
            total = self.prim(registry.lookup(np.sum, 2), (arr, axis), e)
            size = ast.Subscript(ast.Attribute(ast.Name(arr.name, ast.Load()), "shape", ast.Load()),
                                 self._operand_ast(axis), ast.Load())
            t = self.temp()
            self.emit(ir.Assign(t, ir.Raw(size, frozenset({arr.name} | ir.operand_names([axis])), dtype="int"),
                                self.loc(self.loc_node)))
            return self.prim(registry.lookup_operator("truediv"), (total, ir.Var(t)), e, target)
        rule = registry.lookup(obj, len(args))
        if rule is None:
            if registry.has_any_rule(obj):
                raise self.error(NoDerivativeRuleError, f"`{name}` with {len(args)} argument(s) has no derivative rule", e)
            raise self.error(
                NoDerivativeRuleError, f"`{name}` has no derivative rule", e,
                "write it as a plain Python helper function (srcgrad differentiates through helpers), "
                "or compute it outside and pass the value in; user-declared rules are planned (issue #9)")
        if rule.kind == "nondiff":
            return self.raw(e, target)
        ops = tuple(self.expr(a) for a in args)
        return self.prim(rule, ops, e, target)

    def inline(self, fn, call: ast.Call, target):
        if fn in self.inline_stack:
            raise self.error(UnsupportedSyntaxError, f"recursion: `{fn.__name__}` calls itself", call,
                             "rewrite the recursion as a loop")
        if call.keywords:
            raise self.error(UnsupportedSyntaxError, f"keyword arguments in the call to helper `{fn.__name__}`", call,
                             "pass arguments by position")
        parsed = parse_function(fn)
        fence(parsed.tree, parsed.loc)
        params = [a.arg for a in parsed.tree.args.args]
        defaults = fn.__defaults__ or ()
        if not (len(params) - len(defaults) <= len(call.args) <= len(params)):
            raise self.error(UnsupportedSyntaxError,
                             f"`{fn.__name__}` takes {len(params)} arguments, {len(call.args)} given", call)
        ops = [self.expr(a) for a in call.args]
        for d in defaults[len(ops) - (len(params) - len(defaults)):]:
            if not resolve.is_number(d):
                raise self.error(UnsupportedSyntaxError, f"a non-numeric default in `{fn.__name__}`", call)
            ops.append(ir.Const(_py_number(d)))
        self.names.reserved |= NameGen.identifiers(parsed.tree)
        child = Lowerer(parsed, self.names, self.inline_stack)
        child.cur = self.cur
        child.array_vars = self.array_vars
        for p, op in zip(params, ops):
            child.env[p] = op
        result = child.lower_body(parsed.tree)
        if target is not None and result != ir.Var(target):
            if isinstance(result, ir.Var):
                self.emit(ir.Assign(target, result, self.loc(self.loc_node)))
                return ir.Var(target)
        return result

    # ------------------------------------------------------------------ raw (inactive) expressions
    def raw(self, e, target, hint="t"):
        reads = set()
        kind, dtype = "scalar", "unknown"
        if isinstance(e, (ast.Compare, ast.BoolOp)) or (isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not)):
            dtype = "bool"
        lowerer = self

        class Rename(ast.NodeTransformer):
            def visit_Name(self, node):
                if node.id in lowerer.env:
                    op = lowerer.env[node.id]
                    if isinstance(op, ir.Const):
                        return ast.copy_location(ast.Constant(op.value), node)
                    reads.add(op.name)
                    return ast.copy_location(ast.Name(op.name, ast.Load()), node)
                obj = resolve.lookup(lowerer.func, node.id)
                if resolve.is_number(obj):
                    return ast.copy_location(ast.Constant(_py_number(obj)), node)
                if isinstance(obj, pytypes.ModuleType):
                    return ast.copy_location(ast.Name(_module_alias(obj, node, lowerer), ast.Load()), node)
                return ast.copy_location(ast.Name(_canonical(obj, node, lowerer), ast.Load()), node)

            def visit_Attribute(self, node):
                if isinstance(node.value, ast.Name) and node.value.id not in lowerer.env:
                    obj = resolve.lookup(lowerer.func, node.value.id)
                    if isinstance(obj, pytypes.ModuleType):
                        val = getattr(obj, node.attr, resolve._MISSING)
                        if resolve.is_number(val):
                            return ast.copy_location(ast.Constant(_py_number(val)), node)
                        return ast.copy_location(ast.Name(_canonical(val, node, lowerer), ast.Load()), node)
                self.generic_visit(node)
                return node

            def visit_Call(self, node):
                obj = None
                try:
                    obj = lowerer.callee(node.func)
                except LocatedError:
                    pass
                if resolve.is_helper(obj) and not registry.has_any_rule(obj):
                    raise lowerer.error(UnsupportedSyntaxError,
                                        f"a call to helper `{obj.__name__}` inside a condition", node,
                                        "assign the helper's result to a variable first")
                self.generic_visit(node)
                return node

        expr = Rename().visit(_deepcopy(e))
        for node in ast.walk(expr):   # len(x), x.shape, x.size, x.ndim reveal arrays
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
                    and node.args and isinstance(node.args[0], ast.Name):
                self.array_vars.add(node.args[0].id)
            if isinstance(node, ast.Attribute) and node.attr in ("shape", "size", "ndim") \
                    and isinstance(node.value, ast.Name):
                self.array_vars.add(node.value.id)
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                self.array_vars.add(node.value.id)   # x[i] in a condition reveals an array too
        if isinstance(e, ast.Call):
            obj = self.callee(e.func)
            rule = next((r for (k, _), r in registry.RULES.items() if k is obj), None)
            if rule is not None and rule.result == "array":
                kind = "array"
            if rule is not None and rule.result in ("int", "bool"):
                dtype = rule.result
        if isinstance(e, ast.Subscript) or (isinstance(e, ast.Attribute) and e.attr in _ARRAY_ATTRS_INT):
            dtype = "int"
        t = target or self.temp(hint)
        self.emit(ir.Assign(t, ir.Raw(ast.fix_missing_locations(expr), frozenset(reads), kind, dtype),
                            self.loc(self.loc_node)))
        if kind == "array":
            self.array_vars.add(t)
        return ir.Var(t)

    def _operand_ast(self, op):
        if isinstance(op, ir.Const):
            return ast.Constant(op.value)
        return ast.Name(op.name, ast.Load())


def _deepcopy(node):
    import copy
    return copy.deepcopy(node)


def _py_number(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    return float(v)


def _module_alias(mod, node, lowerer):
    if mod is np:
        return "np"
    if mod.__name__ == "math":
        return "math"
    if mod.__name__ == "srcgrad.runtime":   # generated tangent code, differentiated again
        return "_rt"
    raise lowerer.error(UnsupportedSyntaxError, f"the module `{mod.__name__}`", node,
                        "only `math` and `numpy` are supported inside a differentiated function")


def _canonical(obj, node, lowerer):
    """The name generated code uses for a callable or dtype read inside an inactive expression."""
    rule = next((r for (k, _), r in registry.RULES.items() if k is obj), None) if obj is not None else None
    if rule is not None and re.fullmatch(r"[A-Za-z_][\w.]*", rule.call or ""):
        return rule.call
    if obj in (builtins.len, builtins.int, builtins.float, builtins.abs, builtins.min, builtins.max,
               builtins.round, builtins.bool):
        return obj.__name__
    if isinstance(obj, type) and issubclass(obj, np.generic):
        return f"np.{obj.__name__}"
    if isinstance(obj, np.dtype):
        return f"np.{obj.name}"
    raise lowerer.error(NoDerivativeRuleError, f"`{ast.unparse(node)}` cannot be used here", node,
                        "inside conditions and shape expressions use math/numpy functions, len(), int() and numbers")


def lower(parsed, argnums) -> ir.Function:
    """Fence, desugar and lower `parsed` (a ParsedFunction) into the IR."""
    fence(parsed.tree, parsed.loc)
    names = _Names(NameGen.identifiers(parsed.tree))
    return Lowerer(parsed, names).lower_function(tuple(argnums))
