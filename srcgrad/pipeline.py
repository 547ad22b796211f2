"""The pipeline, written once: from a Python function to the source text of its derivative.

Every mode runs one list of stages, in order; each reads what the ones before it left in a
`Work` record and adds its own result:

    parse     frontend/source.py   read and parse the source, keep file:line       -> parsed
    fence     frontend/fence.py    refuse unsupported syntax, located               (checks)
    desugar   passes/desugar.py    exits to flags, sugar removed (helpers: when inlined) -> body
    lower     passes/lower.py      ANF + SSA IR, typed, helpers inlined             -> fn
    activity  passes/activity.py   active/useful values, kinds, homes               -> an
    alias     passes/alias.py      which arrays may share memory                    -> aliases
    tape      passes/tape.py       what the adjoint saves or recomputes (reverse)   -> plan
    reverse   passes/reverse.py    fused forward + adjoint function; per block it   -> funcs
              (collect, first,     runs collect.py (adjoint terms summed), first.py
               fuse)               (first contributions) and fuse.py (element loops),
                                   each named in an InternalError it causes
    forward   passes/forward.py    the tangent function(s) (forward mode)           -> funcs
    emit      codegen/emit.py      module text with provenance comments, wrappers  -> text

An unexpected exception inside a stage is re-raised as InternalError naming the stage and the
user's function, never as a raw traceback from srcgrad's internals.

`SRCGRAD_DUMP=lower,tape` (stage names, comma-separated, or `all`) prints what those stages
produced, to stderr: source text after parse/fence/desugar, the IR (`ir.format_function`) after
lower/activity, the alias sets, the tape plan, the generated functions and the module.
`SRCGRAD_DEBUG=1` prints every generated module to stdout (the same as dumping `emit`).
"""
from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass, field

from . import __version__, ir
from .codegen import emit
from .codegen.target import NAMES, NUMBA_CPU
from .errors import InternalError, NonScalarOutputError, SrcgradError
from .frontend.fence import fence
from .frontend.source import parse_function
from .passes import activity, alias, lower, reverse, tape
from .passes.naming import NameGen


@dataclass
class Work:
    """What the stages hand each other (each stage fills in its field)."""
    func: object
    argnums: tuple
    sig: object = None
    seeded: object = None         # (parsed, fn) -> the part of the result seeded (has_aux: the loss)
    single: bool = True           # reverse: one differentiated argument (not a tuple of them)
    outputs: str = "scalar"       # reverse: "scalar" | "all" (vjp) | "aux" (has_aux)
    gradient: bool = False        # forward: the whole gradient in one sweep (vector mode)
    target: object = NUMBA_CPU    # emit: what runs the module (codegen/target.py; only its header differs)
    parsed: object = None         # parse
    body: object = None           # desugar: (names, statements)
    fn: object = None             # lower
    an: object = None             # activity
    aliases: object = None        # alias
    plan: object = None           # tape
    funcs: list = field(default_factory=list)   # reverse / forward: generated function ASTs
    builder: object = None        # reverse: the Reverse object (its stacks and tape layout, for emit)
    text: str = ""                # emit


@dataclass(frozen=True)
class Stage:
    name: str
    run: object                   # Work -> None
    dump: object                  # Work -> str, for SRCGRAD_DUMP


def _parse(w):
    w.parsed = parse_function(w.func)


def _fence(w):
    fence(w.parsed.tree, w.parsed.loc)


def _desugar(w):
    w.body = lower.desugared(w.parsed)


def _lower(w):
    w.fn = lower.lower(w.parsed, w.argnums, w.sig, w.body)


def _activity(w):
    w.an = activity.analyse(w.fn, w.seeded(w.parsed, w.fn) if w.seeded is not None else None)


def _alias(w):
    w.aliases = alias.analyse(w.fn, w.an)


def _tape(w):
    w.plan = tape.plan(w.fn, w.an, w.aliases)


def _dump_plan(w) -> str:
    p = w.plan
    rows = [f"block {b}: {what} {', '.join(sorted(vs))}" for what, d in
            (("push floats", p.floats), ("push ints", p.ints), ("tape arrays", p.arrays)) for b, vs in d.items() if vs]
    rows += [f"block {b}: recompute {', '.join(x.target for x in xs)}" for b, xs in p.recompute.items() if xs]
    return "\n".join(rows) or "(nothing saved)"


