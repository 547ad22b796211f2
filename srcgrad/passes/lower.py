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

from .. import abstract, ir
from ..errors import (LocatedError, NoDerivativeRuleError, UnsupportedArrayUseError,
                      UnsupportedSyntaxError)
from ..frontend import resolve
from ..frontend.fence import fence
from ..frontend.source import parse_function
from ..rules import registry, shapes
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
        self.ty: dict[str, object] = {}       # SSA name -> abstract type (abstract.Ty)
        self.hidden: dict = {}                # (function, global name) -> hidden parameter name
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
    def lower_function(self, argnums, sig) -> ir.Function:
        fdef = self.p.tree
        params = []
        for i, a in enumerate(fdef.args.args):
            name = self.names.claim(a.arg)
            self.env[a.arg] = ir.Var(name)
            self.ty[name] = sig[i]
            params.append(ir.Param(name, i in argnums))
        body = ir.Block([], 0)
        self.cur = body
        result = self.lower_body(fdef)
        for (func, gname), pname in self.hidden.items():
            params.append(ir.Param(pname, False, hidden=(func.__qualname__, gname)))
        fn = ir.Function(self.p.name, params, body, result, self.loc(fdef), tuple(argnums))
        fn.types = self.ty
        return fn

    # ------------------------------------------------------------------ types
    def type_of(self, op):
        if isinstance(op, ir.Const):
            return abstract.of_value(op.value)
        return self.ty[op.name]

    def set_type(self, name, ty):
        self.ty[name] = ty

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
                    self.set_type(name, self.type_of(op))
                    op = ir.Var(name)
                else:   # a constant: keep it a binding; give the name back for later use
                    self.names.used.discard(name)
            self.env[target.id] = op
            return
        if isinstance(target, ast.Subscript):
            arr = self.array_operand(target.value, target)
            index = self.index(target.slice, arr, target)
            region = self.index_type(arr, index, target)
            value = self.expr(s.value)
            vt = self.type_of(value)
            if vt.ndim > region.ndim:
                raise self.error(UnsupportedArrayUseError,
                                 f"{vt} written into `{ast.unparse(target)}`, which is {region}", s,
                                 "the value must broadcast to the region written")
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
            ty = abstract.join(self.type_of(vb), self.type_of(ve))
            if ty is None:
                raise self.error(UnsupportedArrayUseError,
                                 f"`{name}` is {self.type_of(vb)} after the `if` branch and "
                                 f"{self.type_of(ve)} after the `else` branch", s,
                                 "give the variable the same kind of value on every path "
                                 "(e.g. np.zeros_like(x) instead of 0.0)")
            phi = self.names.claim(name)
            body.stmts.append(ir.Assign(phi, vb, self.loc(s), phi="if"))
            orelse.stmts.append(ir.Assign(phi, ve, self.loc(s), phi="if"))
            self.set_type(phi, ty)
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
            self.set_type(phi, self.type_of(init))
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
                if abstract.join(self.ty[phi], self.type_of(nxt)) is None:
                    raise self.error(UnsupportedArrayUseError,
                                     f"`{name}` is {self.ty[phi]} before the loop and "
                                     f"{self.type_of(nxt)} at the end of its body", s,
                                     "give the variable the same kind of value before and inside the loop "
                                     "(e.g. start from np.zeros_like(x) instead of 0.0)")
                carries.append((phi, nxt))
        # the carries are parallel copies: a source that is another carry's target (x, y = y, x)
        # is read into a temporary first, or the first copy would clobber it
        targets = {phi for phi, _ in carries}
        for k, (phi, nxt) in enumerate(carries):
            if isinstance(nxt, ir.Var) and nxt.name in targets:
                tmp = self.temp("carry")
                body_block.stmts.append(ir.Assign(tmp, nxt, self.loc(s)))
                self.set_type(tmp, self.type_of(nxt))
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
        self.set_type(index, abstract.INT)
        self.set_type(trips, abstract.INT)
        body = ir.Block([], self.cur.depth + 1)
        saved_index = self.env.get(index_src)
        self.env[index_src] = ir.Var(index)
        has_exit = self._has_exit(s.body)
        if not has_exit:
            expr = ast.Call(ast.Attribute(ast.Name("_rt", ast.Load()), "trip_count", ast.Load()),
                            [self._operand_ast(start), self._operand_ast(stop), self._operand_ast(step)], [])
            self.emit(ir.Assign(trips, ir.Raw(expr, frozenset(ir.operand_names([start, stop, step])),
                                              abstract.INT), self.loc(s)))
            self.set_type(trips, abstract.INT)
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
        self.set_type(trips, abstract.INT)
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
        if isinstance(obj, np.ndarray) and name not in resolve.local_names(self.p.tree):
            return self.hidden_array(self.func, name, obj, node)
        if name in resolve.local_names(self.p.tree):
            raise self.error(UnsupportedSyntaxError, f"`{name}` is used where it may not be assigned", node,
                             "assign it before the `if`/loop on every path (a variable first assigned "
                             "inside a loop body or in only one branch is local to it)")
        if obj is resolve._MISSING:
            raise self.error(UnsupportedSyntaxError, f"the name `{name}` is not defined", node)
        raise self.error(UnsupportedSyntaxError,
                         f"`{name}` refers to a {type(obj).__name__}, not a number or an array", node,
                         "pass it as an argument, or make it a module-level numeric constant")

    def hidden_array(self, func, name, obj, node):
        """An array read from the function's globals or closure (data held outside, the SciPy
        pattern): a hidden parameter, passed at each call with the object the name holds then, so
        the data is never baked into the generated code."""
        key = (func, name)
        pname = self.hidden.get(key)
        if pname is None:
            try:
                ty = abstract.of_value(obj)
            except TypeError as exc:
                raise self.error(UnsupportedSyntaxError, f"`{name}` holds an array srcgrad cannot use: {exc}",
                                 node) from None
            pname = self.names.fresh(f"_g_{name.replace('.', '_')}")
            self.hidden[key] = pname
            self.ty[pname] = ty
        return ir.Var(pname)

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
            index = self.index(e.slice, arr, e)
            ty = self.index_type(arr, index, e)
            t = target or self.temp()
            self.emit(ir.Assign(t, ir.Load(arr, index), self.loc(self.loc_node)))
            self.set_type(t, ty)
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
        tys = [self.type_of(a) for a in args]
        if rule.array_only and tys and not tys[0].is_array:
            raise self.error(UnsupportedArrayUseError,
                             f"`{rule.name}` needs an array, and its argument is {tys[0]}", node)
        try:
            ty = rule.result_type(tys, [a.value if isinstance(a, ir.Const) else None for a in args])
        except shapes.Refusal as exc:
            raise self.error(UnsupportedArrayUseError, f"`{rule.name}`: {exc.message}", node, exc.hint) from None
        if rule.key is np.dot and any(not t.is_array for t in tys):     # Numba has no np.dot of a number
            return self.prim(registry.lookup_operator("mul"), args, node, target)
        t = target or self.temp()
        self.emit(ir.Assign(t, ir.Prim(rule, tuple(args)), self.loc(self.loc_node)))
        self.set_type(t, ty)
        return ir.Var(t)

    def condition(self, test):
        op = None
        if isinstance(test, ast.Name):
            op = self.read_name(test.id, test)
        if not isinstance(op, ir.Var):
            op = self.raw(test, None, hint="c")
        if self.type_of(op).is_array:
            raise self.error(UnsupportedArrayUseError, "the condition is an array, not a single truth value", test,
                             "use np.where(cond, a, b) for element-wise choices, or np.all(...)/np.any(...)")
        return op

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
                if isinstance(val, np.ndarray):
                    return self.hidden_array(self.func, f"{base.id}.{e.attr}", val, e)
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
        op = self.read_name(node.id, node) if isinstance(node, ast.Name) else self.expr(node)
        if not isinstance(op, ir.Var) or not self.type_of(op).is_array:
            what = f"`{node.id}`" if isinstance(node, ast.Name) else f"`{ast.unparse(node)}`"
            raise self.error(UnsupportedArrayUseError, f"{what} is a number, not an array", where)
        return op

    def index_type(self, arr, index, node):
        """The type of `arr[index]` (NumPy's basic indexing): an element when every dimension is
        indexed by an integer, else a view with one dimension per slice or `None`."""
        ty = self.type_of(arr)
        ints = [i for i in index if isinstance(i, (ir.Var, ir.Const))]
        for i in ints:
            it = self.type_of(i)
            if it.is_array:
                raise self.error(UnsupportedArrayUseError,
                                 f"`{ast.unparse(node)}` indexes with an array (fancy or boolean indexing)", node,
                                 "index with integers and slices; for a mask use np.where(mask, x, 0.0)")
        dims = sum(1 for i in index if i is not None)
        if dims > ty.ndim:
            raise self.error(UnsupportedArrayUseError,
                             f"{dims} indices for `{ast.unparse(node.value)}`, which is {ty}", node)
        from .activity import load_type
        return load_type(ty, index)

    def index(self, sl, arr, node) -> tuple:
        """An index as IR: integer operands, ir.Slice, None (a new axis); `...` expanded."""
        elts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        if any(isinstance(x, ast.Constant) and x.value is Ellipsis for x in elts):
            ndim = self.type_of(arr).ndim
            used = sum(1 for x in elts if not (isinstance(x, ast.Constant) and x.value in (None, Ellipsis)))
            k = next(i for i, x in enumerate(elts) if isinstance(x, ast.Constant) and x.value is Ellipsis)
            elts = elts[:k] + [ast.Slice()] * (ndim - used) + elts[k + 1:]
        out = []
        for x in elts:
            if isinstance(x, ast.Slice):
                parts = [None if p is None else self.expr(p) for p in (x.lower, x.upper, x.step)]
                for p in parts:
                    if p is not None and self.type_of(p).is_array:
                        raise self.error(UnsupportedArrayUseError, "a slice bound that is an array", node)
                out.append(ir.Slice(*parts))
            elif isinstance(x, ast.Constant) and x.value is None:
                out.append(None)
            else:
                out.append(self.expr(x))
        return tuple(out)

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
            return self.inline(resolve.helper_function(obj), e, target)
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
            self.emit(ir.Assign(t, ir.Raw(size, frozenset({arr.name} | ir.operand_names([axis])), abstract.INT),
                                self.loc(self.loc_node)))
            self.set_type(t, abstract.INT)
            return self.prim(registry.lookup_operator("truediv"), (total, ir.Var(t)), e, target)
        rule = registry.lookup(obj, len(args))
        if rule is None:
            if registry.has_any_rule(obj):
                raise self.error(NoDerivativeRuleError, f"`{name}` with {len(args)} argument(s) has no derivative rule", e)
            if getattr(obj, "__module__", None) == "math" or isinstance(obj, np.ufunc):
                # a constant while no differentiated value reaches it (math.lgamma(0.5 * d)):
                # the activity pass refuses it otherwise
                t = self.raw(e, target)
                self.cur.stmts[-1].value.norule = name
                return t
            raise self.error(
                NoDerivativeRuleError, f"`{name}` has no derivative rule", e,
                "write it as a plain Python helper function (srcgrad differentiates through helpers), "
                "give it one with @srcgrad.partials, or compute it outside and pass the value in")
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
        child.ty = self.ty
        child.hidden = self.hidden
        for p, op in zip(params, ops):
            child.env[p] = op
        result = child.lower_body(parsed.tree)
        if target is not None and result != ir.Var(target):
            if isinstance(result, ir.Var):
                self.emit(ir.Assign(target, result, self.loc(self.loc_node)))
                self.set_type(target, self.type_of(result))
                return ir.Var(target)
        return result

    # ------------------------------------------------------------------ raw (inactive) expressions
    def raw(self, e, target, hint="t"):
        reads = set()
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
                if isinstance(obj, np.ndarray):
                    v = lowerer.hidden_array(lowerer.func, node.id, obj, node)
                    reads.add(v.name)
                    return ast.copy_location(ast.Name(v.name, ast.Load()), node)
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
        ty = RawTyper(self.ty, e, self.loc).type(expr)
        if not isinstance(ty, abstract.Ty):
            raise self.error(UnsupportedSyntaxError, f"a {ty} value here", e,
                             "tuples are only supported as shapes, e.g. np.zeros((n, m))")
        t = target or self.temp(hint)
        self.emit(ir.Assign(t, ir.Raw(ast.fix_missing_locations(expr), frozenset(reads), ty),
                            self.loc(self.loc_node)))
        self.set_type(t, ty)
        return ir.Var(t)

    def _operand_ast(self, op):
        if isinstance(op, ir.Const):
            return ast.Constant(op.value)
        return ast.Name(op.name, ast.Load())


