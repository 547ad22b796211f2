"""Interleaved lanes for srcgrad.vectorize: a straight-line derivative, WIDTH elements at a time.

The per-element driver calls the derivative once per element.  For a straight-line kernel with
transcendental calls (Black-Scholes' gradient: log, two erf, three exp) that loop cannot be
vectorized by LLVM, because the calls are to scalar libm.  This module rewrites the derivative
so that every statement is written once per lane for `WIDTH` elements side by side (`d1_0`,
`d1_1`, ...), and every call of a function that glibc's libmvec has becomes one vector call
(`simd.py`; WIDTH is 8 with AVX-512, 4 with AVX2):

    _m_0 = -_t_14_0 * _t_14_0          # the call's argument, per lane
    ...
    _m_0, _m_1, _m_2, _m_3 = _sm.exp4(_m_0, _m_1, _m_2, _m_3)
    _t_14_bar_0 = _t_15_bar_0 * (1.1283791670955126 * _m_0)

The arithmetic between the calls is four isomorphic scalar statements, which LLVM's SLP
vectorizer packs into vector instructions.  The last group of a block, when fewer than WIDTH
elements remain, repeats the last element in the spare lanes (same inputs, same results), so
every element is computed by the same code.

A float32 kernel (vectorize's float32 rewrite of the derivative) calls libmvec's float
functions instead, simd.WIDTH32 (8) lanes per call: `_sm.exp8f(...)`.

Branches are if-converted (`_if_convert`): both sides are computed and the variables they
assign are merged with selects, as SIMD code does; a stable softplus (`if x > 20: x else
log1p(exp(x))`) runs 5x faster, a kernel whose two sides each call a different function about
as fast as element by element (both are computed).  Only kernels made of assignments, if/else
and one return (no loops, subscripts or custom-rule objects) that call at least one libmvec
function are rewritten; `block_kernel_source` returns None for any other, and the per-element
path is used.
"""
from __future__ import annotations

import ast

from ..codegen.target import TARGET
from . import simd
from .kernel import kernel_parts

WIDTH = simd.WIDTH
# names a kernel may read besides its own parameters and variables: modules and builtins
_GLOBALS = {"math", "np", "_rt", "abs", "min", "max", "float", "int", "bool", "True", "False", "None"}


def block_kernel_source(module_source: str, function: str, kind: str, name: str = "_block",
                        f32: bool = False) -> str | None:
    """Source of `name(x0_s.., x0_z.., seed, outs, m)` writing m elements WIDTH at a time, or None
    if the kernel is not straight-line or calls nothing libmvec has (see the module docstring).
    `f32`: the kernel computes in float32 (vectorize's float32 rewrite); libmvec's float
    functions, simd.WIDTH32 lanes."""
    if not simd.available():
        return None
    width = simd.WIDTH32 if f32 else WIDTH
    parts = kernel_parts(module_source, function, kind)
    if parts is None:
        return None
    fdef, inputs, seed, stmts, ret, outs = parts
    stmts = _if_convert(stmts, {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)} | set(inputs) | {seed})
    if stmts is None:
        return None
    local = set(inputs)
    for s in stmts:
        target, value = s.targets[0].id, s.value
        if not _plain(value, local | {seed}):
            return None
        local.add(target)
    if not _plain(ret.value, local | {seed}):
        return None

    if any(v.startswith("_m") for v in local):
        return None                   # the names of the hoisted calls' lanes must be free
    if seed in lane_names(local, width):
        return None                   # an input `_seed` would have the seed's name in lane 1
    lanes = _Lanes(local, width, f32)
    body = []
    for s in stmts:
        body += lanes.statement(s)
    if not lanes.calls:
        return None                   # nothing to gain over the per-element loop

    lane_args = [f"{x}_{k}" for x in inputs for k in range(width)] + [seed]
    results = [ast.unparse(lanes.rename(e, k)) for e in outs for k in range(width)]
    lines = [TARGET.njit_source(),
             f"def _lanes({', '.join(lane_args)}):",
             f"    \"\"\"`{function}` on {width} elements side by side.\"\"\""]
    lines += ["    " + line for line in body]
    lines += [f"    return ({', '.join(results)})", "", ""]

    def group(ind, idx):          # one call of _lanes on the elements at indices idx
        out = [f"{ind}_r = _lanes({', '.join(f'_load({x}_s, {idx[k]}, {x}_z)' for x in inputs for k in range(width))}, {seed})"]
        out += [f"{ind}outs[{o}][{idx[k]}] = _r[{o * width + k}]" for o in range(len(outs)) for k in range(width)]
        return out

    lines += [TARGET.njit_source(),
              f"def {name}({', '.join([x + '_s' for x in inputs] + [x + '_z' for x in inputs] + [seed])}, outs, m):",
              f"    full = m - m % {width}",
              f"    for j in range(0, full, {width}):"]
    lines += group("        ", ["j"] + [f"j + {k}" for k in range(1, width)])
    lines += ["    if full < m:            # the last elements; spare lanes repeat the last one",
              "        j = full"]
    lines += [f"        j_{k} = min(j + {k}, m - 1)" for k in range(1, width)]
    lines += group("        ", ["j"] + [f"j_{k}" for k in range(1, width)])
    return "\n".join(lines) + "\n"