_FRONT = (
    Stage("parse", _parse, lambda w: ast.unparse(w.parsed.tree)),
    Stage("fence", _fence, lambda w: ast.unparse(w.parsed.tree)),
    Stage("desugar", _desugar, lambda w: "\n".join(ast.unparse(s) for s in w.body[1])),
    Stage("lower", _lower, lambda w: ir.format_function(w.fn)),
    Stage("activity", _activity, lambda w: ir.format_function(w.fn, w.an)),
    Stage("alias", _alias, lambda w: "\n".join(f"{v}: {sorted(map(str, o))}" for v, o in
                                               sorted(w.aliases.objects.items())) or "(no arrays)"),
)


def _dump_funcs(w) -> str:
    return emit.functions_source(list(w.funcs))


def _run(w: Work, stages) -> str:
    """Run `stages` in order on `w`; return the module text the last one leaves.  Unexpected
    exceptions become InternalError naming the stage; SRCGRAD_DUMP prints stages' results."""
    dump = {x.strip() for x in os.environ.get("SRCGRAD_DUMP", "").split(",") if x.strip()}
    for stage in stages:
        try:
            stage.run(w)
            if stage.name in dump or "all" in dump:
                print(f"# srcgrad: {getattr(w.func, '__qualname__', w.func)} after `{stage.name}`\n"
                      f"{stage.dump(w)}\n", file=sys.stderr)
        except SrcgradError:
            raise
        except Exception as exc:  # a bug in srcgrad: say where, never leak a bare traceback
            where = getattr(exc, "srcgrad_pass", None)
            where = f"`{where}` pass (in the `{stage.name}` stage)" if where else f"`{stage.name}` pass"
            raise InternalError(
                f"srcgrad failed in its {where} on `{getattr(w.func, '__qualname__', w.func)}` "
                f"({type(exc).__name__}: {exc}); please report this with the function's source") from exc
    if os.environ.get("SRCGRAD_DEBUG"):
        print(w.text)
    return w.text


def stage_names(mode: str = "reverse") -> tuple:
    """The stages a mode runs, in order (for SRCGRAD_DUMP and the tests)."""
    return tuple(s.name for s in (_REVERSE if mode == "reverse" else _FORWARD))


def _header(func, parsed, argnums, uses_stacks, fn, stack_pointers=()) -> dict:
    hidden = tuple(p.hidden for p in fn.params if p.hidden)
    # srcgrad's integer counters (emit.HEADER's COUNTERS): the loops' trip counts, the stack pointers
    counters = tuple(stack_pointers) + tuple(s.trips for s in ir.walk_stmts(fn.body)
                                             if isinstance(s, (ir.For, ir.While)))
    return dict(qualname=func.__qualname__, where=f"{os.path.basename(parsed.file)}:{parsed.first_line}",
                argnums=argnums, version=__version__, uses_stacks=uses_stacks, hidden=hidden, counters=counters)


def _forward(w):
    from .passes import forward
    parsed, fn, an, names = w.parsed, w.fn, w.an, _names_after(w.fn)
    if w.gradient:
        _check_scalar_result(parsed, fn, an)
        fwd = forward.Forward(fn, an, names, w.aliases, ndir=len(w.argnums))
        w.funcs = [fwd.build_grad(f"{parsed.name}_fwdgrad")]
    else:
        fwd = forward.Forward(fn, an, names, w.aliases)
        w.funcs = [fwd.build(f"{parsed.name}_jvp", plain=False), fwd.build(f"{parsed.name}_tangent", plain=True)]


def _emit_forward(w):
    w.text = emit.module_source(_header(w.func, w.parsed, w.argnums, False, w.fn), w.funcs,
                                kind="forward-mode (tangent)", target=w.target)


_FORWARD = _FRONT + (
    Stage("forward", _forward, _dump_funcs),
    Stage("emit", _emit_forward, lambda w: w.text),
)


def transform_forward(func, argnums: tuple, gradient: bool = False, sig=None, target=NUMBA_CPU) -> str:
    """Source of the forward-mode module: `<f>_jvp` (compiled) and `<f>_tangent` (plain Python);
    with `gradient`, `<f>_fwdgrad`: the whole gradient in one forward sweep (vector mode)."""
    return _run(Work(func, tuple(argnums), sig, gradient=gradient, target=target), _FORWARD)


def _last_return(parsed):
    """Where the user's function returns (its last `return`), for errors about the result."""
    rets = [n for n in ast.walk(parsed.tree) if isinstance(n, ast.Return)]
    return parsed.loc(rets[-1] if rets else None)