_CONSTRUCTORS = {np.zeros, np.ones, np.empty, np.full}
_LIKE = {np.zeros_like, np.ones_like, np.empty_like, np.full_like}
_DTYPE_KIND = {bool: "b", int: "i", float: "f"}


class RawTyper:
    """The abstract type of an inactive expression (already renamed to SSA names): comparisons,
    shape queries, integer arithmetic, array constructors, non-differentiable calls."""

    def __init__(self, types, where, loc):
        self.types, self.where, self.loc = types, where, loc

    def _obj(self, node):
        """The Python object a (renamed) callee expression names: np.zeros, len, math.floor, ..."""
        import srcgrad.runtime as rt
        if isinstance(node, ast.Name):      # `np.zeros` may be one dotted Name after renaming
            head, *rest = node.id.split(".")
            obj = {"np": np, "math": math, "_rt": rt}.get(head, getattr(builtins, head, None))
            for part in rest:
                obj = getattr(obj, part, None)
            return obj
        if isinstance(node, ast.Attribute):
            base = self._obj(node.value)
            return getattr(base, node.attr, None) if base is not None else None
        return None

    def _dtype_kw(self, call, default):
        for k in call.keywords:
            if k.arg == "dtype":
                obj = self._obj(k.value)
                if obj in _DTYPE_KIND:
                    return _DTYPE_KIND[obj]
                try:
                    kind = np.dtype(obj).kind
                except TypeError:
                    return default
                return "f" if kind == "f" else ("b" if kind == "b" else "i")
        return default

    def type(self, node):
        t = self.types
        if isinstance(node, ast.Constant):
            return abstract.of_value(node.value) if not isinstance(node.value, str) else abstract.FLOAT
        if isinstance(node, ast.Name):
            return t.get(node.id, abstract.FLOAT)
        if isinstance(node, ast.Compare):
            return abstract.broadcast(*(self.type(x) for x in [node.left] + node.comparators), dtype="b")
        if isinstance(node, ast.BoolOp):
            return abstract.broadcast(*(self.type(x) for x in node.values), dtype="b")
        if isinstance(node, ast.UnaryOp):
            inner = self.type(node.operand)
            return abstract.broadcast(inner, dtype="b") if isinstance(node.op, ast.Not) else inner
        if isinstance(node, ast.BinOp):
            a, b = self.type(node.left), self.type(node.right)
            if isinstance(node.op, ast.Div):
                return abstract.broadcast(a, b, dtype="f")
            if isinstance(node.op, ast.MatMult):
                return shapes.matmul([a, b], [None, None])
            return abstract.broadcast(a, b)
        if isinstance(node, ast.IfExp):
            return abstract.join(self.type(node.body), self.type(node.orelse)) or abstract.FLOAT
        if isinstance(node, ast.Tuple):
            return abstract.TupleTy(tuple(self.type(x) for x in node.elts))
        if isinstance(node, ast.Attribute):
            base = self.type(node.value)
            if node.attr == "shape" and isinstance(base, abstract.Ty):
                return abstract.TupleTy((abstract.INT,) * base.ndim)
            if node.attr in ("size", "ndim"):
                return abstract.INT
            if node.attr == "T":
                return base
            return abstract.FLOAT
        if isinstance(node, ast.Subscript):
            base = self.type(node.value)
            if isinstance(base, abstract.TupleTy):
                return abstract.INT
            if isinstance(base, abstract.Ty):
                n = len(node.slice.elts) if isinstance(node.slice, ast.Tuple) else 1
                return abstract.Ty(max(base.ndim - n, 0), base.dtype)
            return abstract.FLOAT
        if isinstance(node, ast.Call):
            return self.call(node)
        return abstract.FLOAT

    def call(self, node):
        obj = self._obj(node.func)
        args = [self.type(a) for a in node.args]
        if obj in _CONSTRUCTORS:
            shape = node.args[0] if node.args else None
            nd = shapes.shape_ndim(args[0] if args else None, None)
            if isinstance(shape, ast.Constant):
                nd = 1
            default = "f"
            if obj is np.full and len(args) > 1 and isinstance(args[1], abstract.Ty):
                default = args[1].dtype
            return abstract.Ty(nd, self._dtype_kw(node, default))
        if obj in _LIKE:
            like = args[0] if args else abstract.FLOAT
            return abstract.Ty(like.ndim, self._dtype_kw(node, like.dtype))
        if obj is np.arange:
            kinds = [a.dtype for a in args if isinstance(a, abstract.Ty)]
            return abstract.Ty(1, self._dtype_kw(node, abstract.promote(*kinds) if kinds else "i"))
        if obj is np.linspace:
            return abstract.Ty(1, "f")
        if obj in (np.eye, np.identity):
            return abstract.Ty(2, self._dtype_kw(node, "f"))
        if obj in (builtins.len, builtins.int, builtins.round) or obj in (math.floor, math.ceil, math.trunc):
            return abstract.INT
        if obj is builtins.float:
            return abstract.FLOAT
        if obj is builtins.bool:
            return abstract.BOOL
        if obj in (builtins.abs, builtins.min, builtins.max):
            return abstract.broadcast(*args) if args else abstract.FLOAT
        rule = registry.lookup(obj, len(node.args)) if obj is not None else None
        if rule is not None and rule.typer is not None and all(isinstance(a, abstract.Ty) for a in args):
            return rule.result_type(args, [None] * len(args))
        return abstract.FLOAT


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


def lower(parsed, argnums, sig=None) -> ir.Function:
    """Fence, desugar and lower `parsed` (a ParsedFunction) into the IR, typed for the abstract
    signature `sig` (one abstract.Ty per parameter; every parameter a number when None)."""
    fence(parsed.tree, parsed.loc)
    names = _Names(NameGen.identifiers(parsed.tree))
    if sig is None:
        sig = (abstract.FLOAT,) * len(parsed.tree.args.args)
    return Lowerer(parsed, names).lower_function(tuple(argnums), tuple(sig))
