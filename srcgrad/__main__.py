"""Command line.

    python -m srcgrad show path/to/file.py:function [--argnums 0,1]   the generated derivative
    python -m srcgrad cache info                                       where the cache is, its size
    python -m srcgrad cache clear [--this-environment]                 remove srcgrad's cached files
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path


class _UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""


def _load(spec: str):
    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise _UsageError(f"expected path/to/file.py:function, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise _UsageError(f"no such file: {path}")
    sys.path.insert(0, str(file.resolve().parent))
    mspec = importlib.util.spec_from_file_location(file.stem, file)
    if mspec is None:
        raise _UsageError(f"{path} is not a Python file")
    mod = importlib.util.module_from_spec(mspec)
    sys.modules[file.stem] = mod
    mspec.loader.exec_module(mod)       # the user's own errors keep their traceback
    fn = getattr(mod, name, None)
    if fn is None:
        defined = sorted(k for k, v in vars(mod).items()
                         if callable(v) and getattr(v, "__module__", None) == mod.__name__)
        raise _UsageError(f"{path} has no function {name!r}"
                          + (f" (it defines: {', '.join(defined)})" if defined else ""))
    return getattr(fn, "fun", fn)


def _argnums(text: str):
    try:
        nums = tuple(int(a) for a in text.split(",") if a.strip())
    except ValueError:
        raise _UsageError(f"--argnums takes comma-separated integers such as 0 or 0,2; got {text!r}") from None
    if not nums:
        raise _UsageError("--argnums is empty: name at least one argument, e.g. --argnums 0")
    return nums[0] if len(nums) == 1 and "," not in text else nums


def _show(args) -> int:
    import srcgrad
    fn = _load(args.target)
    argnums = _argnums(args.argnums)
    try:
        print(srcgrad.grad(fn, argnums=argnums).source)
    except srcgrad.SrcgradError as exc:
        print(f"srcgrad: {exc}", file=sys.stderr)
        return 1
    return 0


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _ago(t: float) -> str:
    if not t:
        return "never"
    days = (time.time() - t) / 86400
    return "today" if days < 1 else f"{days:.0f} day{'s' if days >= 1.5 else ''} ago"


def _root_origin() -> str:
    if os.environ.get("SRCGRAD_CACHE_DIR"):
        return "from $SRCGRAD_CACHE_DIR"
    if sys.platform not in ("win32", "darwin") and os.environ.get("XDG_CACHE_HOME"):
        return "from $XDG_CACHE_HOME"
    return "default; set SRCGRAD_CACHE_DIR to move it"


def _cache_info(args) -> int:
    from .codegen import cachefiles
    from .codegen import compile as cache
    root = cache.cache_root()
    mine = cache.cache_dir()
    print(f"srcgrad cache: {root}  ({_root_origin()})")
    print(f"this environment: {mine.name} ({sys.executable})")
    found = cachefiles.areas(root)
    if not found:
        print("empty")
    modules = compiled = entries = 0
    for area in found:
        label = "older srcgrad (no environment directory)" if area.legacy else area.path.name
        python = next((line.split(" ", 1)[1] for line in area.description.splitlines()
                       if line.startswith("python ")), "")
        if area.path == mine:
            label += "  <- this environment"
        elif python:
            label += f"  ({python})"
        print(f"  {label}: {_entries(len(area.entries))}, {_mb(area.bytes)}, last used {_ago(area.last_used)}")
        entries += len(area.entries)
        modules += sum(e.module_bytes for e in area.entries)
        compiled += sum(e.compiled_bytes for e in area.entries) + sum(cachefiles._size(p) for p in area.strays)
    print(f"total: {_entries(entries)}, {_mb(modules + compiled)} "
          f"(generated modules {_mb(modules)}, compiled code {_mb(compiled)})")
    print(f"entries unused for {cachefiles.max_age_days():g} days are removed, then the least recently "
          f"used above {cachefiles.max_megabytes():g} MB (SRCGRAD_CACHE_MAX_AGE_DAYS, "
          "SRCGRAD_CACHE_MAX_MB; checked at most once a day, when srcgrad writes an entry)")
    return 0


def _cache_clear(args) -> int:
    from .codegen import cachefiles
    from .codegen import compile as cache
    n, freed = cachefiles.clear(this_environment_only=args.this_environment)
    where = cache.cache_dir() if args.this_environment else cache.cache_root()
    print(f"removed {_entries(n)} ({_mb(freed)}) from {where}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m srcgrad", description="srcgrad's command line")
    sub = parser.add_subparsers(dest="cmd", required=True)
    show = sub.add_parser("show", help="print the generated derivative source of a function")
    show.add_argument("target", help="path/to/file.py:function")
    show.add_argument("--argnums", default="0", help="comma-separated argument indices (default 0)")
    show.set_defaults(run=_show)
    cache = sub.add_parser("cache", help="the cache of generated and compiled derivatives",
                           description="Generated modules and Numba's compiled code live in "
                                       "$SRCGRAD_CACHE_DIR, by default $XDG_CACHE_HOME/srcgrad "
                                       "(~/.cache/srcgrad) on Linux, ~/Library/Caches/srcgrad on "
                                       "macOS, %%LOCALAPPDATA%%\\srcgrad on Windows.")
    csub = cache.add_subparsers(dest="action", required=True)
    csub.add_parser("info", help="where the cache is, how many entries and bytes").set_defaults(run=_cache_info)
    clear = csub.add_parser("clear", help="remove srcgrad's files from the cache (other files stay)")
    clear.add_argument("--this-environment", action="store_true",
                       help="only this Python environment's entries")
    clear.set_defaults(run=_cache_clear)
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = args.run(args)
        sys.stdout.flush()
    except _UsageError as exc:
        print(f"python -m srcgrad {args.cmd}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`... | head`): not an error worth a traceback.  Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
