"""Activity analysis and the facts the reverse pass needs about every variable.

What holds after this pass (an `Analysis`):
* `active`: variables whose value depends, through differentiable operations, on an argument in
  `argnums` (arrays count as one variable, active when an active value is stored into them);
* `useful`: variables through which an active value reaches the result; only variables that are
  both get an adjoint;
* `types`: every variable's abstract type (srcgrad/abstract.py): dimensions from the lowering,
  kinds (float/int/bool) to a fixpoint; `kind` ("scalar"/"array") and `dtype`
  ("float"/"int"/"bool": which stack saves it) are read off it;
* `home`: the block that owns each variable (for phis of an `if`, the block holding the `if`).
Also refused here, with the user's location: a differentiated value used as an index or a
`range` bound, and an in-place write into an argument that is differentiated.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import abstract, ir
from ..errors import NoDerivativeRuleError, NotDifferentiableError, UnsupportedArrayUseError



@dataclass
class Analysis:
    active: set = field(default_factory=set)
    useful: set = field(default_factory=set)
    kind: dict = field(default_factory=dict)
    dtype: dict = field(default_factory=dict)
    types: dict = field(default_factory=dict)     # name -> abstract.Ty
    home: dict = field(default_factory=dict)
    int_context: set = field(default_factory=set)

    def needs_adjoint(self, name: str) -> bool:
        return name in self.active and name in self.useful

    def is_scalar(self, name: str) -> bool:
        return self.kind.get(name, "unknown") == "scalar"


def _stmts_with_blocks(block):
    for s in block.stmts:
        yield s, block
        for b in ir.child_blocks(s):
            yield from _stmts_with_blocks(b)


def analyse(fn: ir.Function, seeded=None) -> Analysis:
    """`seeded`: the part of the result that receives an adjoint seed (all of it by default;
    the loss alone for `has_aux`)."""
    an = Analysis()
    stmts = list(_stmts_with_blocks(fn.body))
    # ---- homes and block parents
    for p in fn.params:
        an.home[p.name] = fn.body

    def visit(block):
        for s in block.stmts:
            if isinstance(s, ir.Assign) and s.phi != "carry" and s.phi != "if":
                an.home.setdefault(s.target, block)
            if isinstance(s, ir.If):
                for phi in s.phis:
                    an.home[phi] = block
            if isinstance(s, ir.For):
                an.home[s.index] = s.body
                an.home[s.trips] = block
            if isinstance(s, ir.While):
                an.home[s.trips] = block
            for b in ir.child_blocks(s):
                visit(b)

    visit(fn.body)

    # ---- index / range uses: integer context
    for s, _ in stmts:
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Load):
            an.int_context |= ir.operand_names(s.value.index)
        if isinstance(s, ir.Store):
            an.int_context |= ir.operand_names(s.index)
        if isinstance(s, ir.For):
            an.int_context |= ir.operand_names([s.start, s.stop, s.step])

    # ---- activity (forward, to a fixpoint: loops and in-place writes feed back)
    an.active = {p.name for p in fn.params if p.active}
    changed = True
    while changed:
        changed = False
        for s, _ in stmts:
            tgt = None
            if isinstance(s, ir.Assign):
                v = s.value
                if isinstance(v, ir.Var) and v.name in an.active:
                    tgt = s.target
                elif isinstance(v, ir.Prim) and v.rule.kind != "nondiff" and any(
                        isinstance(a, ir.Var) and a.name in an.active and v.rule.exprs[i] is not None
                        for i, a in enumerate(v.args)):
                    tgt = s.target
                elif isinstance(v, ir.Load) and v.array.name in an.active:
                    tgt = s.target
            elif isinstance(s, ir.Store) and isinstance(s.value, ir.Var) and s.value.name in an.active:
                tgt = s.array.name
            if tgt is not None and tgt not in an.active:
                an.active.add(tgt)
                changed = True

    # ---- refusals
    params = {p.name: p for p in fn.params}
    for s, _ in stmts:
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Raw) and s.value.norule \
                and s.value.reads & an.active:
            if s.value.refused:
                why, instead = s.value.refused
                raise NoDerivativeRuleError(f"`{s.value.norule}` is not differentiated by srcgrad: {why}",
                                            s.loc, instead)
            raise NoDerivativeRuleError(
                f"`{s.value.norule}` has no derivative rule, and a differentiated value reaches it", s.loc,
                "give it one with @srcgrad.partials, write it as a plain Python helper, or compute it "
                "outside and pass the value in")
        bad = None
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Load):
            bad = ir.operand_names(s.value.index) & an.active
        elif isinstance(s, ir.Store):
            bad = ir.operand_names(s.index) & an.active
            if s.array.name in params and params[s.array.name].active:
                raise UnsupportedArrayUseError(
                    f"the differentiated argument `{s.array.name}` is modified in place", s.loc,
                    "copy it first (`y = x.copy()`) and write into the copy")
        elif isinstance(s, ir.For):
            bad = ir.operand_names([s.start, s.stop, s.step]) & an.active
            if bad:
                name = sorted(bad)[0]
                raise NotDifferentiableError(
                    f"`{name}` depends on a differentiated argument but is used as a `range` bound "
                    "(an integer)", s.loc,
                    "remove that argument from argnums (integers are not differentiated), or convert "
                    "explicitly with int(...) if a zero derivative along that path is intended")
        if bad:
            name = sorted(bad)[0]
            raise NotDifferentiableError(
                f"`{name}` depends on a differentiated argument but is used as an array index (an integer)",
                s.loc, "remove that argument from argnums, or convert explicitly with int(...)")

    # ---- usefulness (backward, to a fixpoint)
    an.useful |= ir.operand_names([fn.result if seeded is None else seeded])
    changed = True
    while changed:
        changed = False
        for s, _ in stmts:
            new = set()
            if isinstance(s, ir.Assign) and s.target in an.useful and s.target in an.active:
                v = s.value
                if isinstance(v, ir.Var):
                    new.add(v.name)
                elif isinstance(v, ir.Prim):
                    new |= {a.name for i, a in enumerate(v.args)
                            if isinstance(a, ir.Var) and v.rule.exprs[i] is not None}
                elif isinstance(v, ir.Load):
                    new.add(v.array.name)
            elif isinstance(s, ir.Store) and s.array.name in an.useful and isinstance(s.value, ir.Var):
                new.add(s.value.name)
            new = (new & an.active) - an.useful
            if new:
                an.useful |= new
                changed = True

    # ---- kinds and dtypes: dimensions from the lowering's types; kinds (float/int/bool) to a
    # fixpoint, since a loop-carried value may widen (an int that becomes a float)
    types = dict(fn.types)
    for p in fn.params:
        t = types[p.name]
        if not t.is_array:   # a number's kind comes from its use: an index or range bound is an int
            types[p.name] = abstract.INT if p.name in an.int_context else abstract.FLOAT
    for name in an.int_context:
        t = types.get(name)
        if t is not None and not t.is_array:
            types[name] = abstract.INT
    assigns = [s for s, _ in stmts if isinstance(s, ir.Assign)]
    changed = True
    while changed:
        changed = False
        for s in assigns:
            if s.target in an.int_context and not types[s.target].is_array:
                continue
            new = _retype(s.value, types)
            if s.phi:
                new = abstract.join(new, types[s.target]) or types[s.target]
            if new != types.get(s.target):
                types[s.target] = new
                changed = True
    an.types = types
    for name, t in types.items():
        an.kind[name] = "array" if t.is_array else "scalar"
        an.dtype[name] = _DTYPE_NAME[t.dtype]
    return an


_DTYPE_NAME = {"f": "float", "i": "int", "b": "bool"}


def load_type(base, index):
    """The type of `base[index]` (NumPy's basic indexing): integers drop a dimension, `None`
    adds one, slices keep theirs."""
    ints = sum(1 for i in index if isinstance(i, (ir.Var, ir.Const)))
    return abstract.Ty(base.ndim - ints + sum(1 for i in index if i is None), base.dtype)


def _retype(v, types):
    """The type of an assigned value, given the current types of what it reads."""
    if isinstance(v, ir.Const):
        return abstract.of_value(v.value)
    if isinstance(v, ir.Var):
        return types[v.name]
    if isinstance(v, ir.Load):
        return load_type(types[v.array.name], v.index)
    if isinstance(v, ir.Raw):
        return v.ty
    tys = [_operand_type(a, types) for a in v.args]
    return v.rule.result_type(tys, [a.value if isinstance(a, ir.Const) else None for a in v.args])


def _operand_type(a, types):
    if isinstance(a, ir.Var):
        return types[a.name]
    if isinstance(a, ir.Tup):
        return abstract.TupleTy(tuple(_operand_type(i, types) for i in a.items))
    return abstract.NONE if a.value is None else abstract.of_value(a.value)
