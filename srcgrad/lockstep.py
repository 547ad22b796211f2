"""Lock-step element loops for srcgrad.vectorize: advance a block of elements together.

A per-element loop kernel (100 Euler steps, say) is latency-bound: each step waits for the
previous one.  When a kernel's control flow does not depend on the element (a straight-line
prefix, one `for` loop over a constant `range` whose body is straight-line, a straight-line
suffix, scalars only), this module rewrites its one-sweep forward-mode gradient so that the
elements of a block advance step by step together: every value that lives across statements
gets a per-block array, and the innermost loop runs over the elements, independent chains that
overlap and that LLVM vectorizes.  Kernels of any other shape return None and keep the
per-element path: a correct fallback where elements could diverge.
"""
from __future__ import annotations

import ast

_INPUT_LOAD = "_load"


def block_kernel_source(module_source: str, function: str, kind: str, name: str = "_block") -> str | None:
    """Source of `name(x0.., z0.., seed, out0.., m)` writing m elements, or None if the kernel's
    shape does not allow lock-step (see the module docstring)."""
    tree = ast.parse(module_source)
    fdef = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if fdef is None:
        return None
    params = [a.arg for a in fdef.args.args]
    inputs, seed = params[:-1], params[-1]
    body = list(fdef.body)
    ret = body[-1]
    if not (isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) and len(ret.value.elts) == 2
            and isinstance(ret.value.elts[1], ast.Tuple)):
        return None
    loops = [i for i, s in enumerate(body[:-1]) if isinstance(s, ast.For)]
    if len(loops) != 1:
        return None
    k = loops[0]
    loop = body[k]
    prefix, suffix = body[:k], body[k + 1:-1]
    if not _straight(prefix) or not _straight(suffix) or not _straight(loop.body) or loop.orelse:
        return None
    it = loop.iter
    if not (isinstance(loop.target, ast.Name) and isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
            and it.func.id == "range" and all(isinstance(a, ast.Constant) for a in it.args)):
        return None
    if any(isinstance(n, ast.Name) and n.id.startswith("_x_") for n in ast.walk(fdef)):
        return None      # custom-rule objects are bound in the derivative's module, not here
    index = loop.target.id
    assigned_prefix = _targets(prefix)
    assigned_body = _targets(loop.body)
    live_in = _live_in(loop.body)                       # carried from one step to the next
    read_after = _reads(suffix) | _reads([ret])
    consts = {s.targets[0].id: s for s in prefix
              if isinstance(s.value, ast.Constant) and s.targets[0].id not in assigned_body}
    prefix = [s for s in prefix if s.targets[0].id not in consts]
    state = sorted(((live_in | read_after) & (assigned_prefix | assigned_body)) - {index} - set(inputs) - set(consts))
    # values carried through float arrays must be floats
    for s in prefix + loop.body:
        if isinstance(s, ast.Assign) and s.targets[0].id in state and not _floaty(s.value):
            return None

    def load_inputs(names, ind):
        return [f"{ind}{x} = {_INPUT_LOAD}({x}_s, e, {x}_z)" for x in inputs if x in names]

    def code(stmts, ind):
        return [ind + line for s in stmts for line in ast.unparse(s).splitlines()]

    lines = [f"def {name}({', '.join([x + '_s' for x in inputs] + [x + '_z' for x in inputs] + [seed])}, outs, m):"]
    lines += code(list(consts.values()), "    ")
    lines += ["    # per-block state, one slot per element"]
    lines += [f"    {v}_blk = np.empty(m)" for v in state]
    lines += ["    for e in range(m):"]
    lines += load_inputs(_reads(prefix) | {x for x in inputs}, "        ")
    lines += code(prefix, "        ")
    lines += [f"        {v}_blk[e] = {v}" for v in state if v in assigned_prefix]
    lines += [f"    for {ast.unparse(loop.target)} in {ast.unparse(it)}:",
              "        for e in range(m):         # the elements advance together: LLVM vectorizes this loop"]
    lines += load_inputs(_reads(loop.body), "            ")
    lines += [f"            {v} = {v}_blk[e]" for v in state if v in live_in]
    lines += code(loop.body, "            ")
    lines += [f"            {v}_blk[e] = {v}" for v in state if v in assigned_body]
    lines += ["    for e in range(m):"]
    lines += load_inputs(read_after, "        ")
    lines += [f"        {v} = {v}_blk[e]" for v in state if v in read_after]
    lines += code(suffix, "        ")
    value, grads = ret.value.elts[0], ret.value.elts[1].elts
    outs = ([value] if kind == "value_and_grad" else []) + list(grads)
    lines += [f"        outs[{j}][e] = {ast.unparse(o)}" for j, o in enumerate(outs)]
    return "\n".join(lines) + "\n"


def _straight(stmts) -> bool:
    for s in stmts:
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
            return False
        if any(isinstance(n, (ast.Subscript, ast.IfExp, ast.Lambda)) for n in ast.walk(s.value)):
            return False
    return True


def _live_in(stmts) -> set:
    """Names read before they are assigned in one pass over the statements."""
    assigned, live = set(), set()
    for s in stmts:
        live |= _reads([s.value]) - assigned
        assigned.add(s.targets[0].id)
    return live


def _targets(stmts) -> set:
    return {s.targets[0].id for s in stmts}


def _reads(stmts) -> set:
    return {n.id for s in stmts for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _floaty(expr) -> bool:
    """Conservatively: an expression whose value is a float (not a count, flag or comparison)."""
    if isinstance(expr, ast.Constant):
        return type(expr.value) is float
    if isinstance(expr, (ast.Compare, ast.BoolOp)):
        return False
    if isinstance(expr, ast.Call):
        f = ast.unparse(expr.func)
        return f.startswith("math.") or f.startswith("np.") and f not in ("np.floor", "np.ceil") \
            and not f.startswith("math.floor") and not f.startswith("math.ceil")
    return True
