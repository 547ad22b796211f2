"""Lock-step element loops for srcgrad.vectorize: advance a block of elements together.

A per-element loop kernel (100 Euler steps, say) is latency-bound: each step waits for the
previous one.  When a kernel's control flow does not depend on the element (a straight-line
prefix, one `for` loop over a constant `range` whose body is straight-line, a straight-line
suffix, scalars only), this module rewrites its one-sweep forward-mode gradient so that the
elements of a block advance step by step together: every value that lives across statements
gets a per-block array, and the innermost loop runs over the elements, independent chains that
overlap and that LLVM vectorizes.  Kernels of any other shape return None and keep the
per-element path: a correct fallback where elements could diverge.

A step that calls exp, log, erf... (functions glibc's libmvec has) would leave that loop
scalar: LLVM cannot vectorize a libm call.  With SIMD math on, such a step advances WIDTH
elements at a time, written out lane by lane with one vector call per function
(`lanes.step_in_lanes`), and the last m % WIDTH elements of the block one by one.

Loop-invariant work is hoisted: a division, power or call in the step body that reads only
inputs, constants and values the step loop does not change (`1 / k` of a partial, say) is
computed once per element in the prefix loop into a per-block array and read back each step.
LLVM hoists such code out of a per-element loop itself, but here the invariant loop is the outer
one and the value differs per element; only an array can hold it.  The value is the one the step
would compute (same expression, same operands), so results are unchanged.
"""
from __future__ import annotations

import ast
import copy
from collections import Counter

from . import lanes
from .kernel import kernel_parts

_INPUT_LOAD = "_load"


def block_kernel_source(module_source: str, function: str, kind: str, name: str = "_block",
                        simd_math: bool = False) -> str | None:
    """Source of `name(x0.., z0.., seed, out0.., m)` writing m elements, or None if the kernel's
    shape does not allow lock-step (see the module docstring).  `simd_math`: a step that calls
    exp/log/... advances WIDTH elements at a time with one libmvec call per function
    (lanes.py), the last m % WIDTH elements one by one."""
    parts = kernel_parts(module_source, function, kind)
    if parts is None:
        return None
    fdef, inputs, seed, body, ret, outs = parts
    loops = [i for i, s in enumerate(body) if isinstance(s, ast.For)]
    if len(loops) != 1:
        return None
    k = loops[0]
    loop = body[k]
    prefix, suffix = body[:k], body[k + 1:]
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
    consts = {s.targets[0].id: s for s in prefix
              if isinstance(s.value, ast.Constant) and s.targets[0].id not in assigned_body}
    prefix = [s for s in prefix if s.targets[0].id not in consts]
    # values the step loop does not change: fixed once the prefix has run
    fixed = ((set(inputs) | assigned_prefix | set(consts)) - assigned_body - {index})
    hoisted, body = _hoist(loop.body, fixed, {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)})
    loop = copy.copy(loop)
    loop.body = body
    assigned_prefix |= set(hoisted)
    live_in = _live_in(loop.body)                       # carried from one step to the next
    read_after = _reads(suffix) | _reads([ret])
    state = sorted(((live_in | read_after) & (assigned_prefix | assigned_body)) - {index} - set(inputs) - set(consts))
    # values carried through float arrays must be floats
    for s in prefix + loop.body:
        if isinstance(s, ast.Assign) and s.targets[0].id in state and not _floaty(s.value):
            return None

    # the block function's own names must not be the kernel's: the kernel's code runs inside it
    # (a parameter `m`, a mass, would be overwritten by the element count)
    taken = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)} | {a.arg for a in ast.walk(fdef)
                                                                          if isinstance(a, ast.arg)}
    e, m, outs_ = (_free(base, taken) for base in ("e", "m", "outs"))
    derived = {x + "_s" for x in inputs} | {x + "_z" for x in inputs} | {v + "_blk" for v in state}
    if (derived | _DRIVER_GLOBALS) & taken:
        return None                 # e.g. an input `_load` would hide the driver's loader

    def load_inputs(names, ind):
        return [f"{ind}{x} = {_INPUT_LOAD}({x}_s, {e}, {x}_z)" for x in inputs if x in names]

    def code(stmts, ind):
        return [ind + line for s in stmts for line in ast.unparse(s).splitlines()]

    lines = [f"def {name}({', '.join([x + '_s' for x in inputs] + [x + '_z' for x in inputs] + [seed])}, {outs_}, {m}):"]
    lines += code(list(consts.values()), "    ")
    lines += ["    # per-block state, one slot per element"]
    lines += [f"    {v}_blk = np.empty({m})" for v in state]
    lines += [f"    for {e} in range({m}):"]
    lines += load_inputs(_reads(prefix) | {x for x in inputs}, "        ")
    lines += code(prefix, "        ")
    if hoisted:
        lines += ["        # loop-invariant: computed once per element, read back at every step"]
        lines += [f"        {h} = {ast.unparse(x)}" for h, x in hoisted.items()]
    lines += [f"        {v}_blk[{e}] = {v}" for v in state if v in assigned_prefix]
    lines += [f"    for {ast.unparse(loop.target)} in {ast.unparse(it)}:"]
    lanes_step = None
    if simd_math:
        per_element, shared = set(inputs) | set(state) | assigned_body, {index} | set(consts)
        lanes_step = lanes.step_in_lanes(loop.body, per_element, shared)
        if lanes.lane_names(per_element) & (shared | derived | {e, m, outs_, seed}):
            lanes_step = None           # a lane's name is taken: the elements one by one
    if lanes_step is not None:
        w = lanes.WIDTH
        lines += [f"        for {e} in range(0, {m} - {m} % {w}, {w}):   # {w} elements per vector call of exp/log..."]
        lines += [f"            {x}_{k} = {_INPUT_LOAD}({x}_s, {e} + {k}, {x}_z)"
                  for x in inputs if x in _reads(loop.body) for k in range(w)]
        lines += [f"            {v}_{k} = {v}_blk[{e} + {k}]" for v in state if v in live_in for k in range(w)]
        lines += ["            " + line for line in lanes_step]
        lines += [f"            {v}_blk[{e} + {k}] = {v}_{k}" for v in state if v in assigned_body for k in range(w)]
        lines += [f"        for {e} in range({m} - {m} % {w}, {m}):   # the last elements, one by one"]
    else:
        lines += [f"        for {e} in range({m}):         # the elements advance together: LLVM vectorizes this loop"]
    lines += load_inputs(_reads(loop.body), "            ")
    lines += [f"            {v} = {v}_blk[{e}]" for v in state if v in live_in]
    lines += code(loop.body, "            ")
    lines += [f"            {v}_blk[{e}] = {v}" for v in state if v in assigned_body]
    lines += [f"    for {e} in range({m}):"]
    lines += load_inputs(read_after, "        ")
    lines += [f"        {v} = {v}_blk[{e}]" for v in state if v in read_after]
    lines += code(suffix, "        ")
    lines += [f"        {outs_}[{j}][{e}] = {ast.unparse(o)}" for j, o in enumerate(outs)]
    return "\n".join(lines) + "\n"


