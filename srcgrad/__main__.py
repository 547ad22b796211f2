"""Command line: `python -m srcgrad show path/to/file.py:function [--argnums 0,1]`."""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path


def _load(spec: str):
    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise SystemExit(f"expected path/to/file.py:function, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"no such file: {path}")
    sys.path.insert(0, str(file.resolve().parent))
    mspec = importlib.util.spec_from_file_location(file.stem, file)
    mod = importlib.util.module_from_spec(mspec)
    sys.modules[file.stem] = mod
    mspec.loader.exec_module(mod)
    fn = getattr(mod, name, None)
    if fn is None:
        raise SystemExit(f"{path} has no function {name!r}")
    return getattr(fn, "fun", fn)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m srcgrad")
    sub = parser.add_subparsers(dest="cmd", required=True)
    show = sub.add_parser("show", help="print the generated derivative source of a function")
    show.add_argument("target", help="path/to/file.py:function")
    show.add_argument("--argnums", default="0", help="comma-separated argument indices (default 0)")
    args = parser.parse_args(argv)
    import srcgrad
    fn = _load(args.target)
    nums = tuple(int(a) for a in args.argnums.split(",") if a.strip())
    argnums = nums[0] if len(nums) == 1 and "," not in args.argnums else nums
    try:
        print(srcgrad.grad(fn, argnums=argnums).source)
    except srcgrad.SrcgradError as exc:
        print(f"srcgrad: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
