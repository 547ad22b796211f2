"""The NumPy functions srcgrad differentiates, treats as constant, or refuses: read from the
registry, so the README's list (generated from here) cannot drift from the rules.

    python -m srcgrad.rules.catalog          # the README block, as markdown
    python -m srcgrad.rules.catalog --write  # rewrite it in README.md
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np

from . import registry

_NAMESPACES = (("np.linalg", "linalg"), ("np.fft", "fft"), ("np", None))
BEGIN, END = "<!-- numpy-functions -->", "<!-- /numpy-functions -->"


@functools.cache
def numpy_names() -> dict:
    """id(object) -> its public names in np, np.linalg and np.fft (aliases together)."""
    out: dict = {}
    for prefix, sub in _NAMESPACES:
        mod = getattr(np, sub) if sub else np
        for name in dir(mod):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name, None)
            if callable(obj) and not isinstance(obj, type):
                names = out.setdefault(id(obj), [])
                if f"{prefix}.{name}" not in names:
                    names.append(f"{prefix}.{name}")
    return out


def _names_of(keys) -> list[str]:
    """The sorted NumPy names of the objects among `keys` (each object's aliases too)."""
    names = numpy_names()
    return sorted({n for key in keys if id(key) in names for n in names[id(key)]})


# Calls the lowering itself turns into primitives (srcgrad/passes/lower.py: `einsum`,
# `array_literal`), so they have neither a rule nor a composite.
LOWERED = (np.einsum, np.array)


def differentiated() -> list[str]:
    """The NumPy functions with a derivative: a rule (partials, vjp), a composite, or lowered."""
    return _names_of([r.key for r in registry.all_rules() if r.kind != "nondiff"] + list(registry.COMPOSITES)
                     + list(LOWERED))


def constant() -> list[str]:
    """The NumPy functions srcgrad runs with no derivative (piecewise constant, constructors)."""
    diff = set(differentiated())
    return [n for n in _names_of(r.key for r in registry.all_rules() if r.kind == "nondiff") if n not in diff]


def depends() -> list[str]:
    """The constant-valued functions whose values depend on their arguments (np.full)."""
    return _names_of(r.key for r in registry.all_rules() if r.kind == "nondiff" and r.depends)


def refused() -> dict[str, tuple[str, str]]:
    """name -> (why, what to do instead) for the functions srcgrad refuses on purpose."""
    names = numpy_names()
    return {n: v for k, v in registry.REFUSED.items() if id(k) in names for n in names[id(k)]}


def markdown() -> str:
    """The README's block: the three lists, refusals grouped by their reason."""
    diff, const = differentiated(), constant()
    lines = [f"For NumPy {numpy_minor()}. Differentiated ({len(diff)} names, reverse and forward mode): "
             + ", ".join(f"`{n}`" for n in diff) + ".", "",
             f"Run, with no derivative (piecewise constant, integer-valued or constructors; "
             f"{len(const)} names): " + ", ".join(f"`{n}`" for n in const) + ". Of these, "
             + ", ".join(f"`{n}`" for n in depends()) + " are refused when a differentiated value reaches "
             "them (their values depend on their arguments).", "",
             "Refused with a `NoDerivativeRuleError` at the call that says why and what to do instead:", ""]
    by_reason: dict = {}
    for n, (why, instead) in sorted(refused().items()):
        by_reason.setdefault((why, instead), []).append(n)
    for (why, instead), ns in sorted(by_reason.items(), key=lambda kv: kv[1][0]):
        lines.append(f"- {', '.join(f'`{n}`' for n in ns)}: {why}. Instead: {instead}.")
    return "\n".join(lines)


def numpy_minor() -> str:
    """NumPy's version as major.minor: the lists name what this NumPy has (np.acos is NumPy 2's)."""
    return ".".join(np.__version__.split(".")[:2])


def readme_block(text: str) -> str:
    """The generated block as it stands in a README's text (between the markers)."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n")


def write(readme: Path) -> None:
    text = readme.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    readme.write_text(text[:start] + "\n" + markdown() + "\n" + text[end:])


if __name__ == "__main__":
    import srcgrad  # noqa: F401  (registers the rules)
    if "--write" in sys.argv:
        write(Path(__file__).resolve().parents[2] / "README.md")
    else:
        print(markdown())
