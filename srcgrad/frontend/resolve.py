"""Resolve free names read-only against a function's globals, closure and builtins.

What a name can be: a module (math, numpy), a numeric constant (inlined into the generated
code; its value is part of the cache key), a callable with a derivative rule, or a plain
Python helper function (differentiated through by inlining).  srcgrad never writes into the
user's globals.
"""
from __future__ import annotations

import ast
import builtins
import hashlib
import types as pytypes

import numpy as np

_MISSING = object()


def lookup(func, name: str):
    """The object `name` denotes inside `func` (closure, then globals, then builtins), or _MISSING.
    A dotted `module.attr` (as recorded by dependency_fingerprint) is looked up through the module."""
    if "." in name:
        base, _, attr = name.partition(".")
        obj = lookup(func, base)
        return _MISSING if obj is _MISSING else getattr(obj, attr, _MISSING)
    code = func.__code__
    if func.__closure__ and name in code.co_freevars:
        cell = func.__closure__[code.co_freevars.index(name)]
        try:
            return cell.cell_contents
        except ValueError:
            return _MISSING
    g = func.__globals__
    if name in g:
        return g[name]
    return getattr(builtins, name, _MISSING)


def is_number(obj) -> bool:
    return isinstance(obj, (int, float, bool, np.integer, np.floating, np.bool_))


def is_helper(obj) -> bool:
    """A plain Python function srcgrad can read and inline (a @numba.njit one too: its Python
    source is what srcgrad reads)."""
    f = helper_function(obj)
    module = getattr(f, "__module__", None) or ""
    package = module.split(".")[0]
    return isinstance(f, pytypes.FunctionType) and package not in _LIBRARIES and \
        (package != "srcgrad" or module.startswith("srcgrad.rules"))


# packages whose Python functions are library calls, never user helpers to read and inline
# (srcgrad's own API too; its composites in srcgrad.rules are read and inlined)
_LIBRARIES = {"numpy", "scipy", "math", "builtins", "numba"}


def helper_function(obj):
    """The Python function behind a helper: itself, or a Numba dispatcher's `py_func`."""
    if not isinstance(obj, pytypes.FunctionType) and hasattr(obj, "py_func") and hasattr(obj, "overloads"):
        return obj.py_func
    return obj


def local_names(fdef: ast.FunctionDef) -> set:
    names = {a.arg for a in fdef.args.args}
    for node in ast.walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def free_names(fdef: ast.FunctionDef) -> list:
    local = local_names(fdef)
    seen = []
    for node in ast.walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local \
                and node.id not in seen:
            seen.append(node.id)
    return sorted(seen)


def rules_fp(obj) -> str:
    from ..rules.registry import fingerprint
    return fingerprint(obj)


def dependency_fingerprint(func, parse) -> tuple[str, list]:
    """Hash of `func`'s source, its helpers' sources (transitively) and the numeric constants they
    read; plus a list of (function, name, object) to re-check cheaply before each call."""
    h = hashlib.sha256()
    watch = []
    stack, done = [func], set()
    while stack:
        f = stack.pop()
        if f in done:
            continue
        done.add(f)
        parsed = parse(f)
        h.update(f"{f.__module__}.{f.__qualname__}\n{parsed.source}\n".encode())
        for name in free_names(parsed.tree):
            obj = lookup(f, name)
            watch.append((f, name, obj))
            if is_number(obj):
                h.update(f"{name}={obj!r}\n".encode())
            elif isinstance(obj, np.ndarray):     # data passed at each call: only its kind counts
                h.update(f"{name}=ndarray:{obj.ndim}{obj.dtype.kind}\n".encode())
            elif (rule_src := rules_fp(obj)):
                h.update(f"{name}=rule:{rule_src}\n".encode())
            elif is_helper(obj):
                stack.append(helper_function(obj))
            elif (inner := _nested_target(obj)) is not None:   # g = srcgrad.grad(h) called in f: h counts
                h.update(f"{name}=nested:{obj.kind}:{obj.argnums}:{obj.has_aux}\n".encode())
                stack.append(helper_function(inner))
            elif isinstance(obj, pytypes.ModuleType):
                h.update(f"{name}=module:{obj.__name__}\n".encode())
                for attr in _module_constants_read(parsed.tree, name):
                    val = getattr(obj, attr, None)
                    if is_number(val):
                        h.update(f"{name}.{attr}={val!r}\n".encode())
                        watch.append((f, f"{name}.{attr}", val))
                    elif isinstance(val, np.ndarray):
                        h.update(f"{name}.{attr}=ndarray:{val.ndim}{val.dtype.kind}\n".encode())
                        watch.append((f, f"{name}.{attr}", val))
                    elif is_helper(val):    # mod.helper(x): its source is part of the key too
                        stack.append(helper_function(val))
                        watch.append((f, f"{name}.{attr}", val))
            else:
                h.update(f"{name}={type(obj).__module__}.{getattr(obj, '__qualname__', type(obj).__name__)}\n".encode())
    return h.hexdigest(), watch


def _nested_target(obj):
    """The user's function behind a derivative object called inside a differentiated function."""
    from .. import nested
    try:
        return nested.target_function(obj) if nested.is_nested(obj) else None
    except TypeError:           # an unhashable value
        return None


def _module_constants_read(tree, modname):
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == modname:
            yield node.attr


def still_valid(watch) -> bool:
    """True while every name the derivative depends on still denotes the same object/value."""
    for f, name, obj in watch:
        now = lookup(f, name)
        if now is obj:
            continue
        if is_number(now) and is_number(obj) and now == obj and type(now) is type(obj):
            continue
        return False
    return True
