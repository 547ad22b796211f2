"""The exception hierarchy: every error srcgrad raises on purpose derives from SrcgradError.

Errors about the user's code carry its location (file, line, column) and say what to write
instead.  Unsupported syntax subclasses the builtin SyntaxError so that tracebacks, IDEs and
pytest show the user's line with a caret.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A place in the user's source: absolute file line (1-based) and column (0-based)."""

    file: str
    line: int
    col: int = 0
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class SrcgradError(Exception):
    """Root of every error srcgrad raises deliberately."""


class LocatedError(SrcgradError):
    """An error about a construct in the user's source, with its location and a remedy."""

    def __init__(self, message: str, loc: Loc | None = None, hint: str = ""):
        self.message = message
        self.loc = loc
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.loc is not None:
            where = f"{self.loc.file}:{self.loc.line}:{self.loc.col + 1}: "
        text = f"{where}{self.message}"
        if self.loc is not None and self.loc.text:
            text += f"\n    {self.loc.text.strip()}"
        if self.hint:
            text += f"\n  what to do: {self.hint}"
        return text

    def __str__(self) -> str:  # SyntaxError has its own __str__; keep ours everywhere
        return self._format()


class UnsupportedSyntaxError(LocatedError, SyntaxError):
    """A Python construct outside the differentiable subset (refused before any transformation)."""

    def __init__(self, message: str, loc: Loc | None = None, hint: str = ""):
        LocatedError.__init__(self, message, loc, hint)
        # Fill SyntaxError's fields so tools can point at the user's line.
        if loc is not None:
            self.filename = loc.file
            self.lineno = loc.line
            self.offset = loc.col + 1
            self.text = loc.text
        self.msg = self._format()


class NoDerivativeRuleError(LocatedError):
    """A call to a function that has no derivative rule and is not a Python helper srcgrad can read."""


class NotDifferentiableError(LocatedError):
    """A differentiated argument is used where no derivative exists (a range bound, an index, ...)."""


class UnsupportedArrayUseError(LocatedError):
    """An array construct srcgrad cannot differentiate faithfully (slice writes, aliasing views, ...)."""


class NonScalarOutputError(LocatedError):
    """grad/value_and_grad was given a function whose return value is not a scalar."""


class ArgnumsError(SrcgradError, ValueError):
    """argnums names an argument that does not exist or cannot be differentiated."""


class ArgumentTypeError(SrcgradError, TypeError):
    """An argument srcgrad cannot take (a list, a string, None): numbers and NumPy arrays only."""


class CompilationError(SrcgradError):
    """Numba could not compile the generated derivative; the message maps back to the user's line."""


class InternalError(SrcgradError):
    """A bug in srcgrad itself; the message names the pass and the user's function."""


@contextmanager
def sub_pass(name: str):
    """Run a pass that a pipeline stage calls (reverse calls collect, first and fuse per block):
    an unexpected exception leaving it is labelled with its name, which the pipeline's
    InternalError then gives instead of the stage's."""
    try:
        yield
    except SrcgradError:
        raise
    except Exception as exc:
        if not hasattr(exc, "srcgrad_pass"):
            exc.srcgrad_pass = name
        raise


class SrcgradWarning(UserWarning):
    """Non-fatal problems, e.g. an unwritable cache directory (srcgrad falls back to memory)."""
