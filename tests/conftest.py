"""Test-suite set-up: every test session compiles into its own fresh cache directory, so a
stale cache from a previous run can never make a test pass."""
import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="srcgrad-test-cache-")
os.environ.setdefault("SRCGRAD_CACHE_DIR", _CACHE)
