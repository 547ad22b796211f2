"""What srcgrad keeps in its cache directory, and how it is cleared and aged out.

Layout (`compile.cache_root()`):

    env-<hash>/environment.txt       the Python environment the directory is for
    env-<hash>/<stem>.py             a generated module (first line: its checksum)
    env-<hash>/__pycache__/<stem>.*  Numba's compiled code for it (.nbi index, .nbc data), .pyc
    .last-prune                      when pruning last ran (its modification time)

Files directly in the root (`<stem>.py`, `__pycache__/<stem>.*`) are entries of srcgrad
versions before the per-environment directories; they are counted, cleared and pruned too.
With `NUMBA_CACHE_DIR` set, Numba keeps its files there instead of in `__pycache__`; those of
srcgrad's directories are included.

Only files srcgrad made are touched: a generated module is recognised by its checksum line,
Numba's and Python's files by the generated module's name, so a cache directory pointed at a
folder that holds other files loses none of them.

Aging: importing an entry sets its file's access time (`compile._mark_used`).  After srcgrad
writes a new entry, at most once a day, entries unused for `SRCGRAD_CACHE_MAX_AGE_DAYS` days
(default 30) are removed, and then the least recently used ones while the whole cache is over
`SRCGRAD_CACHE_MAX_MB` megabytes (default 2000).  0 disables either limit.
"""
from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import compile as _compile

DAY = 86400.0
PRUNE_STAMP = ".last-prune"
DEFAULT_MAX_AGE_DAYS = 30.0
DEFAULT_MAX_MB = 2000.0
_NUMBA_SUFFIXES = (".nbi", ".nbc")
_ENV_DIR = re.compile(re.escape(_compile.ENV_PREFIX) + "[0-9a-f]{16}")


@dataclass
class Entry:
    """One generated module and the files compiled from it."""

    stem: str
    module: Path
    companions: list[Path] = field(default_factory=list)   # Numba's .nbi/.nbc, Python's .pyc
    module_bytes: int = 0
    compiled_bytes: int = 0
    last_used: float = 0.0

    @property
    def bytes(self) -> int:
        return self.module_bytes + self.compiled_bytes

    @property
    def files(self) -> list[Path]:
        return [self.module, *self.companions]


