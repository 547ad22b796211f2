"""Write generated modules to the cache directory and import them (compiled, cached by Numba).

* Location: `$SRCGRAD_CACHE_DIR`, else the platform's user cache directory + `/srcgrad`
  (`$XDG_CACHE_HOME/srcgrad`, default `~/.cache/srcgrad`, on Linux), then one subdirectory per
  Python environment (`env-<hash>`, see `environment_fingerprint`): compiled code links against
  the environment's Numba, llvmlite, NumPy and SciPy, so one environment never loads another's
  Numba cache (a NumPy `@` compiled where SciPy exists aborts a process without SciPy).
* Each file starts with a checksum line; a truncated or corrupted file is detected and rewritten.
* Writes are atomic (temporary file + rename), so concurrent processes never see half a file.
* An unwritable cache directory falls back to an in-memory module (with a SrcgradWarning);
  Numba then compiles without its on-disk cache.
* Importing a module from the cache marks it used; entries unused for a long time are removed
  now and then (`cachefiles.maybe_prune`, called after a write).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

from ..errors import SrcgradError, SrcgradWarning

CHECK = "# srcgrad-checksum: "
ENV_PREFIX = "env-"
ENV_FILE = "environment.txt"      # what an env-<hash> directory was made for (for `cache info`)

# What compiled code links against: a different version, or another installation of the same
# version, must not share Numba's cache.
LINKED_PACKAGES = ("numba", "llvmlite", "numpy", "scipy")


def cache_root() -> Path:
    """The directory srcgrad owns: `$SRCGRAD_CACHE_DIR`, else the platform's cache directory."""
    env = os.environ.get("SRCGRAD_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "srcgrad"


def _package(name: str) -> str:
    """`name version location`, or `name absent` when it cannot be imported here."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return f"{name} absent"
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown-version"
    return f"{name} {version} {spec.origin}"


@functools.lru_cache(maxsize=1)
def environment_description() -> str:
    """The facts the fingerprint hashes, one a line (also written to the env directory)."""
    lines = [f"python {sys.executable}", f"prefix {sys.prefix}",
             f"version {sys.version.split()[0]} {sys.implementation.cache_tag}",
             f"platform {sys.platform} {platform.machine()}"]
    lines += [_package(name) for name in LINKED_PACKAGES]
    return "\n".join(lines) + "\n"


def environment_fingerprint() -> str:
    """Hash of what generated code links against: the Python executable and prefix, Python's
    version, and the version and location of Numba, llvmlite, NumPy and SciPy (absent is a
    value too).  Computed once per process."""
    return hashlib.sha256(environment_description().encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """This environment's directory of generated modules (Numba's files in its __pycache__)."""
    return cache_root() / f"{ENV_PREFIX}{environment_fingerprint()}"


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
        if not (directory / ENV_FILE).exists():
            _write_atomic(directory, ENV_FILE, environment_description())
        path = _write_atomic(directory, f"{stem}.py", CHECK + _checksum(source) + "\n" + source)
    except OSError as exc:
        warnings.warn(f"srcgrad: cannot write to the cache directory {directory} ({exc}); "
                      "compiling in memory without an on-disk cache (set SRCGRAD_CACHE_DIR to a "
                      "writable directory)", SrcgradWarning, stacklevel=4)
        return None
    from . import cachefiles
    cachefiles.maybe_prune()
    return path


def _write_atomic(directory: Path, name: str, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, directory / name)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return directory / name


def import_module(stem: str, path: Path | None, source: str) -> types.ModuleType:
    name = f"srcgrad_generated.{stem}"
    if name in sys.modules:
        return sys.modules[name]
    _check_linear_algebra(source)
    if path is not None:
        _mark_used(Path(path))
        _drop_broken_numba_cache(Path(path))
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        mod.__srcgrad_source__ = source
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            sys.modules.pop(name, None)
            if not Path(path).exists():     # removed meanwhile (`cache clear`, another's pruning)
                return import_module(stem, write(stem, source), source)
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


def _mark_used(path: Path) -> None:
    """Record the use in the file's access time (its modification time stays: Python's bytecode
    cache checks it), which is what pruning reads."""
    try:
        os.utime(path, (time.time(), path.stat().st_mtime))
    except OSError:
        pass


_LINALG_ATTRS = {"dot", "vdot", "matmul", "linalg"}      # the forward sweep holds the user's call


def _check_linear_algebra(source: str) -> None:
    """Numba compiles `@`, np.dot and np.linalg to calls into SciPy's BLAS/LAPACK: without SciPy
    it fails with a long traceback.  Say so before Numba starts, naming the user's line."""
    if not any(k in source for k in (" @ ", " @= ", "dot", "matmul", "linalg")):
        return          # (decorators are `@name` at the start of a line)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    hit = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.MatMult) or \
                isinstance(node, ast.Attribute) and node.attr in _LINALG_ATTRS:
            if hit is None or node.lineno < hit.lineno:
                hit = node
    missing = _scipy_blas_missing() if hit is not None else None
    if missing is None:
        return
    from .emit import provenance
    where = provenance(source).get(hit.lineno)
    what = "`@`" if not isinstance(hit, ast.Attribute) else f"`{ast.unparse(hit)}`"
    raise SrcgradError(
        f"{what}{f' (from {where})' if where else ''} needs SciPy: Numba compiles matrix products "
        f"and np.linalg to calls into SciPy's BLAS/LAPACK, and SciPy cannot be imported here "
        f"({missing}). Install it: python -m pip install scipy")


def _scipy_blas_missing() -> str | None:
    """None when SciPy's BLAS and LAPACK (what Numba's linear algebra calls) import, else why not."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401
        import scipy.linalg.cython_lapack  # noqa: F401
    except ImportError as exc:
        return str(exc) or type(exc).__name__
    return None
