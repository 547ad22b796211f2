"""The pipeline, written once: from a Python function to the source text of its derivative.

    parse     frontend/source.py   read and parse the source, keep file:line
    fence     frontend/fence.py    refuse unsupported syntax, located
    lower     passes/lower.py      desugar exits to flags, ANF + SSA IR, helpers inlined
    activity  passes/activity.py   active/useful values, kinds, homes; refuse integer misuse
    reverse   passes/reverse.py    fused forward + adjoint function, minimal saves
    emit      codegen/emit.py      module text with provenance comments and wrappers

Set SRCGRAD_DEBUG=1 to print the generated source of every function as it is transformed.
Every unexpected exception inside a pass is re-raised as InternalError naming the pass and the
user's function, never as a raw traceback from srcgrad's internals.
"""
from __future__ import annotations

import ast
import os

from . import __version__, ir
from .codegen import emit
from .errors import InternalError, NonScalarOutputError, SrcgradError
from .frontend.source import parse_function
from .passes import activity, lower, reverse
from .passes.naming import NameGen


def _run(func, argnums: tuple, stage_name: str, build, sig=None, seeded=None) -> str:
    """The shared front of every mode: parse, lower, analyse, then `build(parsed, fn, an, names)`
    returning the module text.  Unexpected exceptions become InternalError naming the pass."""
    stage = "parse"
    try:
        parsed = parse_function(func)
        stage = "lower"
        fn = lower.lower(parsed, argnums, sig)
        stage = "activity"
        an = activity.analyse(fn, seeded(parsed, fn) if seeded is not None else None)
        stage = stage_name
        text = build(parsed, fn, an, _names_after(fn))
    except SrcgradError:
        raise
    except Exception as exc:  # a bug in srcgrad: say where, never leak a bare traceback
        raise InternalError(
            f"srcgrad failed in its `{stage}` pass on `{getattr(func, '__qualname__', func)}` "
            f"({type(exc).__name__}: {exc}); please report this with the function's source") from exc
    if os.environ.get("SRCGRAD_DEBUG"):
        print(text)
    return text


def _header(func, parsed, argnums, uses_stacks, fn) -> dict:
    hidden = tuple(p.hidden for p in fn.params if p.hidden)
    return dict(qualname=func.__qualname__, where=f"{os.path.basename(parsed.file)}:{parsed.first_line}",
                argnums=argnums, version=__version__, uses_stacks=uses_stacks, hidden=hidden)


def transform_forward(func, argnums: tuple, gradient: bool = False, sig=None) -> str:
    """Source of the forward-mode module: `<f>_jvp` (compiled) and `<f>_tangent` (plain Python);
    with `gradient`, `<f>_fwdgrad`: the whole gradient in one forward sweep (vector mode)."""
    from .passes import forward

    def build(parsed, fn, an, names):
        if gradient:
            _check_scalar_result(parsed, fn, an)
            funcs = [forward.Forward(fn, an, names, ndir=len(argnums)).build_grad(f"{parsed.name}_fwdgrad")]
        else:
            fwd = forward.Forward(fn, an, names)
            funcs = [fwd.build(f"{parsed.name}_jvp", plain=False), fwd.build(f"{parsed.name}_tangent", plain=True)]
        return emit.module_source(_header(func, parsed, argnums, False, fn), funcs, kind="forward-mode (tangent)")

    return _run(func, argnums, "forward", build, sig)


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


def transform(func, argnums: tuple, single: bool, sig=None, outputs: str = "scalar") -> str:
    """Source of the reverse-mode module: `<f>_vjp` and the `<f>_grad`/`<f>_value_and_grad`
    wrappers (`outputs="scalar"`: a number out); `<f>_vjp` and `<f>_pullback` for any result
    (`outputs="all"`, srcgrad.vjp); or the gradient of the loss of a `(loss, aux...)` tuple
    (`outputs="aux"`, has_aux=True)."""

    def loss_only(parsed, fn):
        if not isinstance(fn.result, ir.Tup) or len(fn.result.items) < 2:
            raise NonScalarOutputError("with has_aux=True the function must return a pair `(loss, aux)`",
                                       _last_return(parsed),
                                       "return `loss, aux` (aux: any value to carry out), or drop has_aux")
        return fn.result.items[0]

    def build(parsed, fn, an, names):
        if outputs == "scalar":
            _check_scalar_result(parsed, fn, an)
        elif outputs == "aux":
            loss = fn.result.items[0]
            if isinstance(loss, ir.Tup) or (isinstance(loss, ir.Var) and an.types[loss.name].is_array):
                raise NonScalarOutputError("with has_aux=True the loss (the first returned value) must be a "
                                           "scalar", parsed.loc(parsed.tree), "return `np.sum(...)` of an array loss")
        rev = reverse.Reverse(fn, an, names)
        vjp = rev.build(f"{parsed.name}_vjp", outputs)
        params = [p.name for p in fn.params]
        extra = ""
        if outputs == "all":
            wraps = [emit.pullback(parsed.name, params, rev.uses_stacks, names)]
            extra = ("# the result's structure: the number of dimensions of each returned value\n"
                     f"RESULT_NDIMS = {_ndims(fn.result, an)!r}\n")
        else:
            wraps = emit.wrappers(parsed.name, params, argnums, single, rev.uses_stacks, names)
        layout = rev.tape_layout()
        if layout:
            extra += ("# what the vjp's `_tape_stats` holds after a call: the tape's peak size in bytes,\n"
                      "# then its parts at that peak (GradFunction.tape_size)\n"
                      f"TAPE = {tuple(layout)!r}\n")
        return emit.module_source(_header(func, parsed, argnums, rev.uses_stacks, fn), [vjp] + wraps, extra=extra)

    return _run(func, argnums, "reverse", build, sig, seeded=loss_only if outputs == "aux" else None)


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
    return NameGen(used | {"math", "np", "_rt", "_jit"})