def _check_scalar_result(parsed, fn, an) -> None:
    """A gradient needs one number out: refuse arrays and tuples at the user's `return`."""
    where = _last_return(parsed)
    if isinstance(fn.result, ir.Tup):
        raise NonScalarOutputError(f"the function returns a tuple of {len(fn.result.items)} values, not a scalar", where,
                                   "differentiate one output (a function returning it), or use srcgrad.jacobian")
    if isinstance(fn.result, ir.Var) and an.types[fn.result.name].is_array:
        raise NonScalarOutputError(f"the function returns {an.types[fn.result.name]}, not a scalar", where,
                                   "return a scalar (e.g. np.sum(...) of the array), or use srcgrad.jacobian")


def _loss_only(parsed, fn):
    """has_aux: the loss (the first of the returned pair) is what the seed reaches."""
    if not isinstance(fn.result, ir.Tup) or len(fn.result.items) < 2:
        raise NonScalarOutputError("with has_aux=True the function must return a pair `(loss, aux)`",
                                   _last_return(parsed),
                                   "return `loss, aux` (aux: any value to carry out), or drop has_aux")
    return fn.result.items[0]


def _reverse(w):
    parsed, fn, an = w.parsed, w.fn, w.an
    if w.outputs == "scalar":
        _check_scalar_result(parsed, fn, an)
    elif w.outputs == "aux":
        loss = fn.result.items[0]
        if isinstance(loss, ir.Tup) or (isinstance(loss, ir.Var) and an.types[loss.name].is_array):
            raise NonScalarOutputError("with has_aux=True the loss (the first returned value) must be a "
                                       "scalar", parsed.loc(parsed.tree), "return `np.sum(...)` of an array loss")
    w.builder = reverse.Reverse(fn, an, _names_after(fn), w.aliases, w.plan)
    w.funcs = [w.builder.build(f"{parsed.name}_vjp", w.outputs)]


def _emit_reverse(w):
    parsed, fn, rev = w.parsed, w.fn, w.builder
    names = rev.names
    params = [p.name for p in fn.params]
    extra = ""
    if w.outputs == "all":
        wraps = [emit.pullback(parsed.name, params, rev.uses_stacks, names)]
        extra = ("# the result's structure: the number of dimensions of each returned value\n"
                 f"RESULT_NDIMS = {_ndims(fn.result, w.an)!r}\n")
    else:
        wraps = emit.wrappers(parsed.name, params, w.argnums, w.single, rev.uses_stacks, names)
    layout = rev.tape_layout()
    if layout:
        extra += ("# what the vjp's `_tape_stats` holds after a call: the tape's peak size in bytes,\n"
                  "# then its parts at that peak (GradFunction.tape_size)\n"
                  f"TAPE = {tuple(layout)!r}\n")
    pointers = (rev.fp, rev.ip) if rev.uses_stacks else ()
    w.text = emit.module_source(_header(w.func, parsed, w.argnums, rev.uses_stacks, fn, pointers), w.funcs + wraps,
                                extra=extra, target=w.target)


_REVERSE = _FRONT + (
    Stage("tape", _tape, _dump_plan),
    Stage("reverse", _reverse, _dump_funcs),
    Stage("emit", _emit_reverse, lambda w: w.text),
)


def transform(func, argnums: tuple, single: bool, sig=None, outputs: str = "scalar", target=NUMBA_CPU) -> str:
    """Source of the reverse-mode module: `<f>_vjp` and the `<f>_grad`/`<f>_value_and_grad`
    wrappers (`outputs="scalar"`: a number out); `<f>_vjp` and `<f>_pullback` for any result
    (`outputs="all"`, srcgrad.vjp); or the gradient of the loss of a `(loss, aux...)` tuple
    (`outputs="aux"`, has_aux=True)."""
    w = Work(func, tuple(argnums), sig, seeded=_loss_only if outputs == "aux" else None, single=single,
             outputs=outputs, target=target)
    return _run(w, _REVERSE)


def _ndims(res, an):
    if isinstance(res, ir.Tup):
        return tuple(_ndims(item, an) for item in res.items)
    return an.types[res.name].ndim if isinstance(res, ir.Var) else 0


def _names_after(fn) -> NameGen:
    """A name generator that avoids every name the IR already uses."""
    from . import ir
    used = {p.name for p in fn.params}
    for s in ir.walk_stmts(fn.body):
        if isinstance(s, ir.Assign):
            used.add(s.target)
        if isinstance(s, ir.For):
            used |= {s.index, s.trips}
        if isinstance(s, ir.While):
            used.add(s.trips)
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Raw):
            used |= set(s.value.reads)
    return NameGen(used | set(NAMES))
