"""Deterministic, readable, collision-free names for everything srcgrad introduces."""
from __future__ import annotations

import ast
import re


class NameGen:
    def __init__(self, reserved=()):
        self.used: set[str] = set(reserved)
        self.counters: dict[str, int] = {}

    @staticmethod
    def identifiers(tree: ast.AST) -> set[str]:
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        return names

    def fresh(self, base: str) -> str:
        """`base` itself if free, else base_1, base_2, ... (deterministic)."""
        base = re.sub(r"\W", "_", base) or "_t"
        if base not in self.used:
            self.used.add(base)
            return base
        k = self.counters.get(base, 0)
        while True:
            k += 1
            cand = f"{base}_{k}"
            if cand not in self.used:
                self.counters[base] = k
                self.used.add(cand)
                return cand

    def temp(self, hint: str = "t") -> str:
        return self.fresh(f"_{hint}")
