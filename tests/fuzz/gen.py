"""A generator of random Python programs from srcgrad's supported subset.

The generator is driven by a `draw(lo, hi) -> int` callback (Hypothesis' `data.draw` of an
integer, or a `random.Random` in tests), so the same code serves the Hypothesis test, the long
mode and reproduction from a seed.

A program is a module text holding helpers `h0(p, q, v)`, `h1`, ... (two scalars and an
array they only read, called with `a` or the local buffer) and the main function
`f(x0, x1, x2, a)`: three float scalars and one float array `a` of length `N`.  It uses:
straight-line arithmetic, `math.sin/cos/tanh/exp/log/sqrt` of arguments that keep them in
their domain, re-assignments and augmented assignments, `if`/`else` on comparisons of active
values, `for` loops over `range` with `break`/`continue`, `while` loops with a bounded integer
counter, early returns (also from inside loops), calls to helpers, `abs`/`max`/`min` (their
kinks are tracked like branches), reads `a[i]`, `buf[i]`, `a[N-1-i]` and in-place writes into a
local `buf = np.zeros(N)`.

Every float comparison is written `(l) < (r)` with parenthesised operands so that the oracle
can instrument it (see oracle.py); integer comparisons (loop counters) are left alone.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

N = 4            # length of the array argument and of the local buffer
N_SCALARS = 3


@dataclass
class Program:
    source: str          # the module text
    n_helpers: int

    def __str__(self):
        return self.source


class _Gen:
    def __init__(self, draw, max_stmts=6, max_depth=2, n_helpers=None):
        self.draw = draw
        self.max_stmts = max_stmts
        self.max_depth = max_depth
        self.counter = 0
        self.n_helpers = n_helpers
        self.helpers: list[str] = []      # names callable from the function being generated

    # -- small helpers --------------------------------------------------------------------
    def pick(self, seq):
        return seq[self.draw(0, len(seq) - 1)]

    def chance(self, percent):
        return self.draw(0, 99) < percent

    def fresh(self, prefix="t"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self):
        return self.pick(["0.5", "1.5", "-0.7", "2.0", "0.25", "-1.25", "3.0", "0.1"])

    # -- expressions ----------------------------------------------------------------------
    def leaf(self, sc):
        opts = ["var"] * 6 + ["const"]
        if sc.arrays and sc.indices:
            opts += ["aread"] * 2
        if sc.arrays:
            opts += ["aconst"]
        if sc.ints:
            opts += ["int"]
        k = self.pick(opts)
        if k == "var":
            return self.pick(sc.floats)
        if k == "const":
            return self.const()
        if k == "int":
            return self.pick(sc.ints)
        arr = self.pick(sc.arrays)
        if k == "aconst":
            return f"{arr}[{self.draw(0, N - 1)}]"
        idx = self.pick(sc.indices)
        if self.chance(15) and idx.isidentifier():
            return f"{arr}[{N - 1} - {idx}]"
        return f"{arr}[{idx}]"

    def expr(self, sc, depth=0):
        if depth >= 3 or self.chance(30 + 20 * depth):
            return self.leaf(sc)
        e = lambda: self.expr(sc, depth + 1)  # noqa: E731
        k = self.pick(["add", "sub", "mul", "mul", "div", "neg", "sin", "cos", "tanh", "exp",
                       "log", "sqrt", "sq", "cube", "call", "ifexp", "abs", "max", "min", "atan", "pow", "hypot", "atan2"])
        if k == "add":
            return f"({e()} + {e()})"
        if k == "sub":
            return f"({e()} - {e()})"
        if k == "mul":
            return f"({e()} * {e()})"
        if k == "div":
            return f"({e()} / (1.5 + math.cos({e()})))"
        if k == "neg":
            return f"(-{e()})"
        if k in ("sin", "cos", "tanh"):
            return f"math.{k}({e()})"
        if k == "exp":
            return f"math.exp({self.pick(['math.sin', 'math.tanh', 'math.cos'])}({e()}))"
        if k == "log":
            x = e()
            return self.pick([f"math.log(1.0 + {x} * {x})", f"math.log(2.0 + math.sin({x}))"])
        if k == "sqrt":
            x = e()
            return f"math.sqrt(0.5 + {x} * {x})"
        if k == "sq":
            return f"({e()} ** 2)"
        if k == "cube":
            return f"math.tanh({e()}) ** 3"
        if k == "call" and self.helpers:
            h = self.pick(self.helpers)
            return f"{h}({e()}, {e()}, {self.pick(sc.arrays)})"
        if k == "abs":
            return f"abs({e()})"
        if k in ("max", "min"):
            return f"{k}({e()}, {e()})"
        if k == "atan":
            return f"math.atan({e()})"
        if k == "pow":
            return f"(1.5 + math.sin({e()})) ** math.tanh({e()})"
        if k == "hypot":
            return f"math.hypot({e()}, 0.5 + {e()} ** 2)"
        if k == "atan2":
            return f"math.atan2({e()}, 1.5 + math.cos({e()}))"
        if k == "ifexp":
            return f"({e()} if {self.cond(sc)} else {e()})"
        return self.leaf(sc)

    def cond(self, sc):
        # no helper calls inside conditions: this generator's comparisons may hold `a if c else b`,
        # where srcgrad refuses a call it cannot make lazy ("assign the call's result to a variable
        # first"); the array generator covers helpers in conditions (helper_in_condition)
        helpers, self.helpers = self.helpers, []
        try:
            return self._cond(sc)
        finally:
            self.helpers = helpers

    def _cond(self, sc):
        op = self.pick(["<", ">", "<=", ">="])
        c = f"({self.expr(sc, 1)}) {op} ({self.expr(sc, 1)})"
        if self.chance(15):
            c2 = f"({self.expr(sc, 2)}) {self.pick(['<', '>'])} ({self.const()})"
            c = f"{c} {self.pick(['and', 'or'])} {c2}"
        if self.chance(10):
            c = f"not ({c})"
        return c

    # -- statements -----------------------------------------------------------------------
    def block(self, sc, depth, lines, indent, n=None, loop=None):
        """Append 1..n statements to `lines`; return True if the block always returns."""
        n = n if n is not None else self.draw(1, self.max_stmts)
        for _ in range(n):
            if self.stmt(sc, depth, lines, indent, loop):
                return True
        return False

    def stmt(self, sc, depth, lines, indent, loop):
        pad = "    " * indent
        opts = ["assign"] * 5 + ["aug"] * 2
        if depth < self.max_depth:
            opts += ["if"] * 2 + ["for", "while"]
        if sc.bufs:
            opts += ["store"] * 2
        if loop is not None:
            opts += ["break", "continue"]
        if sc.can_return:
            opts += ["ret"]
        if len(sc.mutable) >= 2:
            opts += ["swap"]
        k = self.pick(opts)
        if k == "swap":      # tuple assignment of literal tuples
            u, v = self.pick(sc.mutable), self.pick(sc.mutable)
            if u != v and self.chance(50):
                lines.append(f"{pad}{u}, {v} = {v}, {u}")
            else:
                lines.append(f"{pad}{u}, {v} = {self.expr(sc)}, {self.expr(sc)}")
            return False
        if k == "assign":
            # new variables are local to the block; re-assign an outer one otherwise
            if self.chance(40) or not sc.mutable:
                v = self.fresh()
                lines.append(f"{pad}{v} = {self.expr(sc)}")
                sc.floats.append(v)
                sc.mutable.append(v)
            else:
                lines.append(f"{pad}{self.pick(sc.mutable)} = {self.expr(sc)}")
        elif k == "aug" and sc.mutable:
            op = self.pick(["+=", "-=", "*="])
            rhs = self.expr(sc)
            if op == "*=":
                rhs = f"(0.5 + 0.5 * math.tanh({rhs}))"
            lines.append(f"{pad}{self.pick(sc.mutable)} {op} {rhs}")
        elif k == "store":
            buf = self.pick(sc.bufs)
            idx = self.pick(sc.indices) if sc.indices and self.chance(70) else str(self.draw(0, N - 1))
            op = self.pick(["=", "=", "+=", "-="])
            lines.append(f"{pad}{buf}[{idx}] {op} {self.expr(sc)}")
        elif k == "if":
            lines.append(f"{pad}if {self.cond(sc)}:")
            r1 = self.block(sc.child(), depth + 1, lines, indent + 1, self.draw(1, 3), loop)
            r2 = False
            if self.chance(60):
                lines.append(f"{pad}else:")
                r2 = self.block(sc.child(), depth + 1, lines, indent + 1, self.draw(1, 3), loop)
            return r1 and r2
        elif k == "for":
            i = self.fresh("i")
            stop = self.draw(1, N)
            form = self.draw(0, 9)
            if form < 6:
                rng = f"{stop}"
            elif form < 8:
                rng = f"{self.draw(0, stop - 1)}, {stop}"
            elif form < 9:
                rng = f"{stop - 1}, -1, -1"          # backwards
            else:
                rng = f"0, {N}, 2"
            lines.append(f"{pad}for {i} in range({rng}):")
            child = sc.child()
            child.indices = sc.indices + [i]
            child.ints = sc.ints + [i]
            self.block(child, depth + 1, lines, indent + 1, self.draw(1, 4), loop="for")
            if self.chance(25):   # the loop-exit form srcgrad special-cases: a final `if c: break`
                lines.append(f"{pad}    if {self.cond(child)}:")
                lines.append(f"{pad}        break")
        elif k == "while":
            kv = self.fresh("k")
            lines.append(f"{pad}{kv} = 0")
            bound = self.draw(1, N)
            test = f"{kv} < {bound}"
            if self.chance(30):
                test += f" and ({self.cond(sc)})"   # parenthesised: the counter must bound the loop
            lines.append(f"{pad}while {test}:")
            lines.append(f"{pad}    {kv} += 1")   # first, so `continue` cannot skip it
            child = sc.child()
            child.indices = sc.indices + [f"{kv} - 1"]
            child.ints = sc.ints + [kv]
            self.block(child, depth + 1, lines, indent + 1, self.draw(1, 4), loop="while")
        elif k in ("break", "continue"):
            lines.append(f"{pad}if {self.cond(sc)}:")
            lines.append(f"{pad}    {k}")
        elif k == "ret":
            if self.chance(50):
                lines.append(f"{pad}if {self.cond(sc)}:")
                lines.append(f"{pad}    return {self.expr(sc)}")
            else:
                lines.append(f"{pad}return {self.expr(sc)}")
                return True
        return False

    # -- functions ------------------------------------------------------------------------
    def function(self, name, params, arrays, with_buf):
        sc = _Scope(floats=list(params), mutable=[], arrays=list(arrays), bufs=[], indices=[],
                    ints=[], can_return=True)
        lines = [f"def {name}({', '.join(params + arrays)}):"]
        # a few initial locals so re-assignment has targets at the top level
        for _ in range(self.draw(1, 2)):
            v = self.fresh("s")
            # sometimes an integer 0: the variable becomes a float on some paths only
            lines.append(f"    {v} = {'0' if self.chance(15) else self.expr(sc)}")
            sc.floats.append(v)
            sc.mutable.append(v)
        if with_buf:
            lines.append(f"    buf = np.zeros({N})")
            sc.arrays.append("buf")
            sc.bufs.append("buf")
        returned = self.block(sc, 0, lines, 1)
        if not returned:
            lines.append(f"    return {self.expr(sc)}")
        return "\n".join(lines)

    def program(self) -> Program:
        n_helpers = self.n_helpers if self.n_helpers is not None else self.draw(0, 2)
        parts = ["import math", "import numpy as np", ""]
        saved = self.max_depth
        for j in range(n_helpers):
            self.max_depth = 1
            parts.append(self.function(f"h{j}", ["p", "q"], ["v"], with_buf=False))
            parts.append("")
            self.helpers.append(f"h{j}")
        self.max_depth = saved
        params = [f"x{j}" for j in range(N_SCALARS)]
        parts.append(self.function("f", params, ["a"], with_buf=self.chance(60)))
        return Program("\n".join(parts) + "\n", n_helpers)


class _Scope:
    def __init__(self, floats, mutable, arrays, bufs, indices, ints, can_return):
        self.floats, self.mutable, self.arrays, self.bufs = floats, mutable, arrays, bufs
        self.indices, self.ints, self.can_return = indices, ints, can_return

    def child(self):
        """Names defined inside a nested block stay local to it; outer names stay re-assignable."""
        return _Scope(list(self.floats), list(self.mutable), self.arrays, self.bufs,
                      list(self.indices), list(self.ints), self.can_return)


def size_from_env() -> dict:
    """Program size for the long mode: FUZZ_DEPTH (nesting) and FUZZ_STMTS (statements per block)."""
    import os
    return dict(max_depth=int(os.environ.get("FUZZ_DEPTH", "2")), max_stmts=int(os.environ.get("FUZZ_STMTS", "6")))


def generate(draw, **kw) -> Program:
    return _Gen(draw, **kw).program()


def from_seed(seed: int, **kw) -> Program:
    rng = random.Random(seed)
    return generate(rng.randint, **kw)