def lane_names(names, width: int = WIDTH) -> set:
    """The names the lanes give the copies of `names` (`y` -> `y_0`, `y_1`, ...; `_Lanes.rename`)."""
    return {f"{v}_{k}" for v in names for k in range(width)}


def step_in_lanes(body, per_element: set, shared: set) -> list | None:
    """The straight-line statements `body` written for WIDTH elements side by side, libmvec calls
    as vector calls (lockstep.py uses it for the step of a lock-step loop): lines in
    which every name of `per_element` has the lane suffix (`y_0`..), names of `shared` (the step
    index, constants) none.  None if the body reads any other name, calls nothing libmvec has,
    or uses the `_m` names the hoisted calls need."""
    if not simd.available():
        return None
    names = {n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name)}
    if names - per_element - shared - _GLOBALS or any(v.startswith("_m") for v in names):
        return None
    if not all(_plain(s.value, per_element | shared) for s in body):
        return None
    lanes = _Lanes(set(per_element))
    lines = [line for s in body for line in lanes.statement(s)]
    return lines if lanes.calls else None


def _if_convert(stmts, taken: set) -> list | None:
    """The statements as straight-line assignments, or None if they contain anything but
    assignments and if/else.  Both sides of an `if` are computed and every variable either side
    assigns is merged with a select (`x_if2 = x_if0 if _c else x_if1`), as SIMD code does:
    the kernels are pure, so the side not taken only costs its arithmetic (a nan or inf it
    computes is discarded by the select).  Integer `//` and `%` are refused under a branch: in
    the side not taken they could divide by zero."""
    out = []
    fresh_count = [0]

    def fresh(v):
        while True:
            fresh_count[0] += 1
            name = f"{v}_if{fresh_count[0]}"
            if name not in taken:
                taken.add(name)
                return name

    def rename(expr, cur):
        class R(ast.NodeTransformer):
            def visit_Name(self, node):
                return ast.Name(cur.get(node.id, node.id), node.ctx)
        return R().visit(_copy(expr))

    def emit(target, value):
        out.append(ast.Assign([ast.Name(target, ast.Store())], value, lineno=0))

    def walk(block, cur, depth):
        for s in block:
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
                v, value = s.targets[0].id, rename(s.value, cur)
            elif isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
                v = s.target.id
                value = ast.BinOp(ast.Name(cur.get(v, v), ast.Load()), s.op, rename(s.value, cur))
            elif isinstance(s, ast.If):
                if any(isinstance(n, (ast.FloorDiv, ast.Mod)) for n in ast.walk(s)):
                    return False
                test = rename(s.test, cur)
                if not isinstance(test, ast.Name):
                    c = fresh("_c")
                    emit(c, test)
                    test = ast.Name(c, ast.Load())
                sides = []
                for side in (s.body, s.orelse):
                    env = dict(cur)
                    if not walk(side, env, depth + 1):
                        return False
                    sides.append(env)
                then, other = sides
                for v in sorted(set(then) | set(other)):
                    a, b = then.get(v), other.get(v)
                    if a == b:
                        continue
                    if a is None or b is None:       # assigned on one side only, new here
                        cur[v] = a or b
                        continue
                    target = fresh(v) if depth else v
                    emit(target, ast.IfExp(test, ast.Name(a, ast.Load()), ast.Name(b, ast.Load())))
                    cur[v] = target
                continue
            else:
                return False
            target = fresh(v) if depth else v
            emit(target, value)
            cur[v] = target
        return True

    return out if walk(stmts, {}, 0) else None


