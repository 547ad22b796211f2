"""Emit the fused forward + adjoint function (a Python AST) from the analysed IR.

What holds for the emitted `<name>_vjp(params..., _seed[, _fs, _is])`:
* the forward sweep is the IR, statement for statement (but an element-wise array temporary
  the adjoint reads only for its shape goes back into the expression that reads it: inline.py);
  straight-line values stay in locals;
* a value the adjoint reads and a later iteration overwrites (its home block is inside a loop)
  is pushed once per execution of that block, just before the block's loop-carry copies, onto a
  float or int stack (`_fs`/`_is`), and popped at the start of the block's reversed execution:
  this is the to-be-recorded set, and nothing else is stored;
* `range` loops record their trip count at entry and reserve the stack once; `while` loops and
  loops that may exit early count their iterations and grow the stack by doubling;
* the adjoint sweep replays the control flow in reverse: `if` on the saved condition, loops
  backwards over the recorded trip count;
* each adjoint is assigned at its first contribution and accumulated after; it is zeroed first
  only where the first contribution is conditional (inside a branch or loop); an array adjoint
  is zeroed where its variable is homed, and that zero array is replaced by the first
  contribution when nothing comes between them (first.py);
* every group of adjoint statements is preceded by a comment naming the source line it is
  the adjoint of, with its `file:line`.
Returns `(value, (grads...))`, plus the stacks when the function uses them.
"""
from __future__ import annotations

import ast

from .. import ir
from ..codegen.target import function
from ..codegen.astb import (LineComments, N, S, add, assign, aug, call, carried, comment, index_ast,
                            is_comment, mul, op_ast, primal_expr, range_call, reversed_range, scale, where, zero)
from ..errors import sub_pass
from ..rules.registry import substitute
from . import alias
from .activity import Analysis
from .collect import Collector, drop_unread
from .first import first_contributions, in_place_contributions
from .fuse import fuse_elementwise
from .inline import inline_forward


