"""Which array variables may name the same memory, and the writes that would make an adjoint
inexact because of it.

Python names bind objects: `old = w` makes both names one object (the lowering gives them one
SSA variable, so nothing is needed here), while `w = w + x` binds a new one.  Different SSA
variables can still share memory: a view (`x.T`, `x[1:]`, `A[i]`), or a variable that merges
several objects after an `if` or around a loop.  Each array variable gets the set of abstract
objects it may refer to: a parameter, or an allocation site (the statement that creates a
new array).  Around a loop, the objects a carried variable holds from an earlier iteration are
*aged*: `u` (last iteration's array) and `unew = np.zeros(n)` (this iteration's) never alias,
although both come from the same allocation site.

What holds after `analyse(fn, an)`:
* `objects[v]` for every array variable; `may_alias(u, v)` (in one iteration), `may_share(u, v)`
  (in any iterations: for what the tape saved);
* a write `y[...] = ...` while another variable that may share y's memory is still going to be
  read (it is live) is refused with the user's location: the adjoint of that other variable
  would be accumulated apart from y's and flow into the overwritten elements.  Writes through
  the name the array was created with, or through a plain alias (`old = y`), are exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import ir
from ..errors import UnsupportedArrayUseError
from .activity import Analysis


@dataclass
class Aliases:
    objects: dict = field(default_factory=dict)     # array variable -> frozenset of abstract objects
    live_after: dict = field(default_factory=dict)  # id(Store) -> variables live right after it

    def may_alias(self, u: str, v: str) -> bool:
        a, b = self.objects.get(u), self.objects.get(v)
        return a is not None and b is not None and bool(a & b)

    def may_share(self, u: str, v: str) -> bool:
        """Whether u and v may name the same memory in any iterations, their ages ignored: the
        tape keeps each iteration's saved arrays, so a write after a loop (or in a later
        iteration) into the array a carried variable holds changes what an earlier iteration
        saved, although within one iteration `u` (older) and `unew` never alias."""
        a, b = self.objects.get(u), self.objects.get(v)
        if a is None or b is None:
            return False
        return bool({(k, n) for k, n, _ in a} & {(k, n) for k, n, _ in b})


def is_view(value, an) -> bool:
    """Whether an assigned value shares memory with its first operand (transposes, slices)."""
    if isinstance(value, ir.Load):
        return an.types.get(value.array.name) is not None and _load_is_view(value, an)
    if isinstance(value, ir.Prim):
        return bool(getattr(value.rule, "view", False))
    return False


def _load_is_view(value, an) -> bool:
    return any(isinstance(i, ir.Slice) or i is None for i in value.index) or \
        len(value.index) < an.types[value.array.name].ndim


def analyse(fn: ir.Function, an: Analysis) -> Aliases:
    al = Aliases()
    is_array = {v for v, t in an.types.items() if t.is_array}
    loops = [s for s in ir.walk_stmts(fn.body) if isinstance(s, (ir.For, ir.While))]
    inside = {id(lp): {x.target for x in ir.walk_stmts(lp.body) if isinstance(x, ir.Assign)} for lp in loops}
    loop_of_phi = {p: lp for lp in loops for p in lp.phis}
    for p in fn.params:
        if p.name in is_array:
            al.objects[p.name] = frozenset({("param", p.name, 0)})
    assigns = [s for s in ir.walk_stmts(fn.body) if isinstance(s, ir.Assign) and s.target in is_array]

    def objs(name):
        return al.objects.get(name, frozenset())

    changed = True
    while changed:
        changed = False
        for s in assigns:
            v = s.value
            if isinstance(v, ir.Var):
                new = objs(v.name)
                if s.phi == "carry":            # what the next iteration sees is older
                    lp = loop_of_phi.get(s.target)
                    if lp is not None:
                        new = frozenset((k, n, 1) if k == "new" and n in inside[id(lp)] else (k, n, a)
                                        for k, n, a in new)
            elif is_view(v, an):
                base = v.array.name if isinstance(v, ir.Load) else v.args[0].name
                new = objs(base)
            elif isinstance(v, (ir.Prim, ir.Raw, ir.Load)):
                new = frozenset({("new", s.target, 0)})
            else:
                new = frozenset()
            merged = objs(s.target) | new if s.phi else new | objs(s.target)
            if merged != objs(s.target):
                al.objects[s.target] = merged
                changed = True
    _liveness(fn, al)
    _refuse_hazards(fn, an, al)
    return al


# ---------------------------------------------------------------------- liveness
def _reads(s) -> set:
    return ir.reads_of(s)


def _block_live(stmts, live_out, al):
    live = set(live_out)
    for s in reversed(stmts):
        live = _stmt_live(s, live, al)
    return live


def _stmt_live(s, live_out, al):
    if isinstance(s, ir.Store):
        al.live_after[id(s)] = set(live_out)
        return live_out | _reads(s)
    if isinstance(s, ir.Assign):
        return (live_out - {s.target}) | _reads(s)
    if isinstance(s, ir.If):
        return _block_live(s.body.stmts, live_out, al) | _block_live(s.orelse.stmts, live_out, al) | _reads(s)
    if isinstance(s, (ir.For, ir.While)):
        head = _reads(s)
        cond = s.cond_block.stmts if isinstance(s, ir.While) else []
        body_in: set = set()
        while True:     # the body runs again after itself: a fixpoint over the back edge
            at_end = live_out | body_in | head | (ir.operand_names([s.cond]) if isinstance(s, ir.While) else set())
            new = _block_live(s.body.stmts, at_end, al)
            new = _block_live(cond, new | live_out, al) if cond else new
            if new == body_in:
                break
            body_in = new
        return live_out | body_in | head
    return live_out


def _liveness(fn, al):
    out = ir.operand_names([fn.result]) if not isinstance(fn.result, tuple) else ir.operand_names(fn.result)
    _block_live(fn.body.stmts, out, al)


def _refuse_hazards(fn, an, al):
    for s in ir.walk_stmts(fn.body):
        if not isinstance(s, ir.Store) or s.array.name not in al.objects:
            continue
        y = s.array.name
        for u in sorted(al.live_after.get(id(s), ())):
            if u != y and u in al.objects and al.may_alias(u, y):
                yn, un = _shown(fn, y), _shown(fn, u, besides=y)
                read = f"`{un}`, which may share its memory," if un else \
                    "an array that may share its memory (computed before the write)"
                raise UnsupportedArrayUseError(
                    f"`{yn}` is written while {read} is still used after the write: srcgrad would "
                    "accumulate their derivatives apart", s.loc,
                    f"copy the array you read (`{un or 'other'} = {yn}.copy()`), or write through one name only")


def _shown(fn, v, besides=None):
    """The user's name for SSA variable `v` (one it does not share with `besides`), or None for
    a temporary the user never named."""
    names = fn.source_names.get(v, [])
    taken = set(fn.source_names.get(besides, [])) if besides else set()
    own = [n for n in names if n not in taken]
    if own:
        return own[0]
    return None if besides else (names[0] if names else v)