def _plain(expr, known: set) -> bool:
    """Only names, constants, arithmetic, comparisons and calls of module functions or builtins."""
    for n in ast.walk(expr):
        if isinstance(n, (ast.Subscript, ast.Lambda, ast.NamedExpr, ast.Starred, ast.ListComp,
                          ast.GeneratorExp, ast.DictComp, ast.SetComp, ast.Await, ast.Yield)):
            return False
        if isinstance(n, ast.Name) and n.id not in known and n.id not in _GLOBALS:
            return False                 # e.g. a custom rule's object, bound in the kernel's module
        if isinstance(n, ast.Attribute) and not (isinstance(n.value, ast.Name) and n.value.id in _GLOBALS):
            return False
    return True


class _Lanes:
    """Writes statements once per lane, hoisting libmvec calls into one `width`-wide call."""

    def __init__(self, local: set, width: int = WIDTH, f32: bool = False):
        self.local = local
        self.calls = 0
        self.width = width
        self.f32 = f32
        self.functions = simd.FUNCTIONS32 if f32 else simd.FUNCTIONS

    def rename(self, expr, k: int):
        """`expr` for lane k: every variable of the kernel gets the suffix _k."""
        local = self.local

        class R(ast.NodeTransformer):
            def visit_Name(self, node):
                return ast.Name(f"{node.id}_{k}", node.ctx) if node.id in local else node
        return R().visit(_copy(expr))

    def statement(self, s) -> list:
        pre = []
        hoister = self
        width = self.width

        class Hoist(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)                 # inner calls first
                f = node.func
                if (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                        and f.value.id in ("math", "np") and f.attr in hoister.functions
                        and len(node.args) == 1 and not node.keywords):
                    hoister.calls += 1
                    arg = node.args[0]
                    if node is whole:        # `x = math.exp(a)`: the call's lanes are x's
                        tmp = s.targets[0].id
                    else:
                        tmp = f"_m{hoister.calls}"
                        hoister.local.add(tmp)
                    if isinstance(arg, ast.Name):
                        args = ", ".join(ast.unparse(hoister.rename(arg, k)) for k in range(width))
                    else:
                        pre.extend(f"{tmp}_{k} = {ast.unparse(hoister.rename(arg, k))}" for k in range(width))
                        args = ", ".join(f"{tmp}_{k}" for k in range(width))
                    names = ", ".join(f"{tmp}_{k}" for k in range(width))
                    pre.append(f"{names} = _sm.{simd.intrinsic_name(f.attr, hoister.f32)}({args})"
                               f"    # {f.value.id}.{f.attr}, {width} lanes")
                    return None if node is whole else ast.Name(tmp, ast.Load())
                return node

        s = _copy(s)
        whole = s.value if isinstance(s, ast.Assign) else None
        value = Hoist().visit(s.value)
        if value is None:
            return pre
        s.value = value
        return pre + [ast.unparse(self.rename(s, k)) for k in range(width)]


def _copy(node):
    return ast.parse(ast.unparse(node)).body[0] if isinstance(node, ast.stmt) else \
        ast.parse(ast.unparse(node), mode="eval").body
