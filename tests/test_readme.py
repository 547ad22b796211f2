"""Every Python code block in the README runs, and prints what the README shows it printing
(the README is the front door: keep it true).

The README shows a block's output in two ways, and both are checked:

* a comment on a `print(...)` line that is the printed value, `print(e(2.0, 1.0))  # (2.0, 5.0)`
  (also written `# -> ...` or `# prints ...`): the numbers that call prints are compared with
  the comment's, in order, to a relative tolerance of 1e-6.  A comment that describes the value
  instead of showing it (`# (value, directional derivative)`) is not output and is not compared;
* a code block that follows the block with nothing but blank lines between (the generated
  source under `print(e.source)`): its lines must appear, in order and contiguous, in what the
  block prints, with the file name of a `[file.py:line]` reference left free (the README's
  block is not run from a file of that name) but its line number, and every other character,
  compared.
"""
import ast
import builtins
import contextlib
import importlib.util
import io
import math
import re
import sys
import tokenize
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_TEXT = README.read_text()
_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)

_NUMBER = re.compile(r"[-+]?(?:(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|inf\b|nan\b)")
_SHOWN_PREFIX = re.compile(r"^(?:->|=>|prints?:?|output:?)\s*", re.I)
_SOURCE_REF = re.compile(r"\[[\w.-]+\.py:(\d+)\]")


@dataclass
class Block:
    lang: str
    code: str
    line: int                      # README line of the opening fence
    shown_after: "Block | None" = None      # the block showing this one's output, if any
    shown_comments: dict = field(default_factory=dict)   # (first, last) line of a print -> shown text


def _blocks(text: str) -> list:
    matches = list(_FENCE.finditer(text))
    out = [Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in matches]
    for k, b in enumerate(out[:-1]):
        nxt = out[k + 1]
        if b.lang == "python" and "import srcgrad" in b.code and "import srcgrad" not in nxt.code \
                and text[matches[k].end():matches[k + 1].start()].strip() == "":
            b.shown_after = nxt
    return out


def _shown_text(comment: str):
    """The output a comment shows, or None when it describes the value rather than shows it."""
    body = comment.lstrip("#").strip()
    explicit = _SHOWN_PREFIX.match(body)
    if explicit:
        return body[explicit.end():]
    rest = _NUMBER.sub("", body)
    rest = re.sub(r"\b(?:array|True|False|None)\b", "", rest)
    if _NUMBER.search(body) and re.fullmatch(r"[\s()\[\],]*", rest):
        return body
    return None


def _print_comments(code: str) -> dict:
    """(first line, last line) of each `print(...)` call -> the output its comment shows."""
    comments = {tok.start[0]: tok.string for tok in tokenize.generate_tokens(io.StringIO(code).readline)
                if tok.type == tokenize.COMMENT}
    out = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            for ln in range(node.lineno, node.end_lineno + 1):
                if ln in comments:
                    shown = _shown_text(comments[ln])
                    if shown is not None:
                        out[(node.lineno, node.end_lineno)] = shown
    return out


BLOCKS = _blocks(_TEXT)
RUNNABLE = [b for b in BLOCKS if b.lang == "python" and "import srcgrad" in b.code]
for _b in RUNNABLE:
    _b.shown_comments = _print_comments(_b.code)


def numbers_mismatch(shown: str, printed: str, rel: float = 1e-6):
    """None when `printed` holds the numbers `shown` holds, in order, to a relative `rel`;
    otherwise what differs."""
    a = [float(x) for x in _NUMBER.findall(shown)]
    b = [float(x) for x in _NUMBER.findall(printed)]
    if len(a) != len(b):
        return f"{len(a)} numbers shown, {len(b)} printed"
    for k, (x, y) in enumerate(zip(a, b)):
        if not (x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=rel, abs_tol=1e-300)):
            return f"number {k + 1}: shown {x!r}, printed {y!r}"
    return None


