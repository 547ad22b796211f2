"""Desugar the user's (fenced) function body into a small statement language.

What holds after this pass, for the returned list of statements:
* Statements are only: `Assign` with one `Name` or `Subscript` target, `If`, `For` over
  `range(...)` with a `Name` target, `While`, and a final `Return` of a `Name`.
* `AugAssign`, `AnnAssign`, unpacking of literal tuples and chained targets are plain
  assignments (unpacking any other value is left to the lowering, which knows tuples).  An
  assignment from `name op= value` carries `inplace = True`: for an array, the lowering makes
  it a write into the array's memory, as NumPy does (`old = w; w += x` changes `old` too).
* `break`, `continue` and `return` are gone: they set flag variables, and the statements they
  skip are moved into the other branch of the `if` that exits (also through `elif` chains of
  returns with one path falling through), or guarded by `if not <flags>`.
  The only `break` left is the sole statement of an `if` that is the *last* statement of a
  loop body (the loop's exit test, read by the lowering pass).
* Every path assigns the return variable; the function's last statement returns it.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

from ..errors import UnsupportedSyntaxError
from .naming import NameGen

NEVER, MAYBE, ALWAYS = 0, 1, 2


@dataclass
class _Loop:
    brk: str
    cont: str
    uses: set = field(default_factory=set)   # which of "brk", "cont" were set


@dataclass
class _Ctx:
    retval: str
    retflag: str
    loops: list
    ret_in_loop: bool = False
    force: bool = False      # flag every return (needed when a return sits in nested ifs)


def is_range_loop(node: ast.For) -> bool:
    it = node.iter
    f = getattr(it, "func", None)
    return isinstance(it, ast.Call) and (
        (isinstance(f, ast.Name) and f.id == "range")
        or (isinstance(f, (ast.Name, ast.Attribute)) and (getattr(f, "id", None) or f.attr) == "checkpoint"))


def sequence_loop_parts(node: ast.For):
    """`for v in x`, `for i, v in enumerate(x)`, `for a, b in zip(x, y)`: (index name or None,
    [(target, sequence expression)]), or None for any other loop."""
    it, target = node.iter, node.target
    f = getattr(it, "func", None) if isinstance(it, ast.Call) else None
    if isinstance(f, ast.Name) and f.id == "enumerate" and len(it.args) == 1 and not it.keywords:
        if isinstance(target, ast.Tuple) and len(target.elts) == 2 and isinstance(target.elts[0], ast.Name):
            return target.elts[0].id, [(target.elts[1], it.args[0])]
        return None
    if isinstance(f, ast.Name) and f.id == "zip" and it.args and not it.keywords:
        if isinstance(target, ast.Tuple) and len(target.elts) == len(it.args):
            return None, list(zip(target.elts, it.args))
        return None
    if isinstance(it, (ast.Name, ast.Attribute, ast.Subscript)):
        return None, [(target, it)]
    return None


def _index_loops(stmts: list, fresh) -> list:
    """Loops over arrays become loops over indices (the lowering knows `range` loops only):

        for i, v in enumerate(x):    ->    _seq = x
            body                           for i in range(len(_seq)):
                                               v = _seq[i]
                                               body

    The sequence is bound once before the loop, as Python evaluates it once; `zip` runs to the
    shortest.  Rows of a 2-D array are its elements, as in NumPy."""
    out = []
    for s in stmts:
        for field in ("body", "orelse"):
            if isinstance(getattr(s, field, None), list) and not isinstance(s, ast.FunctionDef):
                setattr(s, field, _index_loops(getattr(s, field), fresh))
        parts = sequence_loop_parts(s) if isinstance(s, ast.For) and not is_range_loop(s) else None
        if parts is None:
            out.append(s)
            continue
        index, pairs = parts
        index = index or fresh("_i")
        seqs = []
        for _, seq in pairs:
            name = fresh("_seq")
            if isinstance(seq, ast.Attribute) and seq.attr == "flat":     # for v in A.flat: A.ravel()
                seq = ast.copy_location(ast.Call(ast.copy_location(ast.Attribute(seq.value, "ravel", ast.Load()),
                                                                   seq), [], []), seq)
            out.append(_assign(name, seq, s))
            seqs.append(name)
        lens = [ast.Call(_name("len"), [_name(n)], []) for n in seqs]
        stop = lens[0] if len(lens) == 1 else ast.Call(_name("min"), lens, [])
        reads = [ast.copy_location(ast.Assign(targets=[t], value=ast.Subscript(_name(n), _name(index), ast.Load())), s)
                 for (t, _), n in zip(pairs, seqs)]
        loop = ast.For(target=_name(index, ast.Store), iter=ast.Call(_name("range"), [stop], []),
                       body=reads + s.body, orelse=[], type_comment=None)
        out.append(ast.fix_missing_locations(ast.copy_location(loop, s)))
    return out


def _name(id_, ctx=ast.Load):
    return ast.Name(id=id_, ctx=ctx())


def _assign(target: str, value: ast.expr, like: ast.AST) -> ast.Assign:
    node = ast.Assign(targets=[_name(target, ast.Store)], value=value)
    return ast.copy_location(node, like)


def _not_any(flags: list[str], like) -> ast.expr:
    test = _name(flags[0]) if len(flags) == 1 else ast.BoolOp(ast.Or(), [_name(f) for f in flags])
    return ast.copy_location(ast.UnaryOp(ast.Not(), test), like)


class Desugar:
    def __init__(self, names: NameGen, loc):
        self.names = names
        self.fresh = getattr(names, "fresh_source", names.fresh)
        self.loc = loc   # ParsedFunction.loc, for errors

    def run(self, fdef: ast.FunctionDef, helper: bool = False) -> list[ast.stmt]:
        # a return inside a loop guards later statements with the flag, so every return must set it
        in_loop = any(isinstance(n, ast.Return) for lp in ast.walk(fdef) if isinstance(lp, (ast.For, ast.While))
                      for n in ast.walk(lp))
        ctx = _Ctx(retval=self.fresh("_retval"), retflag=self.fresh("_returned"), loops=[], force=in_loop)
        source = _index_loops(copy.deepcopy(fdef.body), self.fresh)
        if helper and not any(_has_return(s) for s in source):
            # a helper that only writes into arrays it was given (`fill(u, out)`) returns None
            source.append(ast.copy_location(ast.Return(ast.Constant(None)), fdef.body[-1]))
        stmts = _sink_all(copy.deepcopy(source))
        try:
            body, status, _ = self.block(stmts, ctx)
        except _NeedFlags:   # a return that may or may not happen, outside loops: use the flag
            ctx = _Ctx(retval=ctx.retval, retflag=ctx.retflag, loops=[], force=True)
            body, status, _ = self.block(_sink_all(copy.deepcopy(source)), ctx)
        if status != ALWAYS:
            last = fdef.body[-1] if fdef.body else fdef
            raise UnsupportedSyntaxError(
                "not every path through the function returns a value", self.loc(last),
                "end every path with `return <scalar expression>`")
        prologue = []
        if ctx.ret_in_loop:
            prologue = [_assign(ctx.retval, ast.Constant(0.0), fdef),
                        _assign(ctx.retflag, ast.Constant(False), fdef)]
        ret = ast.copy_location(ast.Return(_name(ctx.retval)), fdef.body[-1])
        return prologue + body + [ret]

    # -- blocks ---------------------------------------------------------------------------
    def block(self, stmts, ctx) -> tuple[list, int, set]:
        """Lower a statement list; return (statements, exit status, flags that may be set)."""
        out: list[ast.stmt] = []
        for idx, s in enumerate(stmts):
            rest = stmts[idx + 1:]
            if isinstance(s, ast.Return):
                out.append(_assign(ctx.retval, s.value, s))
                flags = set()
                if ctx.loops or ctx.force:
                    ctx.ret_in_loop = True
                    out.append(_assign(ctx.retflag, ast.Constant(True), s))
                    flags.add(ctx.retflag)
                return out, ALWAYS, flags
            if isinstance(s, (ast.Break, ast.Continue)):
                loop = ctx.loops[-1]
                flag = loop.brk if isinstance(s, ast.Break) else loop.cont
                loop.uses.add("brk" if isinstance(s, ast.Break) else "cont")
                out.append(_assign(flag, ast.Constant(True), s))
                return out, ALWAYS, {flag}
            if isinstance(s, ast.If):
                body, sb, fb = self.block(s.body, ctx)
                orelse, se, fe = self.block(s.orelse, ctx)
                node = ast.copy_location(ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse), s)
                if sb == ALWAYS and se == ALWAYS:
                    out.append(node)
                    return out, ALWAYS, fb | fe
                if (sb == ALWAYS and se == NEVER) or (se == ALWAYS and sb == NEVER):
                    # The rest runs only on the branch that does not exit: move it there.
                    rest_l, sr, fr = self.block(rest, ctx)
                    if sb == ALWAYS:
                        node.orelse = orelse + rest_l
                    else:
                        node.body = body + rest_l
                    out.append(node)
                    return out, (ALWAYS if sr == ALWAYS else MAYBE), fb | fe | fr
                out.append(node)
                if sb == NEVER and se == NEVER:
                    continue
                flags = fb | fe
                return self._guard_rest(out, rest, flags, ctx, s)
            if isinstance(s, (ast.For, ast.While)):
                node, flags = self.loop(s, ctx)
                out.append(node)
                if flags and _endless(s):       # `while True:` left only by `return`: nothing follows
                    return out, ALWAYS, flags
                if flags:
                    return self._guard_rest(out, rest, flags, ctx, s)
                continue
            out.extend(self.simple(s))
        return out, NEVER, set()

    def _guard_rest(self, out, rest, flags, ctx, like):
        rest_l, sr, fr = self.block(rest, ctx)
        if rest_l and not flags:
            raise _NeedFlags()
        if rest_l:
            out.append(ast.copy_location(ast.If(test=_not_any(sorted(flags), like), body=rest_l, orelse=[]), like))
        # every path exits if the flagged paths did and the guarded rest always does
        return out, (ALWAYS if sr == ALWAYS else MAYBE), flags | fr

    def loop(self, s, ctx):
        loop = _Loop(brk=self.fresh("_break"), cont=self.fresh("_continue"))
        ctx.loops.append(loop)
        body, status, flags = self.block(s.body, ctx)
        ctx.loops.pop()
        escaping = {f for f in flags if f == ctx.retflag}
        exit_flags = sorted(f for f in flags if f in (loop.brk, ctx.retflag))
        if "cont" in loop.uses:
            body = [_assign(loop.cont, ast.Constant(False), s)] + body
        if exit_flags:
            test = _name(exit_flags[0]) if len(exit_flags) == 1 else ast.BoolOp(ast.Or(), [_name(f) for f in exit_flags])
            body.append(ast.copy_location(ast.If(test=test, body=[ast.Break()], orelse=[]), s))
        node = copy.copy(s)
        node.body = body or [ast.Pass()]
        pre = []
        if "brk" in loop.uses:
            pre.append(_assign(loop.brk, ast.Constant(False), s))
        if pre:
            # The flag must exist before the loop; wrap as a two-statement If(True) is ugly, so
            # hand back a list through a marker the caller flattens.
            return _Seq(pre + [node]), escaping
        return node, escaping

    def simple(self, s) -> list[ast.stmt]:
        if isinstance(s, ast.Pass):
            return []
        if isinstance(s, (ast.FunctionDef, ast.Assert)):   # a nested helper (desugared where it is
            return [s]                                      # called), a check kept in the primal
        if isinstance(s, ast.Expr):
            if isinstance(s.value, ast.Constant):   # docstring or bare literal
                return []
            if isinstance(s.value, ast.Call):       # fill(u, out): the lowering decides (a helper's
                return [s]                          # writes into arrays it was given are kept)
            raise UnsupportedSyntaxError(
                "an expression statement (its value is thrown away)", self.loc(s),
                "assign the value to a variable, or remove the line; calls with side effects "
                "(print, list.append, ...) are not supported inside a differentiated function")
        if isinstance(s, ast.AnnAssign):
            return [ast.copy_location(ast.Assign(targets=[s.target], value=s.value), s)]
        if isinstance(s, ast.AugAssign):
            load = copy.deepcopy(s.target)
            for n in ast.walk(load):
                if hasattr(n, "ctx"):
                    n.ctx = ast.Load()
            value = ast.copy_location(ast.BinOp(left=load, op=s.op, right=s.value), s)
            out = ast.copy_location(ast.Assign(targets=[s.target], value=value), s)
            out.inplace = True      # `w += x` on an array writes into w's object (the lowering knows types)
            return [out]
        if isinstance(s, ast.Assign):
            if len(s.targets) > 1:   # a = b = e
                first = ast.copy_location(ast.Assign(targets=[s.targets[0]], value=s.value), s)
                out = self.simple(first)
                src = s.targets[0]
                for t in s.targets[1:]:
                    load = copy.deepcopy(src)
                    for n in ast.walk(load):
                        if hasattr(n, "ctx"):
                            n.ctx = ast.Load()
                    out += self.simple(ast.copy_location(ast.Assign(targets=[t], value=load), s))
                return out
            target = s.targets[0]
            if isinstance(target, (ast.Tuple, ast.List)):
                if not isinstance(s.value, (ast.Tuple, ast.List)) or len(s.value.elts) != len(target.elts) \
                        or any(isinstance(t, (ast.Tuple, ast.List, ast.Starred)) for t in target.elts):
                    return [s]      # a tuple value (a helper's results, A.shape): the lowering unpacks it
                temps = [self.fresh("_u") for _ in target.elts]
                out = [_assign(t, v, s) for t, v in zip(temps, s.value.elts)]
                for t, tgt in zip(temps, target.elts):
                    out += self.simple(ast.copy_location(ast.Assign(targets=[tgt], value=_name(t)), s))
                return out
            return [s]
        raise UnsupportedSyntaxError(f"the statement `{type(s).__name__}`", self.loc(s))


def _endless(loop) -> bool:
    """`while True:` (any constant true test) without a `break` of its own: it ends only by a
    `return`, so the statements after it never run."""
    if not (isinstance(loop, ast.While) and isinstance(loop.test, ast.Constant) and loop.test.value):
        return False

    def breaks(nodes) -> bool:
        for n in nodes:
            if isinstance(n, ast.Break):
                return True
            if isinstance(n, (ast.For, ast.While, ast.FunctionDef)):
                continue            # their breaks are their own
            if breaks(ast.iter_child_nodes(n)):
                return True
        return False
    return not breaks(loop.body)


def _has_return(node) -> bool:
    """Whether `node` returns from the function (returns of nested `def`s do not)."""
    if isinstance(node, ast.FunctionDef):
        return False
    return isinstance(node, ast.Return) or any(_has_return(c) for c in ast.iter_child_nodes(node))


def _tail_shaped(stmts) -> bool:
    """Returns appear only as the last statement of a block, or in an `if` there whose branches
    are tail-shaped too: the shape of `if ...: return a` / `elif ...: return b` chains."""
    if any(_has_return(x) for x in stmts[:-1]):
        return False
    last = stmts[-1] if stmts else None
    if isinstance(last, ast.If) and _has_return(last):
        return _tail_shaped(last.body) and _tail_shaped(last.orelse)
    return last is None or isinstance(last, ast.Return) or not _has_return(last)


def _fall_throughs(stmts) -> int:
    """How many paths reach the end of a tail-shaped block."""
    last = stmts[-1] if stmts else None
    if isinstance(last, ast.Return):
        return 0
    if isinstance(last, ast.If) and _has_return(last):
        return _fall_throughs(last.body) + _fall_throughs(last.orelse)
    return 1


def _append_at_fall_through(stmts, rest) -> list:
    last = stmts[-1] if stmts else None
    if isinstance(last, ast.Return):
        return stmts
    if isinstance(last, ast.If) and _has_return(last):
        last.body = _append_at_fall_through(last.body, rest)
        last.orelse = _append_at_fall_through(last.orelse, rest)
        return stmts
    return stmts + copy.deepcopy(rest)


def _sink_all(stmts) -> list:
    """Move the statements after an `if` that returns on some paths into the paths that do
    not: `if a: return x` / `elif b: return y` / `rest` becomes `... else: rest`, so that no
    flag is needed and the derivative has one branch per path, as if the user had written the
    `else`. Applies (innermost blocks first; loop bodies are left to the flags) when the `if`
    has no loop, `break` or `continue` inside, its returns end its blocks, and one path falls
    through -- or several, when the rest is a single `return`, which each of them gets."""
    out = []
    for i, s in enumerate(stmts):
        if isinstance(s, ast.If):
            s.body, s.orelse = _sink_all(s.body), _sink_all(s.orelse)
            rest = stmts[i + 1:]
            if rest and _has_return(s) and _tail_shaped([s]) and not any(
                    isinstance(n, (ast.For, ast.While, ast.Break, ast.Continue)) for n in ast.walk(s)):
                falls = _fall_throughs([s])
                if falls == 1 or (falls > 1 and len(rest) == 1 and isinstance(rest[0], ast.Return)):
                    _append_at_fall_through([s], rest)
                    s.body, s.orelse = _sink_all(s.body), _sink_all(s.orelse)
                    return out + [s]
        out.append(s)
    return out


class _NeedFlags(Exception):
    """A path may have returned but no flag says so: desugar again, flagging every return."""


class _Seq(list):
    """A loop preceded by its flag initialisation; flattened by `flatten`."""


def flatten(stmts):
    out = []
    for s in stmts:
        if isinstance(s, _Seq):
            out.extend(flatten(s))
            continue
        for field_ in ("body", "orelse"):
            if hasattr(s, field_) and isinstance(getattr(s, field_), list):
                setattr(s, field_, flatten(getattr(s, field_)))
        out.append(s)
    return out


def desugar(fdef: ast.FunctionDef, names: NameGen, loc, helper: bool = False) -> list[ast.stmt]:
    """`helper`: an inlined function, which may end without `return` (it returns None)."""
    return flatten(Desugar(names, loc).run(fdef, helper))
