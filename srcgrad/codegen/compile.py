"""Write generated modules to the cache directory and import them (compiled, cached by Numba).

* Location: `$SRCGRAD_CACHE_DIR`, else the platform's user cache directory + `/srcgrad`.
* Each file starts with a checksum line; a truncated or corrupted file is detected and rewritten.
* Writes are atomic (temporary file + rename), so concurrent processes never see half a file.
* An unwritable cache directory falls back to an in-memory module (with a SrcgradWarning);
  Numba then compiles without its on-disk cache.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import types
import warnings
from pathlib import Path

from ..errors import SrcgradWarning

CHECK = "# srcgrad-checksum: "


def cache_dir() -> Path:
    env = os.environ.get("SRCGRAD_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "srcgrad"


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def path_for(stem: str) -> Path:
    return cache_dir() / f"{stem}.py"


def read_valid(stem: str) -> str | None:
    """The cached source for `stem` if present and intact, else None."""
    path = path_for(stem)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    first, _, rest = text.partition("\n")
    if not first.startswith(CHECK) or first[len(CHECK):].strip() != _checksum(rest):
        return None
    return rest


def write(stem: str, source: str) -> Path | None:
    """Atomically write the module; return its path, or None when the directory is unusable."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(CHECK + _checksum(source) + "\n" + source)
        os.replace(tmp, directory / f"{stem}.py")
        return directory / f"{stem}.py"
    except OSError as exc:
        warnings.warn(f"srcgrad: cannot write to the cache directory {directory} ({exc}); "
                      "compiling in memory without an on-disk cache (set SRCGRAD_CACHE_DIR to a "
                      "writable directory)", SrcgradWarning, stacklevel=4)
        return None


def import_module(stem: str, path: Path | None, source: str) -> types.ModuleType:
    name = f"srcgrad_generated.{stem}"
    if name in sys.modules:
        return sys.modules[name]
    if path is not None:
        _drop_broken_numba_cache(Path(path))
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        mod.__srcgrad_source__ = source
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return mod
    mod = types.ModuleType(name)
    mod.__file__ = f"<srcgrad {stem}>"
    mod.__srcgrad_source__ = source
    code = compile(source, mod.__file__, "exec")
    sys.modules[name] = mod
    exec(code, mod.__dict__)
    return mod


def _drop_broken_numba_cache(path: Path) -> None:
    """Numba unpickles its own cache files (index .nbi: two pickles, data .nbc: one) without a
    check, so a truncated one would crash the first call; delete broken ones to recompile."""
    import glob
    import pickletools

    def ok(data, count):
        pos = 0
        try:
            for _ in range(count):
                last = None
                for op, _arg, at in pickletools.genops(data[pos:]):
                    last = (op.name, at)
                if last is None or last[0] != "STOP":
                    return False
                pos += last[1] + 1
        except Exception:
            return False
        return True

    pattern = str(path.parent / "__pycache__" / (glob.escape(path.stem) + ".*.nb[ci]"))
    for f in glob.glob(pattern):
        try:
            with open(f, "rb") as fh:
                good = ok(fh.read(), 2 if f.endswith(".nbi") else 1)
            if not good:
                os.remove(f)
        except OSError:
            pass