def excerpt_mismatch(excerpt: str, printed: str):
    """None when the excerpt's lines appear, contiguous and in order, among the printed lines
    (a `[file.py:line]` reference's file name left free); otherwise what is missing."""
    norm = lambda s: _SOURCE_REF.sub(r"[<file>:\1]", s.rstrip())   # noqa: E731
    want = [norm(x) for x in excerpt.strip("\n").splitlines()]
    have = [norm(x) for x in printed.splitlines()]
    for k in range(len(have) - len(want) + 1):
        if have[k:k + len(want)] == want:
            return None
    # the longest prefix of the excerpt found, to say where it stops matching
    best = 0
    for k in range(len(have)):
        n = 0
        while n < len(want) and k + n < len(have) and have[k + n] == want[n]:
            n += 1
        best = max(best, n)
    return f"the excerpt's line {best + 1} is not where it should be: {want[min(best, len(want) - 1)]!r}"


def _run(block: Block, name: str, tmp_path, monkeypatch):
    """Run the block as module `name`; (all it printed, {line: what the print calls on it printed}).
    The module's own `print` records each call's line (builtins are left alone: Numba types them)."""
    path = tmp_path / f"{name}.py"
    path.write_text(block.code)         # srcgrad reads source from files
    monkeypatch.syspath_prepend(str(tmp_path))
    by_line = defaultdict(str)

    def recording_print(*args, **kwargs):
        if kwargs.get("file") is None:
            buf = io.StringIO()
            builtins.print(*args, **{**kwargs, "file": buf})
            by_line[sys._getframe(1).f_lineno] += buf.getvalue()
            sys.stdout.write(buf.getvalue())
        else:
            builtins.print(*args, **kwargs)

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.print = recording_print
    out = io.StringIO()
    sys.modules[name] = module
    try:
        with contextlib.redirect_stdout(out):
            spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return out.getvalue(), by_line


@pytest.mark.parametrize("i", range(len(RUNNABLE)), ids=[f"block{i}" for i in range(len(RUNNABLE))])
def test_readme_block_runs(i, tmp_path, monkeypatch):
    block = RUNNABLE[i]
    where = f"README.md:{block.line} (python block {i})"
    printed, by_line = _run(block, f"readme_block_{i}", tmp_path, monkeypatch)
    for (first, last), shown in sorted(block.shown_comments.items()):
        got = "".join(by_line[ln] for ln in range(first, last + 1))
        assert got, f"{where}: the print on its line {first} printed nothing; the README shows {shown!r}"
        bad = numbers_mismatch(shown, got)
        assert bad is None, (f"{where}, its line {first}: the README shows {shown!r}, the block printed "
                             f"{got.strip()!r} ({bad})")
    if block.shown_after is not None:
        bad = excerpt_mismatch(block.shown_after.code, printed)
        assert bad is None, (f"{where}: the block after it (README.md:{block.shown_after.line}) is not what it "
                             f"prints: {bad}\n--- printed:\n{printed}")


def test_readme_shows_output_that_is_checked():
    """The parsing above finds the README's shown output (a change of style would otherwise turn
    the checks off without a word)."""
    assert RUNNABLE, "no python block of the README imports srcgrad"
    assert any(b.shown_comments for b in RUNNABLE), "no `print(...)  # <value>` comment found"
    assert any(b.shown_after is not None for b in RUNNABLE), "no block showing a block's output found"


def test_checkers_catch_differences():
    assert numbers_mismatch("(2.0, 5.0)", "(2.0, 5.0)\n") is None
    assert numbers_mismatch("(2.0, 5.0)", "(2.0000000001, 5.0)") is None
    assert numbers_mismatch("(2.0, 5.0)", "(2.0, 5.1)") is not None
    assert numbers_mismatch("(2.0, 5.0)", "(2.0, 5.0, 1.0)") is not None
    assert numbers_mismatch("-1e-3", "0.001") is not None
    assert _shown_text("# (2.0, 5.0)") == "(2.0, 5.0)"
    assert _shown_text("# -> 3.5") == "3.5"
    assert _shown_text("# ((d2/da2, d2/dadb), (...))") is None
    assert _shown_text("# d2/da2") is None
    assert _shown_text("# the generated derivative, excerpt below") is None
    src = "x\n    # a    [f.py:5]\n    y = 1\nz\n"
    assert excerpt_mismatch("    # a    [ex.py:5]\n    y = 1\n", src) is None
    assert excerpt_mismatch("    # a    [ex.py:6]\n    y = 1\n", src) is not None
    assert excerpt_mismatch("    # a    [ex.py:5]\n    y = 2\n", src) is not None
