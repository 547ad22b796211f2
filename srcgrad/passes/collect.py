"""Collect like terms in the adjoint of one source line; drop adjoint statements nobody reads.

Called by reverse.py on the code it emits; it rewrites that Python AST and nothing else.

Why. The chain rule applied operation by operation can split one derivative into several
terms. `0.5 * x * x` is lowered to `_t = 0.5 * x; r = _t * x`, and x receives two
contributions: `g * _t` (the partial of `_t * x` w.r.t. x) and `(g * x) * 0.5` (through `_t`).
Both are 0.5·g·x; their sum is g·x, which is what a person writes. Numba cannot find that by
itself: without fast-math flags LLVM may not reassociate `(x * 0.5) + (x * 0.5)` into `x`
(the two differ when `0.5 * x` is subnormal), and in Huber's loss the two adds and multiplies
cost 1.7x the clamp a hand-written derivative compiles to.

What. Within the straight-line code of one line's adjoint, an expression that is a product of
names and numbers is read as a *monomial*: a coefficient times a sorted tuple of names,
expanding

* adjoint temporaries assigned once in that code (`_t_bar = g * x`), and
* forward values defined on the same source line as a product (`_t = 0.5 * x`), provided every
  name they expand to holds the right value where it is read: outside loops every SSA value
  does; inside a loop body, only names the same code already reads, or names defined outside
  every loop.

Contributions to the same scalar adjoint that are monomials in the same names are replaced by
one, with the summed coefficient (computed once, in float64, as the code is generated), at
the place of the last of them: `x_bar = g * x`. The adjoint is never read between them
(checked; otherwise nothing is changed), so the sum it ends up with is the same up to rounding,
and the only rounding changed is that of a product taken in another order; `a + a` becoming
`2.0 * a` is exact. Every other statement is left as it is.

Then adjoint variables that nothing reads any more (a temporary whose only reader was folded)
are dropped, so the printed derivative shows the terms that are computed.
"""
from __future__ import annotations

import ast
from collections import defaultdict


def monomial(e, expand):
    """(coefficient, sorted names) of a product of names and numbers, or None."""
    if isinstance(e, ast.Constant):
        v = e.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v, ()
        return None
    if isinstance(e, ast.Name):
        return expand.get(e.id) or (1, (e.id,))
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
        m = monomial(e.operand, expand)
        if m is None:
            return None
        return (-m[0] if isinstance(e.op, ast.USub) else m[0]), m[1]
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
        a, b = monomial(e.left, expand), monomial(e.right, expand)
        if a is None or b is None:
            return None
        return a[0] * b[0], tuple(sorted(a[1] + b[1]))
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Div):   # `1 / 2.0`: a number
        a, b = monomial(e.left, expand), monomial(e.right, expand)
        if a is None or b is None or a[1] or b[1] or b[0] == 0:
            return None
        return a[0] / b[0], ()
    return None


def monomial_ast(coef, names) -> ast.expr:
    """`coef * (a * b * ...)`: the product first, so that a coefficient of 2 stays exact."""
    prod = None
    for n in names:
        prod = ast.Name(n, ast.Load()) if prod is None else ast.BinOp(prod, ast.Mult(), ast.Name(n, ast.Load()))
    if prod is None:
        return ast.Constant(float(coef))
    if coef == 1:
        return prod
    if coef == -1:
        return ast.UnaryOp(ast.USub(), prod)
    return ast.BinOp(ast.Constant(float(coef)), ast.Mult(), prod)


