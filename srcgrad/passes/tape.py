"""The tape plan: which forward values the adjoint sweep needs that a later iteration
overwrites, and whether each is saved (pushed on a stack) or recomputed.

What holds for the `TapePlan` returned by `plan(fn, an, aliases)`:
* `adjoint_reads(s)` are the primal variables the adjoint code of statement `s` reads;
* a variable the adjoint reads whose home block is inside a loop, or a value a loop carries that
  the adjoint reads within that loop, is in `floats[block]`/`ints[block]` (numbers, pushed on
  the float or the int stack at the end of every execution of `block`, popped at the start of
  its reversed execution) or `arrays[block]` (arrays, pushed on a tape of their own: the object
  itself, or a copy for those in `copied`, which a later in-place write may reach), unless
* it is cheap arithmetic on values that are restored anyway, listed in `recompute[block]`: those
  statements are re-run after the pops (a loop like `y = y + dt * r * y * (1 - y / k)` saves
  only `y`).
Nothing else is stored: straight-line values stay in locals of the fused function.
"""
from __future__ import annotations

import ast

from collections import defaultdict
from dataclasses import dataclass, field

from .. import ir
from .activity import Analysis

# arithmetic cheap enough to recompute in the adjoint rather than save
_CHEAP = {"add", "sub", "mul", "truediv", "neg", "pos"}


# constructors whose result has the shape of their first argument
_LIKE = {"zeros_like", "ones_like", "empty_like", "full_like"}


@dataclass(frozen=True)
class TapePlan:
    floats: dict = field(default_factory=dict)      # block id -> names of floats pushed at its end
    ints: dict = field(default_factory=dict)        # block id -> names of ints/bools pushed at its end
    arrays: dict = field(default_factory=dict)      # block id -> names of arrays pushed by reference
    recompute: dict = field(default_factory=dict)   # block id -> Assigns re-run after its pops
    reads: object = None                            # statement -> primal names its adjoint reads
    # id(Store) -> "float" | "int" | "array": writes whose overwritten elements an adjoint read
    # before them needs; they are saved before the write and put back as the adjoint passes it
    restores: dict = field(default_factory=dict)
    restore_blocks: dict = field(default_factory=dict)   # block id -> (floats, ints) restores in it
    # saved arrays pushed as a copy, not by reference: they may share memory with an array
    # written in place (after the loop, or in a later iteration, through the variable that
    # carries them), which would change what the tape holds
    copied: frozenset = frozenset()

    def saved(self) -> set:
        return {v for d in (self.floats, self.ints, self.arrays) for vs in d.values() for v in vs}

    def uses_stacks(self, fn) -> bool:
        """Whether the fused function needs the float/int stacks (arrays have tapes of their own)."""
        return any(self.floats.values()) or any(self.ints.values()) or any(self.restore_blocks.values()) or any(
            isinstance(x, ir.For) and x.checkpoint is not None for x in ir.walk_stmts(fn.body))

    def reads_in(self, block) -> set:
        """Primal variables the reversed `block` reads (its statements, nested blocks, recomputes)."""
        out = set()
        for s in self.recompute.get(block.id, ()):
            out |= ir.reads_of(s)
        for s in block.stmts:
            out |= self.reads(s)
            for b in ir.child_blocks(s):
                out |= self.reads_in(b)
        return out

    def count_pushes(self, block):
        nf = ni = 0
        for b in ir.walk_blocks(block):
            nf += len(self.floats.get(b.id, ())) + self.restore_blocks.get(b.id, (0, 0))[0]
            ni += len(self.ints.get(b.id, ())) + self.restore_blocks.get(b.id, (0, 0))[1]
        return nf, ni