# names of the driver module that the block function calls (the kernel's own names must not hide them)
_DRIVER_GLOBALS = {_INPUT_LOAD, "_sm"}


def _free(base: str, taken: set) -> str:
    """`base`, or `_base`, `__base`... : the first the kernel does not use."""
    while base in taken:
        base = "_" + base
    return base


def _hoist(body, fixed: set, taken: set):
    """({name: expression}, body with each maximal costly subexpression that is loop-invariant
    replaced by a name), in order of first appearance, one name per distinct expression.

    Invariant: reads only `fixed` names, earlier hoisted names and the targets of invariant
    statements (assigned once in the body, from invariant values, and not read before that);
    such targets are inlined, so a hoisted expression reads only what the prefix loop has.
    Costly: a division, power or call, with a float value (the per-block arrays are float)."""
    body = copy.deepcopy(body)
    carried = _live_in(body)
    counts = Counter(st.targets[0].id for st in body)
    values: dict = {}          # invariant statement's target -> its value, over fixed and hoisted names
    hoisted: dict = {}
    by_text: dict = {}
    known = set(fixed) | {"math", "np", "_rt"}

    def invariant(node) -> bool:
        return not any(isinstance(n, (ast.Compare, ast.BoolOp, ast.NamedExpr, ast.Subscript, ast.IfExp))
                       or isinstance(n, ast.Name) and n.id not in known and n.id not in values
                       for n in ast.walk(node))

    def costly(node) -> bool:
        return any(isinstance(n, ast.Call) or isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Div, ast.Pow))
                   for n in ast.walk(node))

    class Inline(ast.NodeTransformer):
        def visit_Name(self, node):
            return copy.deepcopy(values[node.id]) if node.id in values else node

    class Rewrite(ast.NodeTransformer):
        def visit(self, node):
            if isinstance(node, ast.expr) and not isinstance(node, ast.Name) and costly(node) \
                    and invariant(node) and _surely_float(node):
                expr = Inline().visit(copy.deepcopy(node))
                text = ast.unparse(expr)
                if text not in by_text:
                    k = len(hoisted)
                    while f"_hoist{k}" in taken:
                        k += 1
                    name = f"_hoist{k}"
                    taken.add(name)
                    known.add(name)
                    by_text[text] = name
                    hoisted[name] = expr
                return ast.Name(by_text[text], ast.Load())
            return self.generic_visit(node)

    for st in body:
        st.value = Rewrite().visit(st.value)
        t = st.targets[0].id
        if counts[t] == 1 and t not in carried and invariant(st.value):
            values[t] = Inline().visit(copy.deepcopy(st.value))
    return hoisted, body


def _surely_float(expr) -> bool:
    """An expression whose value is a float whatever the (int or float) types of its names."""
    if isinstance(expr, ast.Constant):
        return type(expr.value) is float
    if isinstance(expr, ast.BinOp):
        return isinstance(expr.op, ast.Div) or _surely_float(expr.left) or _surely_float(expr.right)
    if isinstance(expr, ast.UnaryOp):
        return _surely_float(expr.operand)
    if isinstance(expr, ast.Call):
        return _floaty(expr)
    return False


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


# calls whose value is an integer in Numba (math's), or kept out to be safe (NumPy's)
_NOT_FLOAT_CALLS = {"math.floor", "math.ceil", "math.trunc", "np.floor", "np.ceil"}


def _floaty(expr) -> bool:
    """Conservatively: an expression whose value is a float (not a count, flag or comparison)."""
    if isinstance(expr, ast.Constant):
        return type(expr.value) is float
    if isinstance(expr, (ast.Compare, ast.BoolOp)):
        return False
    if isinstance(expr, ast.Call):
        f = ast.unparse(expr.func)
        return (f.startswith("math.") or f.startswith("np.")) and f not in _NOT_FLOAT_CALLS
    return True
