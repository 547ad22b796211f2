"""GradBench's own ``jax`` and ``pytorch`` tools, started so that they are timed honestly here:
``python -m benchmarks.gradbench.peers jax|pytorch`` (with GradBench's ``python/gradbench`` on
``PYTHONPATH``; the runner sets it).

Nothing of GradBench's code is copied: this imports its tool and runs its ``main``, after two
changes to how it is timed.

- **jax**: GradBench's jax tool times ``f(input)`` and converts the result to JSON after the
  timer stops; JAX dispatches asynchronously, so on the CPU that measures dispatch, not work.
  Here every timed call is ``jax.block_until_ready(f(input))``: the decorators of
  ``gradbench.wrap`` are wrapped before the tool's modules are imported, so the timed region is
  the call and the wait for its result, nothing else. (The tool itself pins the process to one
  CPU.)
- **pytorch**: one intra-op thread (``torch.set_num_threads(1)``; the runner also sets
  ``OMP_NUM_THREADS=1``), as the other tools run single-threaded.
"""
from __future__ import annotations

import os
import sys
from importlib import import_module
from pathlib import Path


def _synchronous(make_decorator, block):
    """``gradbench.wrap.multiple_runs``/``function`` whose timed call also waits for the result."""
    def factory(*args, **kwargs):
        decorate = make_decorator(*args, **kwargs)

        def decorator(function):
            from gradbench import wrap
            timed = decorate(lambda input: block(function(input)))
            return wrap.Wrapped(function=function, wrapped=timed.wrapped)
        return decorator
    return factory


def _tool_dir(name: str) -> Path:
    import gradbench
    return Path(gradbench.__file__).resolve().parent / "tools" / name


def run_jax(argv) -> None:
    import jax
    from gradbench import wrap
    wrap.multiple_runs = _synchronous(wrap.multiple_runs, jax.block_until_ready)
    wrap.function = _synchronous(wrap.function, jax.block_until_ready)
    sys.path.insert(0, str(_tool_dir("jax")))          # the tool imports its eval modules by name
    sys.argv = ["jax", *argv]
    import_module("gradbench.tools.jax.run").main()


def run_pytorch(argv) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, str(_tool_dir("pytorch")))
    sys.argv = ["pytorch", *argv]
    import_module("gradbench.tools.pytorch.run").main()


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("jax", "pytorch"):
        print("usage: python -m benchmarks.gradbench.peers jax|pytorch [tool options]", file=sys.stderr)
        return 2
    {"jax": run_jax, "pytorch": run_pytorch}[argv[0]](argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