class Reverse:
    def __init__(self, fn: ir.Function, an: Analysis, names, aliases, plan):
        """`aliases`, `plan`: the results of the pipeline's alias and tape stages."""
        self.fn, self.an, self.names = fn, an, names
        self.bars: dict[str, str] = {}
        self._primal_of: dict[str, str] = {}     # adjoint name -> primal name (bars inverted)
        self.blocks = {b.id: b for b in ir.walk_blocks(fn.body)}
        self.subtree = {}          # block id -> set of block ids inside it (incl. itself)
        for b in self.blocks.values():
            self.subtree[b.id] = {x.id for x in ir.walk_blocks(b)}
        self.fs, self.fp = names.fresh("_fs"), names.fresh("_fp")
        self.is_, self.ip = names.fresh("_is"), names.fresh("_ip")
        self.tapes: dict[str, str] = {}     # array variable -> its tape (a list of references)
        self.reserved_blocks: set = set()   # blocks whose pushes were reserved at loop entry
        self.taping = True                  # False while emitting a checkpointed loop's first sweep
        # adjoints that may be exactly zero (zeroed before a conditional contribution, array
        # elements, and everything computed from them): their non-finite partials use a
        # zero-safe product, so a value dead on the path taken cannot poison the gradient
        self.maybe_zero: set = set()
        self.aliases, self.plan = aliases, plan
        self.depth_of = {id(x): b.depth for b in self.blocks.values() for x in b.stmts}
        # views the tape must copy when they are made: a later write into the memory they
        # share (the same trip's `m[1, :] = ...` after `t = m[1, :]`) would change them before
        # the end of the block, where the other saves are pushed
        written = {x.array.name for x in ir.walk_stmts(fn.body) if isinstance(x, ir.Store)}
        self.early_saves = {x.target for x in ir.walk_stmts(fn.body) if isinstance(x, ir.Assign)
                            and alias.is_view(x.value, an)
                            and any(self.aliases.may_alias(x.target, w) for w in written)}
        self.old: dict = {}                 # id(Store) -> the variable holding what it overwrote
        self._notes: list = []              # the tape-size notes (`_note_tape`), filled in by build()
        self.collector = Collector(self._is_scalar_bar, self._product_defs(), self._never_changes(), is_comment)

    # ------------------------------------------------------------------ names
    def bar(self, v: str) -> str:
        if v not in self.bars:
            self.bars[v] = self.names.fresh(f"{v}_bar")
            self._primal_of[self.bars[v]] = v
        return self.bars[v]

    def _is_scalar_bar(self, name: str) -> bool:
        """Whether `name` is the adjoint of a scalar."""
        primal = self._primal_of.get(name)
        return primal is not None and self.an.is_scalar(primal)

    def _product_defs(self) -> dict:
        """Forward values defined by a product or a negation: name -> (expression, line key)."""
        out = {}
        for s in ir.walk_stmts(self.fn.body):
            if isinstance(s, ir.Assign) and not s.phi and isinstance(s.value, ir.Prim) and \
                    s.value.rule.key in ("mul", "neg", "pos") and s.loc is not None:
                out[s.target] = (primal_expr(s.value), (s.loc.file, s.loc.line))
        return out

    def _never_changes(self) -> set:
        """Forward names whose value is fixed once defined: parameters, and SSA values defined
        outside every loop (not the values loops carry, which are homed outside their loop)."""
        carried = {p for x in ir.walk_stmts(self.fn.body) if isinstance(x, (ir.For, ir.While)) for p in x.phis}
        return {p.name for p in self.fn.params} | {v for v, h in self.an.home.items()
                                                    if h.depth == 0 and v not in carried}

    def needs(self, op) -> bool:
        return isinstance(op, ir.Var) and self.an.needs_adjoint(op.name)

    @property
    def uses_stacks(self) -> bool:
        return self.plan.uses_stacks(self.fn)

    def tape_of(self, v: str) -> str:
        if v not in self.tapes:
            self.tapes[v] = self.names.fresh(f"_tape_{v}")
        return self.tapes[v]

    # ------------------------------------------------------------------ forward sweep
    def forward(self, block) -> list:
        out = []
        lines = LineComments()
        carries = []
        early = set(self.plan.arrays.get(block.id, ())) & self.early_saves if self.taping else set()
        for s in block.stmts:
            if isinstance(s, ir.Assign) and s.phi == "carry":
                carries.append(assign(s.target, carried(s, self.an.types, primal_expr(s.value))))
                continue
            out += lines.before(s)
            out += self.forward_stmt(s)
            if isinstance(s, ir.Assign) and s.target in early:
                out.append(comment(f"save for the adjoint: {s.target} (a view: copied before a write changes it)"))
                out.append(ast.Expr(call(f"{self.tape_of(s.target)}.append", call("_rt.copy", N(s.target)))))
        out += self.pushes(block, early)
        return out + carries

    def pushes(self, block, early=frozenset()) -> list:
        out = []
        if not self.taping:
            return out
        fl, il = list(self.plan.floats.get(block.id, ())), list(self.plan.ints.get(block.id, ()))
        al = [v for v in self.plan.arrays.get(block.id, ()) if v not in early]
        if not fl and not il and not al:
            return out
        out.append(comment("save for the adjoint: " + ", ".join(fl + il + al)))
        # a C-ordered array (no copy when it is one already): a value carried around a loop may
        # be F-ordered on one trip and C-ordered on the next (0.5 * A.T, then m @ A), and the
        # tape, a list, holds one layout; a copy when a later write may change it
        out += [ast.Expr(call(f"{self.tape_of(v)}.append",
                              call("_rt.copy" if v in self.plan.copied else "np.ascontiguousarray", N(v))))
                for v in al]
        return out + self._push_code(fl, il, ensure=block.id not in self.reserved_blocks)

    def _push_code(self, fl, il, ensure: bool) -> list:
        """Push floats `fl` and ints/bools `il` (growing the stacks first when `ensure`)."""
        out = []
        if ensure and fl:
            out.append(self._ensure(self.fs, self.fp, len(fl)))
        if ensure and il:
            out.append(self._ensure(self.is_, self.ip, len(il)))
        for stack, ptr, vs in ((self.fs, self.fp, fl), (self.is_, self.ip, il)):
            for v in vs:
                out.append(ast.Assign([ast.Subscript(N(stack), N(ptr), ast.Store())], N(v)))
                out.append(aug(S(ptr), ast.Constant(1)))
        return out

    def _pop_code(self, fl, il) -> list:
        """Pop what `_push_code(fl, il)` pushed, in reverse order, into the same variables."""
        out = []
        for stack, ptr, vs in ((self.is_, self.ip, il), (self.fs, self.fp, fl)):
            for v in reversed(vs):
                out.append(aug(S(ptr), ast.Constant(1), ast.Sub))
                out.append(assign(v, call("_rt.cast_like", ast.Subscript(N(stack), N(ptr), ast.Load()), N(v))))
        return out

    def _ensure(self, stack, ptr, n):
        """`if ptr + n > len(stack): stack = grow(stack, ptr + n)`: the stack variable is only
        re-bound when it really grows, so the common path costs no reference counting."""
        need = add(N(ptr), n)
        test = ast.Compare(need, [ast.Gt()], [ast.Subscript(ast.Attribute(N(stack), "shape", ast.Load()),
                                                             ast.Constant(0), ast.Load())])
        return ast.If(test, [assign(stack, call("_rt.grow", N(stack), add(N(ptr), n)))], [])

    def pops(self, block) -> list:
        fl, il = list(self.plan.floats.get(block.id, ())), list(self.plan.ints.get(block.id, ()))
        al = list(self.plan.arrays.get(block.id, ()))
        out = self._pop_code(fl, il) + [assign(v, call(f"{self.tape_of(v)}.pop")) for v in reversed(al)]
        if out:
            out.insert(0, comment("restore: " + ", ".join(fl + il + al)))
        again = self.plan.recompute.get(block.id, [])
        if again:
            out.append(comment("recompute: " + ", ".join(s.target for s in again)))
            out += [assign(s.target, primal_expr(s.value)) for s in again]
        return out

    def forward_stmt(self, s) -> list:
        if isinstance(s, ir.Assign):
            return [assign(s.target, carried(s, self.an.types, primal_expr(s.value)))]
        if isinstance(s, ir.Store):
            return self.save_overwritten(s) + [
                ast.Assign([ast.Subscript(N(s.array.name), index_ast(s.index), ast.Store())], op_ast(s.value))]
        if isinstance(s, ir.If):
            return [ast.If(op_ast(s.cond), self.forward(s.body) or [ast.Pass()], self.forward(s.orelse))]
        if isinstance(s, ir.For):
            return self.forward_for(s)
        if isinstance(s, ir.While):
            return self.forward_while(s)
        if isinstance(s, ir.Assert):
            return [ast.Assert(op_ast(s.cond), None)]
        raise TypeError(s)

    def plan_region(self, s: ir.Store) -> bool:
        """Whether a write covers a region (a slice, or fewer indices than dimensions)."""
        return len(s.index) < self.an.types[s.array.name].ndim or any(
            isinstance(i, ir.Slice) or i is None for i in s.index)

    def save_overwritten(self, s: ir.Store) -> list:
        """Before a write whose overwritten elements an earlier adjoint reads: keep them (pushed
        when the write is inside a loop); `restore_overwritten` puts them back."""
        kind = self.plan.restores.get(id(s))
        if kind is None:
            return []
        old = self.old[id(s)] = self.names.fresh(f"_{s.array.name}_old")
        region = ast.Subscript(N(s.array.name), index_ast(s.index), ast.Load())
        out = [comment(f"keep what the write overwrites: the adjoint reads `{s.array.name}` before it"),
               assign(old, call("_rt.copy", region) if kind == "array" else region)]
        if self.depth_of[id(s)] > 0 and self.taping:
            if kind == "array":
                out.append(ast.Expr(call(f"{self.tape_of(old)}.append", N(old))))
            else:
                fl, il = ([old], []) if kind == "float" else ([], [old])
                out += self._push_code(fl, il, ensure=self._store_block(s) not in self.reserved_blocks)
        return out

    def restore_overwritten(self, s: ir.Store) -> list:
        kind = self.plan.restores.get(id(s))
        if kind is None:
            return []
        old = self.old[id(s)]
        out = []
        if self.depth_of[id(s)] > 0:
            if kind == "array":
                out.append(assign(old, call(f"{self.tape_of(old)}.pop")))
            else:
                out += self._pop_code([old], []) if kind == "float" else self._pop_code([], [old])
        return out + [ast.Assign([ast.Subscript(N(s.array.name), index_ast(s.index), ast.Store())], N(old))]

    def _store_block(self, s):
        for b in self.blocks.values():
            if any(x is s for x in b.stmts):
                return b.id
        return None

    def _reserve(self, loop) -> list:
        """Reserve stack room for a whole range loop at its entry, when its body has no inner loops."""
        if not self.taping or loop.checkpoint is not None or loop.counted or any(isinstance(x, (ir.For, ir.While)) for x in ir.walk_stmts(loop.body)):
            return []
        nf, ni = self.plan.count_pushes(loop.body)
        out = []
        if nf:
            out.append(self._ensure(self.fs, self.fp, mul(N(loop.trips), nf)))
        if ni:
            out.append(self._ensure(self.is_, self.ip, mul(N(loop.trips), ni)))
        if out:
            self.reserved_blocks |= self.subtree[loop.body.id]
        return out

    def forward_for(self, s: ir.For) -> list:
        if s.checkpoint is not None:
            return self.forward_checkpointed(s)
        out = []
        if s.counted:
            out.append(assign(s.trips, ast.Constant(0)))
        out += self._reserve(s)
        body = self.forward(s.body)
        if s.counted:
            body.append(aug(S(s.trips), ast.Constant(1)))
        if s.exit is not None:
            body.append(ast.If(op_ast(s.exit), [ast.Break()], []))
        out.append(ast.For(S(s.index), range_call(s.start, s.stop, s.step), body or [ast.Pass()], []))
        return out

    # ------------------------------------------------------------------ checkpointed loops
    def _cp_names(self, s):
        if not hasattr(s, "_cp"):
            s._cp = {k: self.names.fresh(f"_{k}") for k in ("K", "n", "seg", "lo", "hi", "j")}
        return s._cp

    def _snapshot(self, s, push: bool) -> list:
        """Push (forward) or pop (reverse) the state of checkpointed loop `s` at a segment's start:
        its carried values, and the arrays its body writes in place that were made before it.

        Arrays are saved as copies, one per segment, in tapes of their own.  A carried array is
        re-bound to its copy when the segment is re-run (the re-run's in-place writes then go
        to the copy); an array written in place but not re-bound gets the copy's elements back
        in the same object, which every alias of it sees, as the first run did."""
        arrays = [p for p in s.phis if self.an.kind.get(p) == "array"]
        fl = [p for p in s.phis if p not in arrays and self.an.dtype.get(p) not in ("int", "bool")]
        il = [p for p in s.phis if p not in arrays and self.an.dtype.get(p) in ("int", "bool")]
        made = {x.target for x in ir.walk_stmts(s.body) if isinstance(x, ir.Assign)}
        written = sorted({x.array.name for x in ir.walk_stmts(s.body) if isinstance(x, ir.Store)}
                         - made - set(s.phis))
        if push:
            return [ast.Expr(call(f"{self.tape_of('_snap_' + a)}.append", call("_rt.copy", N(a))))
                    for a in arrays + written] + self._push_code(fl, il, ensure=True)
        out = [assign(a, call(f"{self.tape_of('_snap_' + a)}.pop")) for a in arrays]
        out += [ast.Assign([ast.Subscript(N(a), ast.Constant(Ellipsis), ast.Store())],
                           call(f"{self.tape_of('_snap_' + a)}.pop")) for a in written]
        return out + self._pop_code(fl, il)

    def forward_checkpointed(self, s: ir.For) -> list:
        cp = self._cp_names(s)
        out = [assign(cp["K"], call("_rt.segment_length", N(s.trips), op_ast(s.checkpoint))),
               assign(cp["n"], ast.Constant(0))]
        taping, self.taping = self.taping, False
        body = self.forward(s.body)
        self.taping = taping
        snap = [comment("checkpoint: the carried values at the start of every segment")] + self._snapshot(s, True)
        test = ast.Compare(ast.BinOp(N(cp["n"]), ast.Mod(), N(cp["K"])), [ast.Eq()], [ast.Constant(0)])
        body = [ast.If(test, snap, [])] + body + [aug(S(cp["n"]), ast.Constant(1))]
        out.append(ast.For(S(s.index), range_call(s.start, s.stop, s.step), body, []))
        return out

    def reverse_checkpointed(self, s: ir.For, inited) -> list:
        cp = self._cp_names(s)
        index = ast.BinOp(op_ast(s.start), ast.Add(), ast.BinOp(N(cp["j"]), ast.Mult(), op_ast(s.step)))
        rerun = [assign(s.index, index)] + self.forward(s.body)
        back = [assign(s.index, index)] + self.reverse(s.body, set(inited))
        nseg = ast.BinOp(ast.BinOp(N(s.trips), ast.Add(), ast.BinOp(N(cp["K"]), ast.Sub(), ast.Constant(1))),
                         ast.FloorDiv(), N(cp["K"]))
        one = ast.Constant(1)
        seg_body = ([comment("restore the segment's start, re-run it with saves, then reverse it")]
                    + self._snapshot(s, False)
                    + [assign(cp["lo"], ast.BinOp(N(cp["seg"]), ast.Mult(), N(cp["K"]))),
                       assign(cp["hi"], call("min", add(N(cp["lo"]), N(cp["K"])), N(s.trips))),
                       ast.For(S(cp["j"]), call("range", N(cp["lo"]), N(cp["hi"])), rerun, [])]
                    + self._note_tape()
                    + [
                       ast.For(S(cp["j"]), call("range", ast.BinOp(N(cp["hi"]), ast.Sub(), one),
                                                 ast.BinOp(N(cp["lo"]), ast.Sub(), one), ast.UnaryOp(ast.USub(), one)),
                               back, [])])
        return [ast.For(S(cp["seg"]), call("range", ast.BinOp(nseg, ast.Sub(), one), ast.UnaryOp(ast.USub(), one),
                                            ast.UnaryOp(ast.USub(), one)), seg_body, [])]

    def forward_while(self, s: ir.While) -> list:
        cond = self.forward(s.cond_block)
        body = self.forward(s.body)
        body.append(aug(S(s.trips), ast.Constant(1)))
        if s.exit is not None:
            body.append(ast.If(op_ast(s.exit), [ast.Break()], []))
        body += [x for x in cond if not is_comment(x)]
        return [assign(s.trips, ast.Constant(0))] + cond + [ast.While(op_ast(s.cond), body, [])]

    # ------------------------------------------------------------------ adjoint sweep
    def contribs(self, s) -> set:
        """Variables (homed outside `s`) whose adjoints the reverse of `s` writes."""
        out = set()
        for x in [s] + list(_nested_stmts(s)):
            out |= self._direct_contribs(x)
        inner = set()
        for b in ir.child_blocks(s):
            inner |= self.subtree[b.id]
        return {v for v in out if self.an.home.get(v) is None or self.an.home[v].id not in inner}

    def _direct_contribs(self, s) -> set:
        out = set()
        if isinstance(s, ir.Assign) and self.an.needs_adjoint(s.target):
            v = s.value
            if isinstance(v, ir.Var) and self.needs(v):
                out.add(v.name)
            elif isinstance(v, ir.Prim):
                out |= {a.name for i, a in enumerate(v.args) if self.needs(a) and v.rule.exprs[i] is not None}
            elif isinstance(v, ir.Load) and self.needs(v.array):
                out.add(v.array.name)
            if s.phi == "carry":
                out.add(s.target)
        elif isinstance(s, ir.Store) and self.an.needs_adjoint(s.array.name) and self.needs(s.value):
            out.add(s.value.name)
        return out

    def zero(self, v):
        return zero(v, self.an.is_scalar(v))

    def accumulate(self, v, value, inited: set) -> ast.stmt:
        b = self.bar(v)
        if self._reads_maybe_zero(value):
            self.maybe_zero.add(v)
        if v not in inited and self.an.is_scalar(v):
            inited.add(v)
            return assign(b, value)
        if v not in inited:   # arrays are zeroed at their home block; this is a fallback
            inited.add(v)
            return assign(b, add(self.zero(v), value))
        return aug(S(b), value)

    def _reads_maybe_zero(self, expr) -> bool:
        zero_bars = {self.bars[v] for v in self.maybe_zero if v in self.bars}
        return any((isinstance(n, ast.Name) and n.id in zero_bars) or isinstance(n, ast.Subscript)
                   for n in ast.walk(expr))

    def reverse(self, block, inited: set) -> list:
        out = self.pops(block)
        for v in sorted(n for n, h in self.an.home.items() if h is block and self.an.needs_adjoint(n)
                        and not self.an.is_scalar(n) and n not in inited):
            out.append(assign(self.bar(v), self.zero(v)))
            inited.add(v)
            self.maybe_zero.add(v)
        last_line, group = None, []
        for s in reversed(block.stmts):
            code = self.reverse_stmt(s, inited)
            if not code:
                continue
            line = getattr(s, "loc", None)
            is_phi = isinstance(s, ir.Assign) and s.phi
            if line is not None and not is_phi and (line.file, line.line) != last_line:
                with sub_pass("collect"):
                    out += self.collector.collect(group, last_line, block.depth > 0)
                group = [comment("adjoint of: " + where(line))]
                last_line = (line.file, line.line)
            group += code
        with sub_pass("collect"):
            out += self.collector.collect(group, last_line, block.depth > 0)
        local = {self.bars[v] for v, h in self.an.home.items() if h is block and v in self.bars}
        if block.depth == 0:        # the arguments' adjoints are read after the list: returned
            local -= {self.bars[p.name] for p in self.fn.params if p.name in self.bars}
        with sub_pass("first"):
            out = first_contributions(out, local, set(self.bars.values()))
        with sub_pass("fuse"):
            out = fuse_elementwise(out, self._element_kind, self.names.fresh, local)
        return out

    def _element_kind(self, name: str):
        """The number of dimensions of a forward or adjoint name (0: a number), None when it is
        not a value of the IR (passes/fuse.py)."""
        ty = self.fn.types.get(self._primal_of.get(name, name))
        if ty is None or getattr(ty, "dtype", None) not in ("f", "i", "b"):
            return None
        return ty.ndim

    def _array_kind(self, name: str):
        """(number of dimensions, dtype code) of a forward name, None when it is not a value of
        the IR (passes/inline.py)."""
        ty = self.fn.types.get(name)
        if ty is None or getattr(ty, "dtype", None) not in ("f", "i", "b"):
            return None
        return ty.ndim, ty.dtype

    def reverse_stmt(self, s, inited: set) -> list:
        an = self.an
        if isinstance(s, ir.Assert):        # checked in the forward sweep; no derivative
            return []
        if isinstance(s, ir.Assign):
            if not an.needs_adjoint(s.target):
                return []
            t, tb, v = s.target, N(self.bar(s.target)), s.value
            out = []
            if s.target not in inited:   # nothing downstream used it (e.g. an unread phi)
                return []
            if isinstance(v, ir.Var) and self.needs(v):
                out.append(self.accumulate(v.name, tb, inited))
            elif isinstance(v, ir.Prim):
                out += self.reverse_prim(t, v, inited)
            elif isinstance(v, ir.Load) and self.needs(v.array):
                # a view or an element: its adjoint adds into the same region of the array's
                # (new axes, `None`, are summed away first: they have length 1)
                index, g = list(v.index), tb
                for k in reversed([k for k, i in enumerate(index) if i is None]):
                    g = call("np.sum", g, ast.Constant(self._view_axis(index, k)))
                index = tuple(i for i in index if i is not None) or (ir.Slice(),)
                out.append(aug(ast.Subscript(N(self.bar(v.array.name)), index_ast(index), ast.Store()), g))
            if s.phi == "carry":
                out.append(assign(self.bar(t), self.zero(t)))
            return out
        if isinstance(s, ir.Store):
            out = []
            if an.needs_adjoint(s.array.name) and s.array.name in inited:
                elem = lambda ctx: ast.Subscript(N(self.bar(s.array.name)), index_ast(s.index), ctx())  # noqa: E731
                if self.needs(s.value):
                    if self.plan_region(s):      # a copy: the region's adjoint is zeroed next
                        c = call("_rt.unbroadcast", call("_rt.copy", elem(ast.Load)),
                                 N(self.bar(s.value.name)) if s.value.name in inited else N(s.value.name))
                    else:
                        c = elem(ast.Load)
                    out.append(self.accumulate(s.value.name, c, inited))
                out.append(ast.Assign([elem(ast.Store)], ast.Constant(0.0)))
            return out + self.restore_overwritten(s)
        out = []
        pending = sorted(self.contribs(s) - inited)
        if isinstance(s, ir.If):
            # a scalar adjoint first written in this `if` is assigned by each branch's first
            # contribution, and zeroed only in a branch that has none: `x_bar = g * x` rather
            # than `x_bar = 0.0` then `x_bar += g * x` (which LLVM may not fold: 0.0 + -0.0 is 0.0)
            for v in pending:
                if not self.an.is_scalar(v):
                    out.append(assign(self.bar(v), self.zero(v)))
                    inited.add(v)
                    self.maybe_zero.add(v)
            in_body, in_orelse = set(inited), set(inited)
            body, orelse = self.reverse(s.body, in_body), self.reverse(s.orelse, in_orelse)
            for v in pending:
                if v in inited:
                    continue
                for code, got in ((body, in_body), (orelse, in_orelse)):
                    if v not in got:
                        code.append(assign(self.bar(v), self.zero(v)))
                        self.maybe_zero.add(v)
                inited.add(v)
            if not body and not orelse:
                return out
            return out + [ast.If(op_ast(s.cond), body or [ast.Pass()], orelse)]
        for v in pending:
            out.append(assign(self.bar(v), self.zero(v)))
            inited.add(v)
            self.maybe_zero.add(v)
        if isinstance(s, ir.For) and s.checkpoint is not None:
            return out + self.reverse_checkpointed(s, inited)
        if isinstance(s, ir.For):
            body = self.reverse(s.body, set(inited))
            if not body:
                return out
            if s.index in self.plan.reads_in(s.body):
                rng = reversed_range(s.start, s.step, s.trips)
                return out + [ast.For(S(s.index), rng, body, [])]
            k = self.names.fresh("_k")
            return out + [ast.For(S(k), call("range", N(s.trips)), body, [])]
        if isinstance(s, ir.While):
            body = self.reverse(s.body, set(inited))
            if not body:
                return out
            k = self.names.fresh("_k")
            return out + [ast.For(S(k), call("range", N(s.trips)), body, [])]
        raise TypeError(s)

    @staticmethod
    def _view_axis(index, k) -> int:
        """The axis of a view that index entry k (a `None`) creates: integers drop an axis."""
        return sum(1 for i in index[:k] if i is None or isinstance(i, ir.Slice))

    def reverse_prim(self, t, v: ir.Prim, inited) -> list:
        r = v.rule
        if r.kind == "nondiff":
            return []
        out = []
        mapping = {p: op_ast(a) for p, a in zip(r.params, v.args)}
        mapping["out"] = N(t)
        mapping["g"] = N(self.bar(t))
        for i, a in enumerate(v.args):
            if not self.needs(a) or r.exprs[i] is None:
                continue
            if r.kind == "vjp":
                c = substitute(r.exprs[i], mapping)
            else:
                partial = substitute(r.exprs[i], mapping)
                if t in self.maybe_zero and r.nonfinite[i]:
                    c = call("_rt.zsafe", N(self.bar(t)), partial)
                else:
                    c = scale(N(self.bar(t)), partial)
                if not (self.an.is_scalar(t) and self.an.is_scalar(a.name)):
                    c = call("_rt.unbroadcast", c, N(self.bar(a.name)) if a.name in inited else N(a.name))
            out.append(self.accumulate(a.name, c, inited))
        return out

    # ------------------------------------------------------------------ the whole function
    def _keep_result(self, res, saved, body):
        """The returned value as an expression; a variable the adjoint sweep restores to an
        earlier value is kept first (a copy, for an array restored in place)."""
        if isinstance(res, ir.Tup):
            return ast.Tuple([self._keep_result(item, saved, body) for item in res.items], ast.Load())
        writes = any(isinstance(x, ir.Store) for x in ir.walk_stmts(self.fn.body))
        if isinstance(res, ir.Var) and (res.name in saved or (writes and not self.an.is_scalar(res.name))):
            # (an array the function writes into may have regions restored by the adjoint sweep)
            final = self.names.fresh(f"{res.name}_final")
            body.append(assign(final, N(res.name) if self.an.is_scalar(res.name) else call("_rt.copy", N(res.name))))
            return N(final)
        return op_ast(res)

    @staticmethod
    def _seeds(res, seed, outputs):
        """(operand, its seed expression) for each returned value that receives a seed:
        "scalar" and "all" seed the whole result (a tuple's items from the tuple seed), "aux"
        only the first item of a `(loss, aux...)` tuple."""
        if outputs == "aux":
            return [(res.items[0], seed)]
        if isinstance(res, ir.Tup) and outputs == "all":
            out = []
            for k, item in enumerate(res.items):
                out += Reverse._seeds(item, ast.Subscript(seed, ast.Constant(k), ast.Load()), outputs)
            return out
        return [(res, seed)]

    # ------------------------------------------------------------------ the tape's size
    def _note_tape(self) -> list:
        """`if _tape_stats is not None: _rt.note_tape(...)` where the tape is at a peak (the end
        of the forward sweep, a checkpointed segment's re-run); its sizes are filled in by
        `_fill_tape_notes` once every tape is known.  Numba prunes the branch in the compiled
        function that is called without `_tape_stats`: the measurement costs nothing then."""
        note = ast.If(ast.Compare(N(TAPE_STATS), [ast.IsNot()], [ast.Constant(None)]), [], [])
        self._notes.append(note)
        return [note]

    def tape_layout(self) -> list:
        """What `_tape_stats[1:]` holds, one label per entry (`_tape_stats[0]`: the total)."""
        def label(v):
            if v.startswith("_snap_"):
                return f"{v[len('_snap_'):]} (checkpoint snapshots)"
            if v in self.old.values():
                return f"{v[1:-len('_old')]} (elements a write overwrote)"
            return v
        out = [label(v) for v in sorted(self.tapes)]
        return out + (["float stack", "int stack"] if self.uses_stacks else [])

    def _fill_tape_notes(self) -> bool:
        """Fill the notes `_note_tape` left; False (and no notes) when nothing is saved."""
        if not self.tapes and not self.uses_stacks:
            for n in self._notes:   # nothing to measure: build() drops the emptied notes
                n.body = []
            return False
        sizes = [call("_rt.tape_nbytes", N(t)) for _, t in sorted(self.tapes.items())]
        if self.uses_stacks:
            sizes += [ast.BinOp(N(ptr), ast.Mult(), ast.Attribute(N(st), "itemsize", ast.Load()))
                      for st, ptr in ((self.fs, self.fp), (self.is_, self.ip))]
        for n in self._notes:
            n.body = [comment("the tape's size, when asked (GradFunction.tape_size)"),
                      ast.Expr(call("_rt.note_tape", N(TAPE_STATS), ast.Tuple(sizes, ast.Load())))]
        return True

    def build(self, name: str, outputs: str = "scalar") -> ast.FunctionDef:
        """`outputs`: "scalar" (a gradient's one number), "all" (vjp: any result, seeded by a
        cotangent of its structure) or "aux" (`(loss, aux...)`: only the loss seeded)."""
        fn = self.fn
        body = []
        if self.uses_stacks:
            body += [assign(self.fp, ast.Constant(0)), assign(self.ip, ast.Constant(0))]
        body += self.forward(fn.body)
        body += self._note_tape()
        res = fn.result
        saved = self.plan.saved()
        saved |= {p for x in ir.walk_stmts(fn.body) if isinstance(x, ir.For) and x.checkpoint is not None
                  for p in x.phis}
        result_ast = self._keep_result(res, saved, body)
        body.append(comment(""))
        sweep = comment("adjoint sweep")
        body.append(sweep)
        inited: set = set()
        seed = self.names.fresh("_seed")
        for op, seed_ast in self._seeds(res, N(seed), outputs):
            if isinstance(op, ir.Var) and self.an.needs_adjoint(op.name):
                if not self.an.is_scalar(op.name):      # a copy: the adjoint is accumulated in place
                    seed_ast = call("_rt.seed_array", seed_ast, N(op.name))
                    if op.name not in inited:
                        inited.add(op.name)
                        body.append(assign(self.bar(op.name), seed_ast))
                        continue
                body.append(self.accumulate(op.name, seed_ast, inited))
        body += self.reverse(fn.body, inited)
        grads = []
        for i in fn.argnums:     # in the order the user asked for
            p = fn.params[i]
            if p.name not in inited:
                inited.add(p.name)   # zeros_like: an unused argument may be an array srcgrad never saw indexed
                body.append(assign(self.bar(p.name), call("_rt.zeros_like", N(p.name))))
            grads.append(N(self.bar(p.name)))
        if self.tapes:
            body = [assign(t, call("_List")) for _, t in sorted(self.tapes.items())] + body
        measured = self._fill_tape_notes()
        if not measured:
            body = _DropEmptyIfs().visit(ast.Module(body, [])).body
        with sub_pass("collect"):
            body = drop_unread(body, set(self.bars.values()), {g.id for g in grads}, is_comment)
        with sub_pass("first"):
            body = in_place_contributions(body)
        at = next((i for i, x in enumerate(body) if x is sweep), None)
        if at is not None:
            with sub_pass("inline"):
                body = inline_forward(body[:at], body[at:], self._array_kind) + body[at:]
        ret = [result_ast, ast.Tuple(grads, ast.Load())]
        if self.uses_stacks:
            ret += [N(self.fs), N(self.is_)]
        body.append(ast.Return(ast.Tuple(ret, ast.Load())))
        args = [ast.arg(p.name) for p in fn.params] + [ast.arg(seed)]
        if self.uses_stacks:
            args += [ast.arg(self.fs), ast.arg(self.is_)]
        defaults = []
        if measured:
            args.append(ast.arg(TAPE_STATS))
            defaults.append(ast.Constant(None))
        return function(name, ast.arguments([], args, None, [], [], None, defaults), body)


class _DropEmptyIfs(ast.NodeTransformer):
    """Remove the tape-size notes of a function that saves nothing (their bodies are empty)."""

    def visit_If(self, node):
        self.generic_visit(node)
        if not node.body and not node.orelse:
            return None
        if not node.body:
            node.body = [ast.Pass()]
        return node


TAPE_STATS = "_tape_stats"     # the vjp's last, optional parameter: an int64 array the tape's size is noted in


def _nested_stmts(s):
    for b in ir.child_blocks(s):
        yield from ir.walk_stmts(b)
