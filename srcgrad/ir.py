"""The typed intermediate representation the passes hand each other.

After lowering, a function is a tree of `Block`s of statements in A-normal form (one operation
per statement) and SSA naming (each variable assigned by exactly one statement, except the
*phi* variables that merge values at the end of `if` arms and around loops, which are assigned
by `Assign(..., phi=...)` copies).

Statements: `Assign` (target = operand | Prim | Load | Raw), `Store` (array element write),
`If`, `For` (over range), `While`.  Operands are `Var` or `Const`.  `Raw` is an inactive
Python expression kept as written (conditions, shape queries, constructors): it never carries
a derivative.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from itertools import count

from .abstract import FLOAT, Ty
from .errors import Loc
from .rules.registry import Rule


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    value: object


@dataclass(frozen=True)
class Tup:
    """A tuple of operands (a shape like (n, 3)): only where a primitive takes a static tuple."""
    items: tuple


@dataclass
class Prim:
    """An application of a primitive with a derivative rule (or a non-differentiable one)."""
    rule: Rule
    args: tuple


@dataclass(frozen=True)
class Slice:
    """`start:stop:step` in an index; each an Operand or None (omitted)."""
    start: object = None
    stop: object = None
    step: object = None


@dataclass
class Load:
    """An array element read `array[index...]`."""
    array: Var
    index: tuple


@dataclass
class Raw:
    """An inactive expression (bool, int, or array constructor), emitted as written."""
    expr: ast.expr
    reads: frozenset
    ty: Ty = FLOAT            # its abstract type
    norule: str = ""          # a call without a derivative rule: fine while no differentiated value reaches it
    refused: tuple = ()       # ... that srcgrad refuses on purpose: (why, what to do instead), rules/refused.py


@dataclass
class Assign:
    target: str
    value: object             # Operand | Prim | Load | Raw
    loc: Loc
    phi: str = ""             # "" | "if" | "entry" | "carry"


@dataclass
class Store:
    array: Var
    index: tuple
    value: object             # Operand
    loc: Loc


@dataclass
class Assert:
    """`assert cond` kept in the forward sweep (no derivative)."""
    cond: object              # Operand (a bool variable)
    loc: Loc


_ids = count()


@dataclass
class Block:
    stmts: list
    depth: int                # number of enclosing loops
    id: int = field(default_factory=lambda: next(_ids))


@dataclass
class If:
    cond: object              # Operand (a bool variable)
    body: Block
    orelse: Block
    loc: Loc
    phis: list = field(default_factory=list)


@dataclass
class For:
    index: str
    start: object
    stop: object
    step: object
    body: Block
    loc: Loc
    trips: str                # variable holding the trip count (computed at entry, or counted)
    counted: bool             # True when an exit may end the loop early: trips is counted
    exit: object = None       # Operand tested at the end of each iteration (break/return), or None
    phis: list = field(default_factory=list)
    checkpoint: object = None  # segment length (Operand; Const(0): sqrt of the trip count) or None


@dataclass
class While:
    cond_block: Block         # statements evaluating the condition (inactive)
    cond: object
    body: Block
    loc: Loc
    trips: str
    exit: object = None
    phis: list = field(default_factory=list)
    counted: bool = True


@dataclass
class Param:
    name: str
    active: bool              # in argnums
    hidden: tuple = ()        # (function qualname, global name) of an array read from globals/closure


@dataclass
class Function:
    name: str
    params: list
    body: Block
    result: object            # Operand
    loc: Loc
    argnums: tuple
    types: dict = field(default_factory=dict)      # SSA name -> abstract.Ty (from the lowering)
    source_names: dict = field(default_factory=dict)   # SSA name -> the user's names for it


def walk_blocks(block: Block):
    """Yield every block, outermost first."""
    yield block
    for s in block.stmts:
        for b in child_blocks(s):
            yield from walk_blocks(b)


def child_blocks(s):
    if isinstance(s, If):
        return [s.body, s.orelse]
    if isinstance(s, For):
        return [s.body]
    if isinstance(s, While):
        return [s.cond_block, s.body]
    return []


def walk_stmts(block: Block):
    for s in block.stmts:
        yield s
        for b in child_blocks(s):
            yield from walk_stmts(b)


def operand_names(ops) -> set:
    return {o.name for o in index_operands(ops) if isinstance(o, Var)}


def index_operands(index) -> list:
    """The operands of an index (slices' bounds included; None, a new axis, has none)."""
    out = []
    for i in index:
        if isinstance(i, Slice):
            out += [p for p in (i.start, i.stop, i.step) if p is not None]
        elif isinstance(i, Tup):
            out += index_operands(i.items)
        elif i is not None:
            out.append(i)
    return out


def reads_of(s) -> set:
    """Primal variables a statement reads in the forward sweep (not counting nested blocks)."""
    if isinstance(s, Assign):
        v = s.value
        if isinstance(v, Var):
            return {v.name}
        if isinstance(v, Prim):
            return operand_names(v.args)
        if isinstance(v, Load):
            return {v.array.name} | operand_names(v.index)
        if isinstance(v, Raw):
            return set(v.reads)
        return set()
    if isinstance(s, Store):
        return {s.array.name} | operand_names(s.index) | operand_names([s.value])
    if isinstance(s, (If, Assert)):
        return operand_names([s.cond])
    if isinstance(s, For):
        return operand_names([s.start, s.stop, s.step]) | ({s.exit.name} if isinstance(s.exit, Var) else set())
    if isinstance(s, While):
        return operand_names([s.cond]) | ({s.exit.name} if isinstance(s.exit, Var) else set())
    return set()


# ---------------------------------------------------------------- the IR as text (SRCGRAD_DUMP)
def format_function(fn: Function, an=None) -> str:
    """The IR as readable pseudo-Python, one statement per line with its type and source line:

        def f(x*, k):                      (* : differentiated)
            t_1: float = sin(x)            # f.py:3
            for i in range(0, n, 1):       [trips _trips, carries y]

    With the activity analysis `an`, values that carry a derivative are marked `active`."""
    types = an.types if an is not None else fn.types
    params = ", ".join(p.name + ("*" if p.active else "") + (" (hidden)" if p.hidden else "") for p in fn.params)
    out = [f"def {fn.name}({params}):"]
    _format_block(fn.body, 1, types, an, out)
    out.append(f"    return {_fmt(fn.result)}")
    return "\n".join(out)


def _fmt(op) -> str:
    if isinstance(op, Var):
        return op.name
    if isinstance(op, Const):
        return repr(op.value)
    if isinstance(op, Tup):
        return "(" + ", ".join(_fmt(i) for i in op.items) + ("," if len(op.items) == 1 else "") + ")"
    if isinstance(op, Slice):
        return ":".join("" if p is None else _fmt(p) for p in (op.start, op.stop, op.step)).rstrip(":") or ":"
    if op is None:
        return "None"
    return str(op)


def _fmt_value(v) -> str:
    if isinstance(v, Prim):
        return f"{v.rule.name}({', '.join(_fmt(a) for a in v.args)})"
    if isinstance(v, Load):
        return f"{v.array.name}[{', '.join(_fmt(i) for i in v.index)}]"
    if isinstance(v, Raw):
        return f"raw {ast.unparse(v.expr)}"
    return _fmt(v)


def _format_block(block: Block, depth: int, types, an, out: list) -> None:
    pad = "    " * depth
    if not block.stmts:
        out.append(f"{pad}pass")
    for s in block.stmts:
        where = f"  # {s.loc}" if getattr(s, "loc", None) is not None else ""
        if isinstance(s, Assign):
            ty = types.get(s.target)
            tags = [f"phi {s.phi}"] if s.phi else []
            if an is not None and an.needs_adjoint(s.target):
                tags.append("active")
            tag = f"  [{', '.join(tags)}]" if tags else ""
            out.append(f"{pad}{s.target}: {ty} = {_fmt_value(s.value)}{tag}{where}")
        elif isinstance(s, Store):
            out.append(f"{pad}{s.array.name}[{', '.join(_fmt(i) for i in s.index)}] = {_fmt(s.value)}{where}")
        elif isinstance(s, Assert):
            out.append(f"{pad}assert {_fmt(s.cond)}{where}")
        elif isinstance(s, If):
            out.append(f"{pad}if {_fmt(s.cond)}:{where}")
            _format_block(s.body, depth + 1, types, an, out)
            out.append(f"{pad}else:")
            _format_block(s.orelse, depth + 1, types, an, out)
        elif isinstance(s, For):
            extra = [f"trips {s.trips}" + (" counted" if s.counted else "")]
            if s.exit is not None:
                extra.append(f"exit if {_fmt(s.exit)}")
            if s.phis:
                extra.append(f"carries {', '.join(s.phis)}")
            if s.checkpoint is not None:
                extra.append(f"checkpoint every {_fmt(s.checkpoint)}")
            out.append(f"{pad}for {s.index} in range({_fmt(s.start)}, {_fmt(s.stop)}, {_fmt(s.step)}):  "
                       f"[{'; '.join(extra)}]{where}")
            _format_block(s.body, depth + 1, types, an, out)
        elif isinstance(s, While):
            out.append(f"{pad}while:  [condition block below, then `{_fmt(s.cond)}`; trips {s.trips}]{where}")
            _format_block(s.cond_block, depth + 1, types, an, out)
            out.append(f"{pad}do:")
            _format_block(s.body, depth + 1, types, an, out)
        else:
            out.append(f"{pad}{s!r}")
