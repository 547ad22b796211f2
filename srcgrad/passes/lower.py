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
from dataclasses import dataclass

import numpy as np

from .. import abstract, ir, nested
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
_ARRAY_ATTRS_INT = {"size"}
_COMPARE = {ast.Lt: operator.lt, ast.Gt: operator.gt, ast.LtE: operator.le, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Is: operator.is_, ast.IsNot: operator.is_not,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


TupleVal = ir.Tup       # a tuple known element by element while lowering (a shape, several results)


@dataclass
class LocalDef:
    """A function defined inside the function being lowered: inlined where it is called, reading
    the enclosing variables as they are at the call (Python's late binding)."""
    node: ast.FunctionDef


_NOFOLD = object()


class _Names(NameGen):
    """NameGen where a source variable may claim its own name once (user names are reserved
    against temporaries, not against themselves)."""

    def __init__(self, reserved):
        super().__init__()
        self.reserved = set(reserved)
        self.source_names: dict[str, list[str]] = {}    # SSA name -> the names the user bound to it

    def note_source_name(self, ssa: str, name: str):
        names = self.source_names.setdefault(ssa, [])
        if name not in names:
            names.append(name)

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
    call_loc = None     # inside srcgrad's own composites: the user's call, for comments and errors

    def loc(self, node):
        return self.call_loc or self.p.loc(node)

    def emit(self, stmt):
        self.cur.stmts.append(stmt)

    def bind(self, name: str, op):
        """The source name `name` now stands for `op`; remembered for error messages, which
        name the user's variables, not SSA ones (srcgrad's own composites bind no names)."""
        self.env[name] = op
        if isinstance(op, ir.Var) and self.call_loc is None and not name.startswith("_"):
            self.names.note_source_name(op.name, name)

    def temp(self, hint="t"):
        return self.names.temp(hint)

    def error(self, cls, msg, node, hint=""):
        return cls(msg, self.loc(node), hint)

    # ------------------------------------------------------------------ entry points
    def lower_function(self, argnums, sig, stmts=None) -> ir.Function:
        """The IR of the parsed function; `stmts`: its body already desugared (by `desugared`)."""
        fdef = self.p.tree
        params = []
        for i, a in enumerate(fdef.args.args):
            name = self.names.claim(a.arg)
            self.bind(a.arg, ir.Var(name))
            self.ty[name] = sig[i]
            params.append(ir.Param(name, i in argnums))
        body = ir.Block([], 0)
        self.cur = body
        result = self.lower_body(fdef, stmts=stmts)
        for (func, gname), pname in self.hidden.items():
            params.append(ir.Param(pname, False, hidden=(func.__qualname__, gname)))
        fn = ir.Function(self.p.name, params, body, result, self.loc(fdef), tuple(argnums))
        fn.types = self.ty
        fn.source_names = self.names.source_names
        return fn

    # ------------------------------------------------------------------ types
    def type_of(self, op):
        if isinstance(op, ir.Const):
            return abstract.NONE if op.value is None else abstract.of_value(op.value)
        if isinstance(op, TupleVal):
            return abstract.TupleTy(tuple(self.type_of(i) for i in op.items))
        if isinstance(op, LocalDef):
            raise self.error(UnsupportedSyntaxError, f"the function `{op.node.name}` used as a value", op.node,
                             "call it")
        return self.ty[op.name]

    def set_type(self, name, ty):
        self.ty[name] = ty

    def lower_body(self, fdef, helper: bool = False, stmts=None) -> object:
        if stmts is None:
            stmts = desugar(fdef, self.names, self.loc, helper)
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
        if isinstance(s, ast.FunctionDef):
            self.env[s.name] = LocalDef(s)
            return
        if isinstance(s, ast.Expr):
            return self.call_statement(s)
        if isinstance(s, ast.Assert):
            cond = self.condition(s.test)
            if not isinstance(cond, ir.Const):
                self.emit(ir.Assert(cond, self.loc(s)))
            elif not cond.value:
                # in srcgrad's composites, `assert a.ndim <= 2, "np.roll of ..."` says what is refused
                what = s.msg.value if self.call_loc is not None and isinstance(s.msg, ast.Constant) \
                    and isinstance(s.msg.value, str) else "an `assert` that always fails"
                raise self.error(UnsupportedSyntaxError, what, s)
            return
        if isinstance(s, ast.If):
            return self.if_(s)
        if isinstance(s, ast.For):
            return self.for_(s)
        if isinstance(s, ast.While):
            return self.while_(s)
        raise self.error(UnsupportedSyntaxError, f"the statement `{type(s).__name__}`", s)

    def assign(self, s: ast.Assign):
        target = s.targets[0]
        if getattr(s, "inplace", False) and isinstance(target, ast.Name):
            cur = self.env.get(target.id)
            if isinstance(cur, ir.Var) and self.type_of(cur).is_array:
                # NumPy: `w += x` writes into w's object, and every other name for it sees the change
                target = ast.copy_location(ast.Subscript(ast.Name(target.id, ast.Load()), ast.Constant(Ellipsis),
                                                         ast.Store()), target)
                s = ast.copy_location(ast.Assign(targets=[target], value=s.value), s)
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
            self.bind(target.id, op)
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target, self.expr(s.value), s)
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

    def unpack(self, target, value, s):
        """`a, b = t` for a tuple known while lowering (a helper's results, `A.shape`), or an
        array along its first axis (`x, y, z = v`: elements; rows of a 2-D array), its length
        checked as Python does.  Targets may be names, nested tuples or subscripts."""
        if any(isinstance(t, ast.Starred) for t in target.elts):
            raise self.error(UnsupportedSyntaxError, "starred unpacking (`a, *rest = ...`)", s,
                             "index the values you need")
        if isinstance(value, ir.Var) and self.type_of(value).is_array:
            n = len(target.elts)
            tmp = self.names.fresh("_unpacked")
            self.env[tmp] = value
            check = ast.copy_location(ast.Compare(ast.Call(ast.Name("len", ast.Load()), [ast.Name(tmp, ast.Load())], []),
                                                  [ast.Eq()], [ast.Constant(n)]), s)
            self.stmt(ast.copy_location(ast.Assert(check, None), s))
            items = []
            for k in range(n):
                items.append(self.expr(ast.copy_location(
                    ast.Subscript(ast.Name(tmp, ast.Load()), ast.Constant(k), ast.Load()), s)))
            self.env.pop(tmp, None)
        else:
            items = value.items if isinstance(value, TupleVal) else tuple(ir.Const(v) for v in value.value) \
                if isinstance(value, ir.Const) and isinstance(value.value, tuple) else None
        if items is None:
            raise self.error(UnsupportedSyntaxError, "unpacking a value that is not a tuple or an array", s,
                             "unpack tuples (a helper's results, A.shape) or arrays; index other values")
        if len(target.elts) != len(items):
            raise self.error(UnsupportedSyntaxError,
                             f"unpacking {len(items)} values into {len(target.elts)} names", s)
        for t, item in zip(target.elts, items):
            if isinstance(t, (ast.Tuple, ast.List)):
                self.unpack(t, item, s)
            elif isinstance(t, ast.Name):
                self.bind(t.id, item)
            elif isinstance(t, ast.Subscript) and not isinstance(item, TupleVal):
                tmp = self.names.fresh("_unpacked")
                self.env[tmp] = item
                self.assign(ast.copy_location(ast.Assign([t], ast.Name(tmp, ast.Load())), s))
                self.env.pop(tmp, None)
            else:
                raise self.error(UnsupportedSyntaxError, "unpacking into something other than names and "
                                 "array elements", s)

    @staticmethod
    def _is_plain_copy(value):
        return isinstance(value, (ast.Name, ast.Constant)) or (
            isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
            and isinstance(value.operand, ast.Constant))

    def if_(self, s: ast.If):
        cond = self.condition(s.test)
        if isinstance(cond, ir.Const):      # known while lowering: only the branch taken exists
            for t in (s.body if cond.value else s.orelse):
                self.stmt(t)
            return
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
            if isinstance(vb, (TupleVal, LocalDef)) or isinstance(ve, (TupleVal, LocalDef)) or \
                    (isinstance(vb, ir.Const) and vb.value is None) or (isinstance(ve, ir.Const) and ve.value is None):
                merged[name] = self._merge_static(name, vb, ve, s, body, orelse, node)
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

    def _merge_static(self, name, vb, ve, s, body, orelse, node):
        """Merge tuples element by element after an `if` (several return values on two paths)."""
        if isinstance(vb, TupleVal) or isinstance(ve, TupleVal):
            a = vb.items if isinstance(vb, TupleVal) else tuple(ir.Const(v) for v in vb.value) \
                if isinstance(vb, ir.Const) and isinstance(vb.value, tuple) else None
            b = ve.items if isinstance(ve, TupleVal) else tuple(ir.Const(v) for v in ve.value) \
                if isinstance(ve, ir.Const) and isinstance(ve.value, tuple) else None
            if a is not None and b is not None and len(a) == len(b):
                out = []
                for k, (x, y) in enumerate(zip(a, b)):
                    if x == y:
                        out.append(x)
                        continue
                    ty = abstract.join(self.type_of(x), self.type_of(y))
                    if ty is None:
                        break
                    phi = self.names.claim(f"{name}_{k}")
                    body.stmts.append(ir.Assign(phi, x, self.loc(s), phi="if"))
                    orelse.stmts.append(ir.Assign(phi, y, self.loc(s), phi="if"))
                    self.set_type(phi, ty)
                    node.phis.append(phi)
                    out.append(ir.Var(phi))
                else:
                    return TupleVal(tuple(out))
        raise self.error(UnsupportedSyntaxError, f"`{name}` holds different kinds of values on the two paths", s,
                         "give it values of one kind (and tuples of one length) on every path")

    def _assigned_in(self, stmts) -> set:
        """Names the statements re-bind (`w += x` on an array writes into it: not a re-binding)."""
        out, inplace = set(), set()
        for s in stmts:
            for n in ast.walk(s):
                if isinstance(n, ast.Assign) and getattr(n, "inplace", False) and isinstance(n.targets[0], ast.Name):
                    cur = self.env.get(n.targets[0].id)
                    if isinstance(cur, ir.Var) and self.type_of(cur).is_array:
                        inplace.add(id(n.targets[0]))
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in inplace:
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
            self.bind(name, ir.Var(phi))
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

    # ------------------------------------------------------------------ static values
    def fold(self, e):
        """The Python value of an expression known while lowering (constants, `None`, `x.ndim`,
        comparisons and arithmetic on those), or _NOFOLD.  `if axis is None:` in a helper then
        lowers only the branch taken, as a NumPy function body would run."""
        if isinstance(e, ast.Constant):
            return e.value if not isinstance(e.value, str) else _NOFOLD
        if isinstance(e, ast.Name):
            op = self.env.get(e.id)
            if op is None:
                obj = resolve.lookup(self.func, e.id)
                return _py_number(obj) if resolve.is_number(obj) or obj is None else _NOFOLD
            if isinstance(op, ir.Const):
                return op.value
            return _NOFOLD
        if isinstance(e, ast.Attribute) and e.attr == "ndim":
            op = self.env.get(e.value.id) if isinstance(e.value, ast.Name) else None
            if isinstance(op, ir.Var) and self.type_of(op).is_array:
                return self.type_of(op).ndim
            return _NOFOLD
        if isinstance(e, ast.Tuple):
            vals = [self.fold(x) for x in e.elts]
            return _NOFOLD if any(v is _NOFOLD for v in vals) else tuple(vals)
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id in ("len", "isinstance") \
                and e.func.id not in self.env and len(e.args) >= 1:
            if e.func.id == "len":
                op = self.env.get(e.args[0].id) if isinstance(e.args[0], ast.Name) else None
                if isinstance(op, TupleVal):
                    return len(op.items)
                v = self.fold(e.args[0])
                return len(v) if isinstance(v, tuple) else _NOFOLD
            kinds = {"tuple": tuple, "list": tuple, "float": float, "int": int}
            if self.call_loc is not None and len(e.args) == 2 and isinstance(e.args[0], ast.Name) \
                    and isinstance(e.args[1], ast.Name) and e.args[1].id in kinds:
                # isinstance(arrays, tuple) in srcgrad's composites (not in user code: there a
                # list is no tuple, np.int64 no int): a tuple or list written in the call is
                # known while lowering, and whether a value is a number or an array
                op, kind = self.env.get(e.args[0].id), kinds[e.args[1].id]
                if isinstance(op, TupleVal):
                    return kind is tuple
                if isinstance(op, ir.Const):
                    return isinstance(op.value, kind)
                if isinstance(op, ir.Var):
                    ty = self.type_of(op)
                    return kind is not tuple and not ty.is_array and ty.dtype in ("f" if kind is float else "ib")
            return _NOFOLD
        if isinstance(e, ast.Compare) and len(e.ops) == 1 and isinstance(e.ops[0], (ast.Is, ast.IsNot)) \
                and isinstance(e.comparators[0], ast.Constant) and e.comparators[0].value is None \
                and isinstance(e.left, ast.Name) and isinstance(self.env.get(e.left.id), ir.Var):
            return isinstance(e.ops[0], ast.IsNot)         # a value (an array, a number) is not None
        if isinstance(e, ast.Compare):
            vals = [self.fold(x) for x in [e.left] + e.comparators]
            if any(v is _NOFOLD for v in vals):
                return _NOFOLD
            out = True
            for op, a, b in zip(e.ops, vals, vals[1:]):
                out = out and _COMPARE[type(op)](a, b)
            return out
        if isinstance(e, ast.BoolOp):
            # Python's short circuit: `0.5 <= s and x < 3` with s = 0 is False whatever x is
            # (left to Numba, the constant half was pruned and the branch's variables with it)
            v = _NOFOLD
            for x in e.values:
                v = self.fold(x)
                if v is _NOFOLD or (not v if isinstance(e.op, ast.And) else v):
                    return v
            return v
        if isinstance(e, ast.UnaryOp):
            v = self.fold(e.operand)
            if v is _NOFOLD:
                return _NOFOLD
            return {ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos}[type(e.op)](v) \
                if not isinstance(e.op, ast.Invert) else _NOFOLD
        if isinstance(e, ast.BinOp) and type(e.op) in _BINOPS:
            a, b = self.fold(e.left), self.fold(e.right)
            if a is _NOFOLD or b is _NOFOLD or a is None or b is None:
                return _NOFOLD
            if isinstance(a, tuple) or isinstance(b, tuple):     # (1,) * ndim, shape + (1,)
                if isinstance(e.op, (ast.Add, ast.Mult)):
                    try:
                        return (operator.add if isinstance(e.op, ast.Add) else operator.mul)(a, b)
                    except TypeError:
                        return _NOFOLD
                return _NOFOLD
            try:
                return _FOLD[_BINOPS[type(e.op)]](a, b)
            except (ZeroDivisionError, OverflowError, ValueError, KeyError, TypeError):
                return _NOFOLD
        return _NOFOLD

    def expr(self, e, target=None):
        if isinstance(e, ast.Constant):
            if isinstance(e.value, str):
                raise self.error(UnsupportedSyntaxError, "a string value", e, "use numbers only")
            if e.value is Ellipsis:
                raise self.error(UnsupportedSyntaxError, "`...` outside an index", e)
            return ir.Const(e.value)
        if isinstance(e, ast.Name):
            return self.read_name(e.id, e)
        if isinstance(e, ast.BinOp):
            a = self.expr(e.left)
            b = self.expr(e.right)
            return self.prim(registry.lookup_operator(_BINOPS[type(e.op)]), (a, b), e, target)
        if isinstance(e, ast.UnaryOp):
            if isinstance(e.op, ast.Not):
                v = self.fold(e)
                return ir.Const(v) if v is not _NOFOLD else self.raw(e, target)
            a = self.expr(e.operand)
            return self.prim(registry.lookup_operator("neg" if isinstance(e.op, ast.USub) else "pos"), (a,), e, target)
        if isinstance(e, (ast.Compare, ast.BoolOp)):
            v = self.fold(e)
            if v is not _NOFOLD:
                return ir.Const(v)
            if isinstance(e, ast.BoolOp) and any(self.lowered_call(c) for v in e.values[1:] for c in ast.walk(v)) \
                    and all(isinstance(v, (ast.Compare, ast.BoolOp)) for v in e.values):
                # `a and h(x) > 0` with a call that is lowered (a helper, np.max(x, axis=0)): the
                # call runs only where Python runs it, `h(x) > 0 if a else False`
                first, rest = e.values[0], (e.values[1] if len(e.values) == 2 else
                                            ast.copy_location(ast.BoolOp(e.op, e.values[1:]), e))
                yes, no = (rest, ast.Constant(False)) if isinstance(e.op, ast.And) else (ast.Constant(True), rest)
                return self.ifexp(ast.copy_location(ast.IfExp(first, yes, no), e), target)
            return self.raw(e, target)
        if isinstance(e, ast.IfExp):
            return self.ifexp(e, target)
        if isinstance(e, ast.Call):
            return self.call(e, target)
        if isinstance(e, ast.Subscript):
            if isinstance(e.value, ast.Attribute) and e.value.attr == "shape":
                return self.raw(e, target)
            if not (isinstance(e.value, ast.Name) and isinstance(self.env.get(e.value.id), ir.Var)):
                base = self.read_name(e.value.id, e.value) if isinstance(e.value, ast.Name) else None
                if isinstance(base, (TupleVal, ir.Const)) and base is not None:
                    return self.tuple_item(base, e)
            try:
                arr = self.array_operand(e.value, e)
            except _TupleResult as r:
                return self.tuple_item(r.value, e)
            if isinstance(e.slice, ast.List):   # x[[0, 2, 2]]: a list of integers indexes as an array
                idx = self.array_literal(e.slice, e, None)
                ity = self.type_of(idx) if isinstance(idx, ir.Var) else None
                if ity is None or ity.ndim != 1 or ity.dtype != "i":
                    raise self.error(UnsupportedSyntaxError, "indexing by a list that is not a flat list of integers",
                                     e, "index with integers, slices, or a 1-D integer array")
                return self.gather(arr, idx, e, target)
            index = self.index(e.slice, arr, e)
            if len(index) == 1 and isinstance(index[0], ir.Var) and self.type_of(index[0]).is_array:
                return self.gather(arr, index[0], e, target)
            if len(index) == 2 and all(isinstance(i, ir.Var) and self.type_of(i).is_array for i in index):
                return self.gather_pairs(arr, index, e, target)
            ty = self.index_type(arr, index, e)
            t = target or self.temp()
            self.emit(ir.Assign(t, ir.Load(arr, index), self.loc(self.loc_node)))
            self.set_type(t, ty)
            return ir.Var(t)
        if isinstance(e, ast.Attribute):
            return self.attribute(e, target)
        if isinstance(e, (ast.Tuple, ast.List)):
            items = tuple(self.expr(x) for x in e.elts)
            if all(isinstance(i, ir.Const) for i in items):
                return ir.Const(tuple(i.value for i in items))
            return TupleVal(items)
        raise self.error(UnsupportedSyntaxError, f"the expression `{type(e).__name__}`", e)

    def tuple_item(self, base, e):
        """`t[k]` of a tuple known while lowering, with a constant k."""
        k = self.fold(e.slice)
        items = base.items if isinstance(base, TupleVal) else tuple(ir.Const(v) for v in base.value) \
            if isinstance(base.value, tuple) else None
        if items is None:
            raise self.error(UnsupportedArrayUseError, f"`{ast.unparse(e.value)}` is a number, not an array", e)
        if isinstance(k, int) and -len(items) <= k < len(items):
            return items[k]
        if isinstance(k, slice):
            return TupleVal(items[k])
        raise self.error(UnsupportedSyntaxError, f"`{ast.unparse(e)}`: a tuple indexed by something other than "
                         "a constant in range", e)

    def prim(self, rule, args, node, target=None):
        if rule.key == "pow" and isinstance(args[1], ir.Const) and type(args[1].value) is int and args[1].value < 0:
            # x ** -2 is a float in Python; Numba raises at x == 0 for a negative int power
            args = (args[0], ir.Const(float(args[1].value)))
        if rule.key in _FOLD and all(isinstance(a, ir.Const) for a in args):
            try:
                return ir.Const(_FOLD[rule.key](*(a.value for a in args)))
            except (ZeroDivisionError, OverflowError, ValueError):
                pass
        for i, a in enumerate(args):
            static = isinstance(a, (TupleVal, LocalDef)) or (isinstance(a, ir.Const) and (a.value is None or isinstance(a.value, tuple)))
            if static and (isinstance(a, LocalDef) or rule.kind == "partials" or
                           (i < len(rule.exprs) and rule.exprs[i] is not None)):
                raise self.error(UnsupportedSyntaxError, f"`{rule.name}` applied to {'None' if isinstance(a, ir.Const) and a.value is None else 'a tuple'}",
                                 node, "pass numbers and arrays")
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
        v = self.fold(test)
        if v is not _NOFOLD:
            return ir.Const(bool(v))
        op = None
        if isinstance(test, ast.Name):
            op = self.read_name(test.id, test)
        if not isinstance(op, ir.Var) and isinstance(test, ast.BoolOp):
            op = self.expr(test)            # `a and h(x) > 0` may branch (see expr)
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
        if e.attr == "ndim":
            return ir.Const(self.type_of(self.array_operand(base, e)).ndim)
        if e.attr == "shape":
            arr = self.array_operand(base, e)
            return TupleVal(tuple(self._shape_item(arr, k) for k in range(self.type_of(arr).ndim)))
        if e.attr in _ARRAY_ATTRS_INT:
            self.array_operand(base, e)
            return self.raw(e, target)
        raise self.error(UnsupportedSyntaxError, f"attribute access `.{e.attr}`", e,
                         "only array attributes .shape[k], .size, .ndim, .T and module constants are supported; "
                         "pass user objects' fields as separate arguments")

    def _shape_item(self, arr, k):
        t = self.temp("n")
        self.emit(ir.Assign(t, ir.Raw(ast.Subscript(ast.Attribute(ast.Name(arr.name, ast.Load()), "shape", ast.Load()),
                                                    ast.Constant(k), ast.Load()), frozenset({arr.name}), abstract.INT),
                            self.loc(self.loc_node)))
        self.set_type(t, abstract.INT)
        return ir.Var(t)

    def array_operand(self, node, where) -> ir.Var:
        op = self.read_name(node.id, node) if isinstance(node, ast.Name) else self.expr(node)
        if isinstance(op, TupleVal) and isinstance(where, ast.Subscript) and where.value is node:
            raise _TupleResult(op)          # helper(x)[1]: an item of the tuple a call returned
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

    def gather(self, arr, idx, e, target):
        """`x[idx]`, `A[idx]` with a 1-D integer array `idx` (NumPy's integer-array indexing): the
        composite np.take (a loop, whose adjoint scatters with accumulation)."""
        ty, ity = self.type_of(arr), self.type_of(idx)
        if ity.dtype == "i" and ity.ndim == 1 and ty.dtype == "i":     # integers: nothing to differentiate
            t = target or self.temp()
            self.emit(ir.Assign(t, ir.Raw(ast.Subscript(ast.Name(arr.name, ast.Load()), ast.Name(idx.name, ast.Load()),
                                                        ast.Load()), frozenset({arr.name, idx.name}), ty),
                                self.loc(self.loc_node)))
            self.set_type(t, ty)
            return ir.Var(t)
        if ity.dtype != "i" or ity.ndim != 1 or ty.dtype != "f" or ty.ndim > 2:
            raise self.error(UnsupportedArrayUseError,
                             f"`{ast.unparse(e)}` indexes with a {ity} (boolean or multi-dimensional indexing)", e,
                             "index with integers, slices or a 1-D integer array; for a mask use np.where(mask, x, 0.0)")
        fn = registry.COMPOSITES[np.take]
        return self._inline_parsed(parse_function(fn), {"a": arr, "indices": idx, "axis": ir.Const(0)},
                                   e, target, at_call=True)

    def gather_pairs(self, arr, index, e, target):
        """`A[rows, cols]` with two 1-D integer arrays: the elements A[rows[k], cols[k]]."""
        ty, tys = self.type_of(arr), [self.type_of(i) for i in index]
        if ty.dtype != "f" or ty.ndim != 2 or any(t.dtype != "i" or t.ndim != 1 for t in tys):
            raise self.error(UnsupportedArrayUseError,
                             f"`{ast.unparse(e)}` indexes a {ty} with a {tys[0]} and a {tys[1]}", e,
                             "index a 2-D float array with two 1-D integer arrays, or with integers and slices")
        from ..rules import composites
        return self._inline_parsed(parse_function(composites.take_pairs),
                                   {"a": arr, "rows": index[0], "cols": index[1]}, e, target, at_call=True)

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
        """The object a call's function expression denotes: a Python object, a LocalDef, or
        ("method", name) for a method of a value of the function."""
        if isinstance(f, ast.Name):
            if f.id in self.env:
                if isinstance(self.env[f.id], LocalDef):
                    return self.env[f.id]
                raise self.error(UnsupportedSyntaxError, f"calling the variable `{f.id}`", f)
            return resolve.lookup(self.func, f.id)
        if isinstance(f, ast.Attribute):
            if isinstance(f.value, ast.Name) and f.value.id in self.env:
                return ("method", f.attr)
            if isinstance(f.value, (ast.Name, ast.Attribute)):
                base = self.callee(f.value)
                if isinstance(base, tuple):
                    return ("method", f.attr)
                if isinstance(base, pytypes.ModuleType) or base is resolve._MISSING or callable(base) \
                        and not isinstance(base, np.ndarray):
                    return getattr(base, f.attr, resolve._MISSING) if base is not resolve._MISSING else base
            return ("method", f.attr)          # a method of an expression's value: (x ** 2).sum()
        raise self.error(UnsupportedSyntaxError, "calling the result of an expression", f,
                         "call a function by its name")

    def call(self, e: ast.Call, target):
        obj = self.callee(e.func)
        if isinstance(obj, tuple):
            return self.method(obj[1], e, target)
        return self.call_object(obj, ast.unparse(e.func), list(e.args), list(e.keywords), e, target)

    def method(self, meth, e, target):
        """`x.sum(axis=0)`, `(x ** 2).mean()`, `x.T.dot(y)`: the NumPy function of that name, called
        with the array first (the same rules and composites serve both spellings)."""
        value = self.expr(e.func.value)
        if not isinstance(value, ir.Var) or not self.type_of(value).is_array:
            raise self.error(UnsupportedSyntaxError, f"the method `.{meth}()` of a number", e)
        tmp = self.temp("a")
        self.env[tmp] = value
        base = ast.copy_location(ast.Name(tmp, ast.Load()), e.func.value)
        args = list(e.args)
        if meth == "copy" and not args and not e.keywords:
            return self.prim(registry.lookup_operator("copy"), (value,), e, target)
        if meth in ("reshape", "transpose") and len(args) > 1:   # x.reshape(2, 3): the shape as a tuple
            args = [ast.copy_location(ast.Tuple(args, ast.Load()), args[0])]
        fn = _METHODS.get(meth, getattr(np, meth, None) if meth in _NP_METHODS else None)
        if fn is None:
            raise self.error(UnsupportedSyntaxError, f"the array method `.{meth}()`", e,
                             f"use the NumPy function (np.{meth}(x, ...)) if srcgrad has it")
        try:
            return self.call_object(fn, f"np.{fn.__name__}", [base] + args, list(e.keywords), e, target)
        finally:
            self.env.pop(tmp, None)

    def call_object(self, obj, name, args, keywords, e, target):
        """A call of `obj` (as the user's `name`) with argument and keyword expressions."""
        if obj is resolve._MISSING:
            raise self.error(UnsupportedSyntaxError, f"the name `{name}` is not defined", e)
        if obj is builtins.range:
            raise self.error(UnsupportedSyntaxError, "range() outside a `for` statement", e)
        if isinstance(obj, LocalDef):
            return self.inline_local(obj, args, keywords, e, target)
        if _hashable(obj) and nested.is_nested(obj) and not registry.has_any_rule(obj):
            return self.inline_nested(obj, name, args, keywords, e, target)
        if _inlined_helper(obj):
            return self.inline(resolve.helper_function(obj), args, keywords, e, target)
        if obj is np.array and len(args) == 1 and not keywords:
            return self.array_literal(args[0], e, target)
        if obj is np.einsum:
            return self.einsum(args, keywords, e, target)
        if obj is builtins.abs and len(args) == 1 and not keywords:   # abs(array) is np.abs(array)
            op = self.expr(args[0])
            return self.prim(registry.lookup(np.abs if self.type_of(op).is_array else obj, 1), (op,), e, target)
        rule = registry.lookup(obj, len(args)) if not keywords else None
        pair = registry.lookup(obj, 2) if rule is None and len(args) > 2 and not keywords else None
        if pair is not None and pair.variadic:      # max(a, b, c) is max(max(a, b), c)
            ops = [self.expr(a) for a in args]
            acc = ops[0]
            for i, o in enumerate(ops[1:]):
                acc = self.prim(pair, (acc, o), e, target if i == len(ops) - 2 else None)
            return acc
        if rule is not None and rule.kind != "nondiff":
            return self.prim(rule, tuple(self.expr(a) for a in args), e, target)
        composite = registry.COMPOSITES.get(obj) if _hashable(obj) else None
        if composite is not None:
            return self.inline(composite, args, keywords, e, target, at_call=True)
        any_rule = registry.lookup_any(obj)
        if any_rule is not None and any_rule.kind == "nondiff":
            call = ast.copy_location(ast.Call(ast.Name("__f__", ast.Load()), args, keywords), e)
            call.func = e.func if isinstance(e, ast.Call) and e.args == args else _name_ast(any_rule.call or name, e)
            if any_rule.depends:        # np.full(n, x): refused if a differentiated value reaches it
                return self.raw_without_rule(call, target, name, any_rule.depends)
            return self.raw(call, target)
        if any_rule is not None:
            raise self.error(NoDerivativeRuleError,
                             f"`{name}` with {len(args)} argument(s)" + (" and keywords" if keywords else "")
                             + " has no derivative rule", e,
                             "pass the arguments srcgrad's rule takes, by position")
        refused = registry.REFUSED.get(obj, ()) if _hashable(obj) else ()
        if getattr(obj, "__module__", None) == "math" or isinstance(obj, np.ufunc):
            # a constant while no differentiated value reaches it (math.lgamma(0.5 * d))
            return self.raw_without_rule(ast.copy_location(ast.Call(e.func, args, keywords), e), target, name,
                                         refused)
        if refused:
            raise self.error(NoDerivativeRuleError, f"`{name}` is not differentiated by srcgrad: {refused[0]}",
                             e, refused[1])
        raise self.error(
            NoDerivativeRuleError, f"`{name}` has no derivative rule", e,
            "write it as a plain Python helper function (srcgrad differentiates through helpers), "
            "give it one with @srcgrad.partials, or compute it outside and pass the value in")

    def raw_without_rule(self, call, target, name, refused=()):
        """A call with no derivative, run as written while no differentiated value reaches it;
        the activity pass refuses it otherwise, with `refused` = (why, instead) when srcgrad
        refuses it on purpose (rules/refused.py, a nondiff rule's `depends`)."""
        t = self.raw(call, target)
        raw = self.cur.stmts[-1].value
        raw.norule, raw.refused = name, refused
        return t

    def array_literal(self, arg, e, target):
        """np.array([a, b, c]) / np.array([[a, b], [c, d]]) / np.array([x, y]): a new array filled
        element by element (or row by row): each entry's adjoint is read back from its place."""
        value = self.expr(arg)
        if isinstance(value, ir.Var) and self.type_of(value).is_array:
            return self.prim(registry.lookup_operator("copy"), (value,), e, target)
        if isinstance(value, ir.Const) and not isinstance(value.value, tuple):
            raise self.error(UnsupportedSyntaxError, "np.array of a number (a 0-d array)", e, "use the number itself")

        def leaves(v, prefix):
            items = v.items if isinstance(v, TupleVal) else tuple(ir.Const(x) for x in v.value) \
                if isinstance(v, ir.Const) and isinstance(v.value, tuple) else None
            if items is None:
                return [(prefix, v)]
            out = []
            for k, item in enumerate(items):
                out += leaves(item, prefix + (k,))
            return out

        entries = leaves(value, ())
        depth = {len(p) for p, _ in entries}
        inner = {self.type_of(v).ndim for _, v in entries}
        if len(depth) != 1 or len(inner) != 1:
            raise self.error(UnsupportedSyntaxError, "np.array of a ragged list", e)
        d, inner_nd = depth.pop(), inner.pop()
        shape = []
        for level in range(d):
            shape.append(max(p[level] for p, _ in entries) + 1)
        if len(entries) != int(np.prod(shape)):
            raise self.error(UnsupportedSyntaxError, "np.array of a ragged list", e)
        kind = abstract.promote(*(self.type_of(v).dtype for _, v in entries))
        kind = "f" if kind == "b" else kind
        first = entries[0][1]
        shape_ast = ast.Tuple([ast.Constant(n) for n in shape], ast.Load())
        reads = set()
        if inner_nd:      # rows that are arrays: the new array's trailing shape is theirs
            shape_ast = ast.BinOp(shape_ast, ast.Add(), ast.Attribute(ast.Name(first.name, ast.Load()), "shape",
                                                                        ast.Load()))
            reads.add(first.name)
        dtype = {"f": "np.float64", "i": "np.int64"}[kind]
        t = target or self.temp("arr")
        self.emit(ir.Assign(t, ir.Raw(ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "empty", ast.Load()),
                                               [shape_ast], [ast.keyword("dtype", ast.parse(dtype, mode="eval").body)]),
                                      frozenset(reads), abstract.Ty(d + inner_nd, kind)), self.loc(self.loc_node)))
        self.set_type(t, abstract.Ty(d + inner_nd, kind))
        for p, v in entries:
            self.emit(ir.Store(ir.Var(t), tuple(ir.Const(k) for k in p), v, self.loc(self.loc_node)))
        return ir.Var(t)

    # ------------------------------------------------------------------ inlining
    def _bind(self, fname, params, defaults, args, keywords, e):
        """Operands for a helper's parameters from a call's arguments, keywords and the defaults
        (`defaults`: name -> default operand)."""
        if len(args) > len(params):
            raise self.error(UnsupportedSyntaxError,
                             f"`{fname}` takes {len(params)} arguments, {len(args)} given", e)
        ops = {p: self.expr(a) for p, a in zip(params, args)}
        for k in keywords:
            if k.arg is None or k.arg not in params:
                raise self.error(UnsupportedSyntaxError, f"`{fname}` has no parameter `{k.arg}`", e)
            if k.arg in ops:
                raise self.error(UnsupportedSyntaxError, f"`{fname}` got `{k.arg}` twice", e)
            ops[k.arg] = self.expr(k.value)
        for p in params:
            if p not in ops:
                if p not in defaults:
                    raise self.error(UnsupportedSyntaxError, f"`{fname}` is missing the argument `{p}`", e)
                ops[p] = defaults[p]
        return ops

    def inline(self, fn, args, keywords, e, target, at_call=False):
        if fn in self.inline_stack:
            raise self.error(UnsupportedSyntaxError, f"recursion: `{fn.__name__}` calls itself", e,
                             "rewrite the recursion as a loop")
        parsed = parse_function(fn)
        fence(parsed.tree, parsed.loc)
        params = [a.arg for a in parsed.tree.args.args]
        ops = self._bind(fn.__name__, params, self._defaults(fn, params, e), args, keywords, e)
        return self._inline_parsed(parsed, ops, e, target, at_call)

    def _inline_parsed(self, parsed, ops, e, target, at_call):
        self.names.reserved |= NameGen.identifiers(parsed.tree)
        child = Lowerer(parsed, self.names, self.inline_stack)
        child.call_loc = self.call_loc or (self.loc(e) if at_call else None)
        return self._run_child(child, parsed.tree, ops, target)

    def _defaults(self, fn, params, e) -> dict:
        defaults = {}
        for p, d in zip(params[len(params) - len(fn.__defaults__ or ()):], fn.__defaults__ or ()):
            if not (resolve.is_number(d) or d is None or (isinstance(d, tuple) and all(resolve.is_number(x) for x in d))):
                raise self.error(UnsupportedSyntaxError, f"the default of `{p}` in `{fn.__name__}` is not a number",
                                 e)
            defaults[p] = ir.Const(d if d is None or isinstance(d, tuple) else _py_number(d))
        return defaults

    def einsum(self, args, keywords, e, target):
        """np.einsum('ij,jk->ik', A, B) of the common contractions (composites.EINSUM)."""
        from ..rules import composites
        spec = args[0] if args else None
        if keywords or not (isinstance(spec, ast.Constant) and isinstance(spec.value, str)):
            raise self.error(UnsupportedSyntaxError, "np.einsum without its subscripts as a string literal, or "
                             "with keywords", e, "write np.einsum('ij,jk->ik', A, B)")
        sub = composites.einsum_subscripts(spec.value)
        fn = composites.EINSUM.get(sub)
        if fn is None:
            raise self.error(NoDerivativeRuleError, f"np.einsum('{sub}', ...) has no derivative here", e,
                             "srcgrad differentiates these contractions: " + ", ".join(sorted(composites.EINSUM))
                             + "; write others with @, np.sum and broadcasting")
        ops = [self.expr(a) for a in args[1:]]
        params = [a.arg for a in parse_function(fn).tree.args.args]
        if len(ops) != len(params) or len(sub.split("->")[0].split(",")) != len(ops):
            raise self.error(UnsupportedSyntaxError, f"np.einsum('{sub}', ...) with {len(ops)} operands", e)
        for op, letters in zip(ops, sub.split("->")[0].split(",")):
            if self.type_of(op).ndim != len(letters):
                raise self.error(UnsupportedArrayUseError, f"np.einsum('{sub}', ...): an operand of "
                                 f"{self.type_of(op)} for subscripts '{letters}'", e)
        return self._inline_parsed(parse_function(fn), dict(zip(params, ops)), e, target, at_call=True)

    def call_statement(self, s: ast.Expr):
        """A call whose value is thrown away: a helper run for its writes into the arrays it
        was given (`_diffuse_into(u, out, 0.2)`); any other call would do nothing srcgrad keeps."""
        obj = self.callee(s.value.func)
        if not (isinstance(obj, LocalDef) or _inlined_helper(obj)):
            raise self.error(UnsupportedSyntaxError, "an expression statement (its value is thrown away)", s,
                             "assign the value to a variable, or remove the line; only your own helpers may be "
                             "called for their effect (writing into arrays they are given), not print, "
                             "list.append or NumPy functions with an `out` argument (np.copyto(a, b): write "
                             "a[...] = b)")
        self.expr(s.value)

    def inline_nested(self, obj, name, args, keywords, e, target):
        """A derivative called inside the function being differentiated: `g(x, w)` for
        g = srcgrad.grad(f), or `srcgrad.jvp(f, (x, w), (dx, dw))`.  Inlined as the helper
        srcgrad/nested.py generates for the argument types here (f's tangent function, one sweep
        per differentiated element), which the outer derivative then differentiates."""
        try:
            if obj is nested.jvp_function():
                if keywords or len(args) != 3:
                    raise nested.Refusal("srcgrad.jvp inside a differentiated function takes (f, primals, tangents)")
                fn = self.callee(args[0])
                if not resolve.is_helper(fn):
                    raise nested.Refusal(f"srcgrad.jvp of `{ast.unparse(args[0])}`: not a Python function srcgrad "
                                         "can read")
                prim, tans = self.expr(args[1]), self.expr(args[2])
                if not (isinstance(prim, TupleVal) and isinstance(tans, TupleVal)
                        and len(prim.items) == len(tans.items)):
                    raise nested.Refusal("srcgrad.jvp inside a differentiated function needs its primals and "
                                         "tangents as tuples of the same length", "write them as (a, b), (da, db)")
                helper = nested.jvp_helper(resolve.helper_function(fn), tuple(self.type_of(p) for p in prim.items))
                params = [a.arg for a in parse_function(helper).tree.args.args]
                ops = dict(zip(params, list(prim.items) + list(tans.items)))
            else:
                fn = resolve.helper_function(obj.fun)
                params = list(obj._params)
                ops = self._bind(name, params, self._defaults(fn, params, e), args, keywords, e)
                helper = nested.gradient_helper(obj, tuple(self.type_of(ops[p]) for p in params))
        except nested.Refusal as r:
            raise self.error(UnsupportedSyntaxError, r.message, e, r.hint) from None
        parsed = parse_function(helper)
        fence(parsed.tree, parsed.loc)
        return self._inline_parsed(parsed, ops, e, target, at_call=True)

    def inline_local(self, local: LocalDef, args, keywords, e, target):
        """A nested `def`: its body lowered where it is called, reading the enclosing function's
        variables as they are now (Python's late binding)."""
        node = local.node
        if any(isinstance(x, LocalDef) and x is local for x in self._local_stack):
            raise self.error(UnsupportedSyntaxError, f"recursion: `{node.name}` calls itself", e)
        params = [a.arg for a in node.args.args]
        defaults = {}
        for p, d in zip(params[len(params) - len(node.args.defaults):], node.args.defaults):
            v = self.fold(d)
            defaults[p] = ir.Const(v) if v is not _NOFOLD else self.expr(d)
        ops = self._bind(node.name, params, defaults, args, keywords, e)
        child = Lowerer(self.p, self.names, self.inline_stack)
        child.env = dict(self.env)          # free variables: the enclosing scope, now
        child._local_stack = self._local_stack + (local,)
        child.call_loc = self.call_loc
        return self._run_child(child, node, ops, target)

    _local_stack: tuple = ()

    def _run_child(self, child, tree, ops, target):
        child.cur = self.cur
        child.ty = self.ty
        child.hidden = self.hidden
        child.loc_node = self.loc_node
        for p, op in ops.items():
            child.env[p] = op
        result = child.lower_body(tree, helper=True)
        self.cur = child.cur
        if target is not None and isinstance(result, ir.Var) and result != ir.Var(target):
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
                    return ast.copy_location(self.operand(lowerer.env[node.id], node), node)
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

            def operand(self, op, node):
                if isinstance(op, ir.Const):
                    return ast.Constant(op.value)
                if isinstance(op, TupleVal):
                    return ast.Tuple([self.operand(i, node) for i in op.items], ast.Load())
                if isinstance(op, LocalDef):
                    raise lowerer.error(UnsupportedSyntaxError, f"the function `{node.id}` inside a condition", node,
                                        "assign its result to a variable first")
                reads.add(op.name)
                return ast.Name(op.name, ast.Load())

            def visit_BinOp(self, node):
                v = lowerer.fold(node)
                if v is not _NOFOLD:
                    return ast.copy_location(ast.Constant(v), node)
                self.generic_visit(node)
                return node

            def visit_Attribute(self, node):
                if node.attr == "ndim" and isinstance(node.value, ast.Name) and node.value.id in lowerer.env:
                    v = lowerer.fold(node)
                    if v is not _NOFOLD:
                        return ast.copy_location(ast.Constant(v), node)
                if isinstance(node.value, ast.Name) and node.value.id not in lowerer.env:
                    obj = resolve.lookup(lowerer.func, node.value.id)
                    if isinstance(obj, pytypes.ModuleType):
                        val = getattr(obj, node.attr, resolve._MISSING)
                        if resolve.is_number(val):
                            return ast.copy_location(ast.Constant(_py_number(val)), node)
                        return ast.copy_location(ast.Name(_canonical(val, node, lowerer), ast.Load()), node)
                self.generic_visit(node)
                return node

            lazy = 0        # > 0 inside an operand Python may not evaluate (`and`/`or`, `a if c else b`)

            def visit_BoolOp(self, node):
                node.values[0] = self.visit(node.values[0])
                self.lazy += 1
                node.values[1:] = [self.visit(v) for v in node.values[1:]]
                self.lazy -= 1
                return node

            def visit_IfExp(self, node):
                node.test = self.visit(node.test)
                self.lazy += 1
                node.body, node.orelse = self.visit(node.body), self.visit(node.orelse)
                self.lazy -= 1
                return node

            def visit_Call(self, node):
                obj = None
                try:
                    obj = lowerer.callee(node.func)
                except LocatedError:
                    pass
                if not self.lazy and node is not root:
                    # a call inside a comparison is lowered as any call is (a helper inlined,
                    # np.mean(A, axis=1) as its composite, its result typed by its rule), and the
                    # comparison reads its result.  Only where Python always evaluates it:
                    # hoisting `i < n and h(x[i]) > 0` would run what the `and` guards.
                    v = lowerer.expr(node)
                    if not isinstance(v, (ir.Var, ir.Const)):
                        raise lowerer.error(UnsupportedSyntaxError, "a tuple inside a condition", node)
                    return ast.copy_location(self.operand(v, node), node)
                if lowerer.lowered_call(node, obj):
                    raise lowerer.error(UnsupportedSyntaxError,
                                        f"a call to `{ast.unparse(node.func)}` after `and`/`or` or inside "
                                        "`a if c else b` of a condition", node,
                                        "assign the call's result to a variable first")
                self.generic_visit(node)
                return node

        root = _deepcopy(e)         # a call raw itself (a non-differentiable one) is copied as written
        expr = Rename().visit(root)
        try:
            ty = RawTyper(self.ty, e, self.loc).type(expr)
        except shapes.Refusal as exc:
            raise self.error(UnsupportedArrayUseError, exc.message, e, exc.hint) from None
        if not isinstance(ty, abstract.Ty):
            raise self.error(UnsupportedSyntaxError, f"a {ty} value here", e,
                             "tuples are only supported as shapes, e.g. np.zeros((n, m))")
        t = target or self.temp(hint)
        self.emit(ir.Assign(t, ir.Raw(ast.fix_missing_locations(expr), frozenset(reads), ty),
                            self.loc(self.loc_node)))
        self.set_type(t, ty)
        return ir.Var(t)

    def lowered_call(self, node, obj=_NOFOLD) -> bool:
        """Is `node` a call that a condition cannot copy as written: a helper (inlined), or a
        composite whose spelling Numba lacks (np.mean(A, axis=1), np.max(x, axis=0))?"""
        if not isinstance(node, ast.Call):
            return False
        if obj is _NOFOLD:
            try:
                obj = self.callee(node.func)
            except LocatedError:
                return False
        nargs = len(node.args)
        if isinstance(obj, tuple):          # x.mean(axis=0): np.mean(x, axis=0)
            obj = _METHODS.get(obj[1], getattr(np, obj[1], None) if obj[1] in _NP_METHODS else None)
            nargs += 1
        if isinstance(obj, LocalDef):
            return True
        if not _hashable(obj):
            return False
        if _inlined_helper(obj):
            return True
        return obj in registry.COMPOSITES and bool(node.keywords or registry.lookup(obj, nargs) is None)

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
            if isinstance(base, abstract.Ty):    # integers drop a dimension, slices keep it, None adds one
                idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
                new_axes = sum(1 for i in idx if isinstance(i, ast.Constant) and i.value is None)
                drop = sum(1 for i in idx if not isinstance(i, ast.Slice)
                           and not (isinstance(i, ast.Constant) and (i.value is None or i.value is Ellipsis)))
                return abstract.Ty(max(base.ndim - drop + new_axes, 0), base.dtype)
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
            try:
                return rule.result_type(args, [None] * len(args))
            except shapes.Refusal as exc:      # located by the caller, which knows the statement
                raise shapes.Refusal(f"`{rule.name}`: {exc.message}", exc.hint) from None
        return abstract.FLOAT


