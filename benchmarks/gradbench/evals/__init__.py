"""srcgrad's implementations of GradBench's evals, one module per eval.

Each module exposes ``FORMS``: a tuple of :class:`Form`, most natural first. A form's
``build()`` returns ``{function name: Function}`` for the functions the eval sends (e.g.
``primal`` and ``gradient``); building may compile nothing yet (srcgrad and Numba compile on
the first call). ``EXAMPLE`` is a small input of the eval's JSON shape, used by the tool to
compile and warm up at ``define`` time and by the unit tests.

The *natural* form is the objective as a NumPy/Numba user writes it. Where srcgrad cannot
differentiate it today, an *adapted* form follows, and ``Form.adaptations`` says what was
changed and why; benchmarks/gradbench/README.md tabulates both.
"""
from __future__ import annotations

import importlib
import types
from dataclasses import dataclass, field
from typing import Any, Callable

EVALS = ("hello", "lse", "llsq", "ode", "det", "kmeans", "gmm", "ba", "ht", "lstm",
         "particle", "saddle")


@dataclass(frozen=True)
class Function:
    """One GradBench function: ``prepare`` turns the JSON input into arguments (not timed),
    ``compute(*args)`` is what is timed, ``post`` turns its result into JSON (not timed).
    ``missing`` says why a form cannot provide this function (then ``compute`` is unused)."""
    compute: Callable[..., Any]
    prepare: Callable[[dict], tuple]
    post: Callable[[Any], Any]
    missing: str | None = None

    def __call__(self, input: dict) -> Any:
        if self.missing:
            raise NotImplementedError(self.missing)
        return self.post(self.compute(*self.prepare(input)))


@dataclass(frozen=True)
class Form:
    name: str                                   # "natural" or "adapted"
    build: Callable[[], dict[str, Function]]
    adaptations: tuple[str, ...] = field(default=())


def load(name: str):
    """The eval module ``name`` (ModuleNotFoundError for an eval srcgrad does not implement)."""
    if name not in EVALS:
        raise ModuleNotFoundError(f"srcgrad has no implementation of the GradBench eval {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def tolist(a) -> list:
    return a.tolist()


def jit(f):
    """``numba.njit(f)``, with the plain-Python helpers of ``f``'s module that it calls compiled
    too (srcgrad inlines plain helpers but not ``@numba.njit`` ones, so the eval modules write
    helpers plainly and compile the primal with this)."""
    import numba
    namespace = dict(f.__globals__)
    for name, obj in f.__globals__.items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == f.__module__:
            namespace[name] = numba.njit(_rebind(obj, namespace))
    return numba.njit(_rebind(f, namespace))


def _rebind(f, namespace):
    return types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
