"""Read a function's source and parse it, keeping a map back to the user's file and lines.

After this step: a `ParsedFunction` whose `tree` is the `ast.FunctionDef` with line numbers
shifted to the user's file, so every later error can name `file:line:col`.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field

from ..errors import Loc, SrcgradError


@dataclass
class ParsedFunction:
    func: object                    # the Python function object
    name: str
    file: str
    tree: ast.FunctionDef
    source: str                     # dedented source text of the function
    lines: list[str] = field(default_factory=list)   # the file's lines, for error excerpts
    first_line: int = 1

    def loc(self, node: ast.AST | None) -> Loc:
        if node is None or not hasattr(node, "lineno"):
            return Loc(self.file, self.first_line, 0, "")
        line = node.lineno
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return Loc(self.file, line, getattr(node, "col_offset", 0) + self._indent(line), text)

    def _indent(self, line: int) -> int:
        # columns in the parsed (dedented) tree are relative to the dedented text
        return self._dedent

    _dedent: int = 0


_CACHE: dict[object, ParsedFunction] = {}


def col_of_lambda(line: str) -> int:
    return max(line.find("lambda"), 0)


def parse_function(func) -> ParsedFunction:
    """Parse `func`'s source. Raises SrcgradError when the source is not available."""
    code = getattr(func, "__code__", None)
    if code is None:
        raise SrcgradError(
            f"srcgrad needs a plain Python function, got {type(func).__name__!r}: "
            "pass the function itself (not a lambda stored elsewhere, a builtin, or a compiled object)")
    key = (code, func.__module__)
    hit = _CACHE.get(key)
    if hit is not None and hit.func is func:
        return hit
    try:
        # the code object, not the function: inspect would follow functools.wraps' __wrapped__
        # to the undecorated function, whose source is not what `func` runs
        lines, first = inspect.getsourcelines(code)
        file = inspect.getsourcefile(code) or code.co_filename
    except (OSError, TypeError) as exc:
        raise SrcgradError(
            f"cannot read the source of {func.__qualname__!r} ({exc}); srcgrad transforms source "
            "code, so define the function in a file (or a notebook cell), not with exec or eval") from None
    raw = "".join(lines)
    src = textwrap.dedent(raw)
    dedent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    try:
        module = ast.parse(src)
    except SyntaxError as exc:  # e.g. a lambda on a line with other code
        raise SrcgradError(f"cannot parse the source of {func.__qualname__!r}: {exc}") from None
    fdefs = [n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not fdefs:
        from ..errors import UnsupportedSyntaxError   # located at the lambda, like other refusals
        raise UnsupportedSyntaxError(
            f"{func.__qualname__!r} is a lambda, not defined with a `def` statement srcgrad can read",
            Loc(file, first, col_of_lambda(lines[0]), lines[0]), "define it with `def` (at module level for a helper)")
    tree = fdefs[0]
    ast.increment_lineno(tree, first - 1) if first > 1 else None
    try:
        with open(file, encoding="utf-8") as fh:
            file_lines = fh.read().splitlines()
    except OSError:
        file_lines = [""] * (first - 1) + src.splitlines()
    parsed = ParsedFunction(func=func, name=func.__name__, file=file, tree=tree, source=src,
                            lines=file_lines, first_line=first)
    parsed._dedent = dedent
    _CACHE[key] = parsed
    return parsed