@dataclass
class Area:
    """A directory of entries: one Python environment's, or the root's (older layout)."""

    path: Path
    entries: list[Entry]
    strays: list[Path]          # srcgrad's other files here: temporary files, orphaned compiled code
    description: str = ""       # environment.txt
    legacy: bool = False

    @property
    def bytes(self) -> int:
        return sum(e.bytes for e in self.entries) + sum(_size(p) for p in self.strays)

    @property
    def last_used(self) -> float:
        return max((e.last_used for e in self.entries), default=0.0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _is_generated(path: Path, st: os.stat_result) -> bool:
    """Whether the file starts with srcgrad's checksum line.  Reading it would make it look used
    (Linux's relatime updates the access time of a file read after a day), so the access time
    is put back."""
    try:
        with open(path, encoding="utf-8") as fh:
            mine = fh.readline().startswith(_compile.CHECK)
    except (OSError, UnicodeDecodeError):
        return False
    try:
        if os.stat(path).st_atime_ns != st.st_atime_ns:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    except OSError:
        pass
    return mine


def _numba_dirs(directory: Path) -> list[Path]:
    """Where Numba keeps compiled code of modules in `directory`: its __pycache__, and the
    directory Numba derives from it under NUMBA_CACHE_DIR when that is set."""
    dirs = [directory / "__pycache__"]
    numba_cache = os.environ.get("NUMBA_CACHE_DIR")
    if numba_cache:
        try:
            from numba.core.caching import _CacheLocator
            sub = _CacheLocator.get_suitable_cache_subpath(str(directory / "x.py"))
            dirs.append(Path(numba_cache) / sub)
        except Exception:       # a Numba without this helper: its __pycache__ only
            pass
    return dirs


def _compiled_stem(name: str) -> str | None:
    """The generated module a compiled file belongs to (`<stem>.<qualname>-<line>.py311.nbi`,
    `<stem>.cpython-311.pyc`), or None for a file that is no such thing."""
    if not (name.endswith(_NUMBA_SUFFIXES) or name.endswith(".pyc")):
        return None
    stem = name.split(".", 1)[0]
    return stem or None


def _scan(directory: Path, legacy: bool) -> Area | None:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    entries: dict[str, Entry] = {}
    strays: list[Path] = []
    for name in names:
        path = directory / name
        if name.endswith(".py"):
            try:
                st = path.stat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or not _is_generated(path, st):
                continue
            entries[name[:-3]] = Entry(name[:-3], path, module_bytes=st.st_size,
                                       last_used=max(st.st_atime, st.st_mtime))
        elif name.startswith(".") and name.endswith(".tmp") and (not legacy or name.count(".") >= 3):
            strays.append(path)         # a write that did not finish: `.<stem>.py.<random>.tmp`
    for cdir in _numba_dirs(directory):
        try:
            cnames = sorted(os.listdir(cdir))
        except OSError:
            continue
        for name in cnames:
            stem = _compiled_stem(name)
            if stem is None:
                continue
            path = cdir / name
            if stem in entries:
                entries[stem].companions.append(path)
                entries[stem].compiled_bytes += _size(path)
            elif not legacy:            # every compiled file in an env directory is srcgrad's
                strays.append(path)
    if legacy and not entries and not strays:
        return None
    description = ""
    if not legacy:
        try:
            description = (directory / _compile.ENV_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
    return Area(directory, list(entries.values()), strays, description, legacy)


def areas(root: Path | None = None) -> list[Area]:
    """Every directory of entries under the cache root: environments first, then the root's
    own entries of the older layout if any."""
    root = _compile.cache_root() if root is None else Path(root)
    out = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return out
    for name in names:
        path = root / name
        if _ENV_DIR.fullmatch(name) and path.is_dir():
            area = _scan(path, legacy=False)
            if area is not None:
                out.append(area)
    legacy = _scan(root, legacy=True)
    if legacy is not None:
        out.append(legacy)
    return out


def _remove(path: Path) -> int:
    """Delete a file; its size, or 0 if it was not there."""
    try:
        size = path.stat().st_size
        os.remove(path)
        return size
    except OSError:
        return 0


def _remove_empty_dirs(area: Area) -> None:
    if area.legacy:
        dirs = _numba_dirs(area.path)
    else:
        env_file = area.path / _compile.ENV_FILE
        try:
            leftover = set(os.listdir(area.path)) - {_compile.ENV_FILE, "__pycache__"}
        except OSError:
            leftover = {"?"}
        if not leftover and not any(area.path.glob("__pycache__/*")):
            _remove(env_file)
        dirs = [*_numba_dirs(area.path), area.path]
    for d in dirs:
        try:
            d.rmdir()                   # only when empty
        except OSError:
            pass


def clear(root: Path | None = None, this_environment_only: bool = False) -> tuple[int, int]:
    """Remove srcgrad's files from the cache; (entries removed, bytes freed).  Other files in
    the directory stay.  Processes using the cache should not be running."""
    root = _compile.cache_root() if root is None else Path(root)
    mine = _compile.cache_dir().resolve() if this_environment_only else None
    n = freed = 0
    for area in areas(root):
        if mine is not None and area.path.resolve() != mine:
            continue
        for entry in area.entries:
            for f in entry.files:
                freed += _remove(f)
            n += 1
        for f in area.strays:
            freed += _remove(f)
        _remove_empty_dirs(area)
    if mine is None:
        _remove(root / PRUNE_STAMP)
    return n, freed


def _limit(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def max_age_days() -> float:
    return _limit("SRCGRAD_CACHE_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS)


def max_megabytes() -> float:
    return _limit("SRCGRAD_CACHE_MAX_MB", DEFAULT_MAX_MB)


def prune(root: Path | None = None, max_age: float | None = None, max_bytes: float | None = None,
          now: float | None = None) -> tuple[int, int]:
    """Remove entries unused for `max_age` seconds, then the least recently used while the cache
    holds more than `max_bytes` (0 or None from the environment: see the module docstring; 0
    disables a limit).  Also removes temporary files older than a day and compiled code whose
    module is gone.  (entries removed, bytes freed)."""
    root = _compile.cache_root() if root is None else Path(root)
    now = time.time() if now is None else now
    max_age = max_age_days() * DAY if max_age is None else max_age
    max_bytes = max_megabytes() * 1e6 if max_bytes is None else max_bytes
    n = freed = 0
    found = areas(root)
    for area in found:
        for f in area.strays:
            try:
                stale = f.suffix != ".tmp" or now - f.stat().st_mtime > DAY
            except OSError:
                stale = False
            if stale:
                freed += _remove(f)
    live = [(e, a) for a in found for e in a.entries]
    total = sum(e.bytes for e, _ in live)
    live.sort(key=lambda ea: ea[0].last_used)        # least recently used first
    for entry, _area in live:
        too_old = max_age > 0 and now - entry.last_used > max_age
        too_big = max_bytes > 0 and total > max_bytes
        if not (too_old or too_big):
            break       # the rest were used more recently, and the total fits
        for f in entry.files:
            freed += _remove(f)
        total -= entry.bytes
        n += 1
    for area in found:
        _remove_empty_dirs(area)
    return n, freed


def maybe_prune(root: Path | None = None, now: float | None = None) -> bool:
    """Prune if the last prune is more than a day old (or never ran); True if it ran.  Called
    after each write; errors are ignored (pruning is housekeeping, never a failure)."""
    root = _compile.cache_root() if root is None else Path(root)
    now = time.time() if now is None else now
    stamp = root / PRUNE_STAMP
    try:
        if now - stamp.stat().st_mtime < DAY:
            return False
    except FileNotFoundError:
        pass
    except OSError:
        return False
    try:
        stamp.touch()
        os.utime(stamp, (now, now))     # claim this day's prune before the slow part
        prune(root, now=now)
    except Exception:
        return False
    return True