class _Planner:
    def __init__(self, fn: ir.Function, an: Analysis, aliases):
        self.fn, self.an, self.aliases = fn, an, aliases
        self.restores: dict = {}
        self.blocks = {b.id: b for b in ir.walk_blocks(fn.body)}
        self.subtree = {b.id: {x.id for x in ir.walk_blocks(b)} for b in self.blocks.values()}
        self.loop_index = {s.index: s for s in ir.walk_stmts(fn.body) if isinstance(s, ir.For)}
        self.written = {s.array.name for s in ir.walk_stmts(fn.body) if isinstance(s, ir.Store)}
        self.loop_of_phi = {p: s for s in ir.walk_stmts(fn.body) if isinstance(s, (ir.For, ir.While))
                            for p in s.phis}
        self.recompute: dict = defaultdict(list)

    def needs(self, op) -> bool:
        return isinstance(op, ir.Var) and self.an.needs_adjoint(op.name)

    # ------------------------------------------------------------------ what the adjoint reads
    def adjoint_reads(self, s) -> set:
        """Primal variables read by the adjoint code of `s` itself (not its nested blocks)."""
        an = self.an
        out = set()
        if isinstance(s, ir.Assign) and an.needs_adjoint(s.target):
            v = s.value
            if isinstance(v, ir.Prim) and v.rule.kind in ("partials", "vjp"):
                names = dict(zip(v.rule.params, v.args))
                for i, a in enumerate(v.args):
                    if self.needs(a) and v.rule.exprs[i] is not None:
                        for r in v.rule.reads(i):
                            if r == "out":
                                out.add(s.target)
                            elif r in names and isinstance(names[r], ir.Var):
                                out.add(names[r].name)
            elif isinstance(v, ir.Load) and self.needs(v.array):
                out |= ir.operand_names(v.index)
        elif isinstance(s, ir.Store) and (an.needs_adjoint(s.array.name) or id(s) in self.restores):
            out |= ir.operand_names(s.index)
        elif isinstance(s, ir.If):
            if self.has_adjoint(s.body) or self.has_adjoint(s.orelse):
                out |= ir.operand_names([s.cond])
        elif isinstance(s, (ir.For, ir.While)):
            if self.has_adjoint(s.body):
                out.add(s.trips)
                if isinstance(s, ir.For) and s.index in self.reads_in(s.body):
                    out |= ir.operand_names([s.start, s.step])
        return out

    def reads_in(self, block) -> set:
        """Primal variables the reversed `block` reads (its statements, nested blocks, recomputes)."""
        out = set()
        for s in self.recompute.get(block.id, []):
            out |= ir.reads_of(s)
        for s in block.stmts:
            out |= self.adjoint_reads(s)
            for b in ir.child_blocks(s):
                out |= self.reads_in(b)
        return out

    def has_adjoint(self, block) -> bool:
        for s in ir.walk_stmts(block):
            if isinstance(s, ir.Assign) and self.an.needs_adjoint(s.target):
                return True
            if isinstance(s, ir.Store) and self.an.needs_adjoint(s.array.name):
                return True
        return False

    # ------------------------------------------------------------------ saves
    def find_restores(self):
        """Writes into an array whose previous contents an adjoint reads: the adjoint of a
        statement that ran before the write (earlier in the function, or in an earlier iteration
        of a loop around both) reads the array or memory it shares (srcgrad/passes/alias.py), or
        a checkpointed loop before the write reads it, which the adjoint sweep runs again."""
        order, loops_of = {}, {}

        def walk(block, loops):
            for s in block.stmts:
                order[id(s)] = len(order)
                loops_of[id(s)] = loops
                for b in ir.child_blocks(s):
                    walk(b, loops + (id(s),) if isinstance(s, (ir.For, ir.While)) else loops)

        walk(self.fn.body, ())
        readers = []        # (statement, arrays read again in the adjoint sweep, loop it re-runs in)
        for s in ir.walk_stmts(self.fn.body):
            if isinstance(s, ir.Assign):
                arrays = {u for u in self.adjoint_reads(s) if self.an.types[u].is_array}
                if arrays:
                    readers.append((s, arrays, None))
            if isinstance(s, ir.For) and s.checkpoint is not None:
                # the adjoint re-runs a checkpointed loop's body from its checkpoints: every array
                # it reads is read again then (writes inside the loop are the checkpoint's own)
                for r in ir.walk_stmts(s.body):
                    arrays = {u for u in ir.reads_of(r) if self.an.types[u].is_array}
                    if arrays:
                        readers.append((r, arrays, id(s)))
        blocks = {}
        for b in ir.walk_blocks(self.fn.body):
            for s in b.stmts:
                blocks[id(s)] = b
        counts = defaultdict(lambda: [0, 0])
        for st in ir.walk_stmts(self.fn.body):
            if not isinstance(st, ir.Store):
                continue
            y = st.array.name
            for r, arrays, replayed in readers:
                if replayed in loops_of[id(st)]:
                    continue
                before = order[id(r)] < order[id(st)] or set(loops_of[id(r)]) & set(loops_of[id(st)])
                if before and any(u == y or self.aliases.may_alias(u, y) for u in arrays):
                    ty = self.an.types[y]
                    element = len(st.index) == ty.ndim and not any(
                        isinstance(i, ir.Slice) or i is None or (isinstance(i, ir.Var) and self.an.types[i.name].is_array)
                        for i in st.index)
                    kind = ("int" if ty.dtype != "f" else "float") if element else "array"
                    self.restores[id(st)] = kind
                    b = blocks[id(st)]
                    if b.depth > 0 and kind != "array":
                        counts[b.id][0 if kind == "float" else 1] += 1
                    break
        return {k: tuple(v) for k, v in counts.items()}

    def plan(self) -> TapePlan:
        restore_blocks = self.find_restores()
        needed = defaultdict(set)   # block id -> vars to push at its end

        def visit(block):
            for s in block.stmts:
                for v in self.adjoint_reads(s):
                    if v in self.loop_index:   # the reversed loop recomputes its index
                        continue
                    loop = self.loop_of_phi.get(v)
                    if loop is not None and block.id in self.subtree[loop.body.id]:
                        needed[loop.body.id].add(v)     # iteration-start value of a carried variable
                        continue
                    home = self.an.home.get(v)
                    if home is not None and home.depth > 0:
                        needed[home.id].add(v)
                for b in ir.child_blocks(s):
                    visit(b)

        visit(self.fn.body)
        # an array adjoint is zeroed with the shape of its primal: inside a loop, that is the
        # primal's value in the iteration being reversed unless its shape cannot change
        variant = self.shape_variant()
        for v, home in self.an.home.items():
            if (home.depth > 0 or v in self.loop_of_phi) and v in variant and self.an.needs_adjoint(v) \
                    and self.an.types[v].is_array:
                loop = self.loop_of_phi.get(v)
                needed[loop.body.id if loop is not None else home.id].add(v)
        for bid in list(needed):
            self._plan_recompute(self.blocks[bid], needed[bid], needed)
        floats, ints, arrays = defaultdict(list), defaultdict(list), defaultdict(list)
        for bid, vs in needed.items():
            for v in sorted(vs):
                if self.an.kind.get(v) == "array":
                    arrays[bid].append(v)
                elif self.an.dtype.get(v) in ("int", "bool"):
                    ints[bid].append(v)
                else:
                    floats[bid].append(v)
        copied = frozenset(v for vs in arrays.values() for v in vs
                           if any(self.aliases.may_share(v, y) for y in self.written))
        return TapePlan({k: tuple(v) for k, v in floats.items()}, {k: tuple(v) for k, v in ints.items()},
                        {k: tuple(v) for k, v in arrays.items()},
                        {k: tuple(v) for k, v in self.recompute.items()}, self.adjoint_reads,
                        dict(self.restores), restore_blocks, copied)

    def shape_variant(self) -> set:
        """Array variables whose shape may differ from one loop iteration to the next (an
        optimistic fixpoint: a shape is fixed when it depends only on fixed shapes and on numbers
        defined outside every loop)."""
        an = self.an
        defs = {}
        for st in ir.walk_stmts(self.fn.body):
            if isinstance(st, ir.Assign):
                defs.setdefault(st.target, []).append(st)
        inner = {v for v, h in an.home.items() if h.depth > 0} | set(self.loop_of_phi)

        def fixed_number(op):
            return not isinstance(op, ir.Var) or op.name not in inner

        variant: set = self._resizing_phis(defs)
        changed = True
        while changed:
            changed = False
            for v, sts in defs.items():
                if v in variant or not an.types[v].is_array:
                    continue
                for st in sts:
                    val = st.value
                    if isinstance(val, ir.Var):
                        bad = val.name in variant
                    elif isinstance(val, ir.Prim):
                        bad = any(isinstance(a, ir.Var) and (a.name in variant if an.types[a.name].is_array
                                                             else not fixed_number(a) and val.rule.kind != "partials")
                                  for a in val.args)
                    elif isinstance(val, ir.Raw):
                        bad = any(r in variant or (not an.types[r].is_array and r in inner) for r in val.reads)
                    elif isinstance(val, ir.Load):     # a slice's bounds set its shape (an index does not)
                        bounds = ir.index_operands([i for i in val.index if isinstance(i, ir.Slice)])
                        bad = val.array.name in variant or not all(fixed_number(i) for i in bounds)
                    else:
                        bad = False
                    if bad:
                        variant.add(v)
                        changed = True
                        break
        return variant

    def _resizing_phis(self, defs) -> set:
        """Loop-carried arrays whose next value may not have their shape: `d = d[1:] - d[:-1]`
        shrinks `d` every trip, although every slice bound is a constant.  A carried array keeps
        its shape when its value at the back edge is computed from it by elementwise operations
        only (partials rules, whatever their other operands: a broadcast that grows the array is
        summed back by the entry's unbroadcast), copies, or `np.zeros_like(it)`-style
        constructors; any other step (a slice, a reduction, a product, a reshape) counts as
        resizing it."""
        an = self.an

        def keeps_shape(v: str, p: str, seen: set) -> bool:
            if v == p:
                return True
            if v in seen or len(defs.get(v, ())) != 1:
                return False
            seen.add(v)
            val = defs[v][0].value
            if isinstance(val, ir.Var):
                return keeps_shape(val.name, p, seen)
            if isinstance(val, ir.Prim) and (val.rule.kind == "partials" or val.rule.key == "copy"):
                return any(isinstance(a, ir.Var) and an.types[a.name].is_array and keeps_shape(a.name, p, seen)
                           for a in val.args)
            if isinstance(val, ir.Raw) and isinstance(val.expr, ast.Call) and val.expr.args \
                    and isinstance(val.expr.func, ast.Attribute) and val.expr.func.attr in _LIKE \
                    and isinstance(val.expr.args[0], ast.Name):
                return keeps_shape(val.expr.args[0].id, p, seen)
            return False

        out = set()
        for p, loop in self.loop_of_phi.items():
            if not an.types[p].is_array:
                continue
            carries = [st.value for st in ir.walk_stmts(loop.body)
                       if isinstance(st, ir.Assign) and st.target == p and st.phi == "carry"]
            if any(not (isinstance(c, ir.Var) and keeps_shape(c.name, p, set())) for c in carries):
                out.add(p)
        return out

    def _cheap(self, v) -> bool:
        if isinstance(v, ir.Prim):
            return v.rule.key in _CHEAP or (v.rule.key == "pow" and isinstance(v.args[1], ir.Const))
        # an element of an array whose memory is never written cannot have changed; through a
        # view (`z = y[1:]`) that memory is written by `y[1] = 5.0` after the loop too, before
        # the adjoint would read `z[0]` again
        return isinstance(v, ir.Load) and v.array.name not in self.written and \
            not any(self.aliases.may_share(v.array.name, w) for w in self.written)

    def _view(self, v) -> bool:
        """A read of an array by integers and slices only (`x[1:]`, `q[k]`): a view, which costs
        nothing to make again, where a fancy index (an array of indices) would copy."""
        return isinstance(v, ir.Load) and not any(
            isinstance(op, ir.Var) and self.an.types[op.name].is_array for op in ir.index_operands(v.index))

    def _plan_recompute(self, block, needed: set, saved_with):
        """Replace saves of cheap arithmetic by recomputation from the restored state.

        A value defined directly in `block` by + - * / or negation, or read from an array that
        is never written (a number, or a view: the ODE's `x[1:]` in every Runge-Kutta stage),
        whose operands are never overwritten (homed outside every loop), carried values of this
        block's loop (which are then saved instead), values this block saves anyway (the LSTM
        cell's `b = hidden.shape[0]`, which the adjoint of `weight[0:b]` reads), or other
        recomputable values, is re-run after the pops rather than pushed.  "Never written"
        counts writes through every name that may share the array's memory (`_cheap`).
        """
        an = self.an
        defs = {s.target: s for s in block.stmts
                if isinstance(s, ir.Assign) and not s.phi and self._cheap(s.value)
                and (not an.types[s.target].is_array or self._view(s.value))}
        phis_here = {p for p, loop in self.loop_of_phi.items() if loop.body is block}
        # carried values of loops around `block` change every iteration: a value recomputed from
        # one needs it restored, so it is saved with its loop body's values (as plan() does
        # for a carried value the adjoint reads in a nested block)
        phis_around = {p: loop for p, loop in self.loop_of_phi.items()
                       if loop.body is not block and block.id in self.subtree[loop.body.id]}
        chosen: dict[str, ir.Assign] = {}

        def ok(v, seen=()):
            if v in chosen:
                return True
            if v in phis_here or v in phis_around:
                return True
            if v in needed and v not in defs:   # saved in this block: popped before the recomputes
                return True
            loop = self.loop_index.get(v)
            if loop is not None and block.id in self.subtree[loop.body.id]:
                return True
            home = an.home.get(v)
            if home is not None and home.depth == 0 and v not in defs:
                return True
            s = defs.get(v)
            if s is None or v in seen:
                return False
            args = s.value.args if isinstance(s.value, ir.Prim) else \
                [s.value.array] + ir.index_operands(s.value.index)       # slices' bounds too
            if all(ok(a.name, seen + (v,)) for a in args if isinstance(a, ir.Var)):
                chosen[v] = s
                return True
            return False

        for v in sorted(needed):
            if v in defs:
                ok(v)
        if not chosen:
            return
        for v in chosen:
            needed.discard(v)
        for s in chosen.values():
            for a in ir.reads_of(s):
                if a in phis_here:
                    needed.add(a)
                elif a in phis_around:
                    saved_with[phis_around[a].body.id].add(a)
        self.recompute[block.id] = [s for s in block.stmts if isinstance(s, ir.Assign) and s.target in chosen]


def plan(fn: ir.Function, an: Analysis, aliases) -> TapePlan:
    return _Planner(fn, an, aliases).plan()