def _loads(node) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _write(s):
    """(name, is_first_assignment, value) of `name = value` / `name += value`, else None."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
        return s.targets[0].id, True, s.value
    if isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add) and isinstance(s.target, ast.Name):
        return s.target.id, False, s.value
    return None


class Collector:
    """Collects like terms for one derivative.

    `is_scalar_bar(name)`: whether `name` is the adjoint of a scalar (only those are merged);
    `forward`: name -> (forward expression, source line key) of the values defined by a
    product; `valid_anywhere`: forward names whose value never changes once defined (defined
    outside every loop, or parameters); `is_comment(stmt)`: reverse.py's test for its comment
    markers, which belong to a run without breaking it."""

    def __init__(self, is_scalar_bar, forward: dict, valid_anywhere: set, is_comment):
        self.is_scalar_bar, self.forward, self.valid_anywhere = is_scalar_bar, forward, valid_anywhere
        self.is_comment = is_comment

    def collect(self, stmts: list, line, in_loop: bool) -> list:
        """The adjoint code of one source line (`line`: its (file, line) key), terms collected
        in each of its straight-line runs."""
        out, run = [], []
        for s in stmts:
            if _write(s) is not None or self.is_comment(s):
                run.append(s)
                continue
            out += self._run(run, line, in_loop)
            out.append(s)
            run = []
        return out + self._run(run, line, in_loop)

    def _forward_expand(self, line, usable):
        """Monomials of the forward values defined on `line` whose names are all `usable`."""
        out = {}
        for name, (expr, where) in self.forward.items():
            if where != line:
                continue
            m = monomial(expr, out)        # defined in order: earlier temporaries first
            if m is not None and all(n in usable for n in m[1]):
                out[name] = m
        return out

    def _run(self, run: list, line, in_loop: bool) -> list:
        while True:                     # one adjoint at a time, until nothing merges
            merged = self._merge_one(run, line, in_loop)
            if merged is None:
                return run
            run = merged

    def _forms(self, run, line, in_loop):
        """Per statement of the run: (name, first?, monomial or None) of what it writes, or None.

        Monomials are computed in order, expanding adjoint temporaries at and after their one
        assignment. A monomial naming anything the run writes (other than an expanded
        temporary) is None: the value it would be read at may not be the one it had there."""
        writes = [_write(s) for s in run]
        loaded = set().union(*(_loads(s) for s in run))
        written = {w[0] for w in writes if w is not None}
        usable = (loaded | self.valid_anywhere) if in_loop else _Everything()
        expand = self._forward_expand(line, usable)
        n_writes = defaultdict(int)
        for w in writes:
            if w is not None:
                n_writes[w[0]] += 1
        out = []
        for w in writes:
            if w is None:
                out.append(None)
                continue
            m = monomial(w[2], expand)
            if m is not None and written.intersection(m[1]):
                m = None
            if w[1] and n_writes[w[0]] == 1 and m is not None and w[0] in loaded:
                expand[w[0]] = m        # an adjoint temporary, read later in this run
            out.append((w[0], w[1], m))
        return out, loaded

    def _merge_one(self, run, line, in_loop):
        """The run with the like terms of one adjoint merged, or None if there are none."""
        forms, loaded = self._forms(run, line, in_loop)
        for target in sorted({f[0] for f in forms if f is not None}):
            if not self.is_scalar_bar(target) or target in loaded:
                continue
            idx = [i for i, f in enumerate(forms) if f is not None and f[0] == target]
            groups = defaultdict(list)
            for i in idx:
                if forms[i][2] is not None:
                    groups[forms[i][2][1]].append(i)
            merged = {k: v for k, v in groups.items() if len(v) > 1 and _tame(forms[i][2][0] for i in v)}
            if not merged:
                continue
            last = max(i for v in merged.values() for i in v)
            out = list(run)
            for v in merged.values():
                for i in v:
                    out[i] = None
            out[last] = [ast.AugAssign(ast.Name(target, ast.Store()), ast.Add(),
                                       monomial_ast(sum(forms[i][2][0] for i in v), k))
                         for k, v in sorted(merged.items(), key=lambda kv: kv[1][0])]
            out = _flatten(out)
            first_is_assign = forms[idx[0]][1]
            mine = [i for i, s in enumerate(out) if (_write(s) or ("",))[0] == target]
            for j, i in enumerate(mine):      # the first write assigns, the later ones add
                out[i] = _as_write(out[i], target, j == 0 and first_is_assign)
            return out
        return None


def _tame(coefs) -> bool:
    """Coefficients folded at generation time that cannot overflow or underflow where the
    product taken step by step would not (float32 included): 0 or 1e-30 <= |c| <= 1e30."""
    coefs = list(coefs)
    return all(c == 0 or 1e-30 <= abs(c) <= 1e30 for c in coefs + [sum(coefs)])


class _Everything:
    def __contains__(self, x):
        return True


def _flatten(xs):
    out = []
    for x in xs:
        if isinstance(x, list):
            out += x
        elif x is not None:
            out.append(x)
    return out


def _as_write(s, target, assign_first):
    value = s.value
    if assign_first:
        return ast.Assign([ast.Name(target, ast.Store())], value)
    return ast.AugAssign(ast.Name(target, ast.Store()), ast.Add(), value)


def drop_unread(body: list, bars: set, results: set, is_comment) -> list:
    """Remove writes of adjoint names (`bars`) that nothing in the function reads and that
    are not among the `results` it returns (`is_comment`: as for Collector)."""
    while True:
        loaded = set(results)
        for s in body:
            loaded |= _loads(s)
        dead = {b for b in bars if b not in loaded}
        changed = [False]

        def prune(stmts):
            out = []
            for s in stmts:
                w = _write(s)
                if w is not None and w[0] in dead:
                    changed[0] = True
                    continue
                for f in ("body", "orelse"):
                    if isinstance(getattr(s, f, None), list):
                        block = prune(getattr(s, f))
                        if (f == "body" or block) and all(is_comment(x) for x in block):
                            block.append(ast.Pass())     # a block left with comments only
                        setattr(s, f, block)
                out.append(s)
            return out

        body = prune(body)
        if not changed[0]:
            return body