# array methods spelled as the NumPy function of the same name (x.sum(axis=0) is np.sum(x, axis=0))
_NP_METHODS = {"sum", "mean", "var", "std", "max", "min", "prod", "cumsum", "cumprod", "dot", "transpose",
               "reshape", "ravel", "flatten", "squeeze", "clip", "round", "trace", "diagonal", "argmax",
               "argmin", "all", "any", "nonzero", "sort", "argsort", "conj", "repeat", "swapaxes"}
_METHODS = {"max": np.max, "min": np.min, "flatten": np.ravel}


def _inlined_helper(obj) -> bool:
    """A user's function that a call inlines: a helper with no rule of its own (call_object's
    test; call statements and conditions ask the same question)."""
    return resolve.is_helper(obj) and not registry.has_any_rule(obj) and obj not in registry.COMPOSITES


class _TupleResult(Exception):
    """Raised by array_operand for the value of a subscript that is a tuple (a call's result)."""

    def __init__(self, value):
        super().__init__("a tuple")
        self.value = value


def _hashable(obj) -> bool:
    try:
        hash(obj)
        return True
    except TypeError:
        return False


def _name_ast(dotted, like):
    return ast.copy_location(ast.parse(dotted, mode="eval").body, like)


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
    rule = registry.lookup_any(obj) if obj is not None else None
    if rule is not None and re.fullmatch(r"[A-Za-z_][\w.]*", rule.call or ""):
        return rule.call
    if obj in (builtins.len, builtins.int, builtins.float, builtins.abs, builtins.min, builtins.max,
               builtins.round, builtins.bool):
        return obj.__name__
    if isinstance(obj, type) and issubclass(obj, np.generic):
        return f"np.{obj.__name__}"
    if isinstance(obj, np.dtype):
        return f"np.{obj.name}"
    if getattr(obj, "__module__", None) == "math" and getattr(math, getattr(obj, "__name__", ""), None) is obj:
        return f"math.{obj.__name__}"
    if isinstance(obj, np.ufunc) and getattr(np, obj.__name__, None) is obj:
        return f"np.{obj.__name__}"
    raise lowerer.error(NoDerivativeRuleError, f"`{ast.unparse(node)}` cannot be used here", node,
                        "inside conditions and shape expressions use math/numpy functions, len(), int() and numbers")


def desugared(parsed) -> tuple:
    """The pipeline's `desugar` stage: (the lowering's name generator, the function's body with
    exits turned into flags and Python's sugar removed, ending in one `return` of a name).
    Helpers are desugared as the lowering inlines them."""
    names = _Names(NameGen.identifiers(parsed.tree))
    return names, desugar(parsed.tree, names, parsed.loc, False)


def lower(parsed, argnums, sig=None, desugared_body=None) -> ir.Function:
    """Lower `parsed` (a ParsedFunction, fenced) into the IR, typed for the abstract signature
    `sig` (one abstract.Ty per parameter; every parameter a number when None).
    `desugared_body`: the (names, statements) of `desugared(parsed)`, made here when None."""
    names, stmts = desugared_body if desugared_body is not None else desugared(parsed)
    if sig is None:
        sig = (abstract.FLOAT,) * len(parsed.tree.args.args)
    return Lowerer(parsed, names).lower_function(tuple(argnums), tuple(sig), stmts)
