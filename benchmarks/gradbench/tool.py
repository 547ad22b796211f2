"""srcgrad as a GradBench tool: ``python -m benchmarks.gradbench.tool [--form auto|natural|adapted]``.

Speaks GradBench's protocol (one JSON message per line on stdin, one response per line on
stdout; see GradBench's CONTRIBUTING.md, "Protocol"):

- ``start``: answers with the tool name and its configuration.
- ``define``: imports ``benchmarks.gradbench.evals.<module>``, builds the first form that
  srcgrad accepts (``--form auto``: natural, else adapted) and calls every function once on
  the eval's small ``EXAMPLE`` input, which compiles it (srcgrad's source transformation, then
  Numba). Each function's first call is reported as a timing named ``compile (<form> form)``,
  its second as ``warm-up (<form> form)`` (after a cold compile, srcgrad.vectorize's second call
  still costs ~0.3 s once); a form srcgrad refused is reported as ``refused (<form> form)`` and
  its error is written to stderr.
- ``evaluate``: answers ``success: false`` for a function the form lacks (``Function.missing``);
  else runs the function until it has run ``min_runs`` times and for ``min_seconds``
  (when the input has those fields; once otherwise), one ``evaluate`` timing per run. Only the
  call is timed: turning JSON into arrays and results back into JSON is not.
- anything else (``analysis``, ...): answered with its ``id``.

The compile cache starts empty in every process (a fresh ``SRCGRAD_CACHE_DIR``), so the compile
timings are cold compiles, unless ``--cache-dir`` names a directory to reuse.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback


def _timing(name: str, ns: int) -> dict:
    return {"name": name, "nanoseconds": int(ns)}


class Tool:
    def __init__(self, form: str = "auto"):
        self.form = form
        self.modules: dict[str, dict] = {}       # module -> {function name: Function}

    def start(self, message: dict) -> dict:
        import numba
        import srcgrad
        return {"tool": "srcgrad",
                "config": {"form": self.form, "srcgrad": srcgrad.__version__,
                           "numba": numba.__version__,
                           "cache": os.environ.get("SRCGRAD_CACHE_DIR")}}

    def define(self, message: dict) -> dict:
        from .evals import load
        name = message["module"]
        try:
            module = load(name)
        except ModuleNotFoundError as exc:
            return {"success": False, "error": str(exc)}
        forms = [f for f in module.FORMS if self.form in ("auto", f.name)]
        if not forms:
            return {"success": False, "error": f"{name} has no {self.form} form"}
        timings, errors = [], []
        for form in forms:
            t0 = time.perf_counter_ns()
            try:
                functions = form.build()
                compiled = []
                for fname, function in functions.items():
                    if function.missing:
                        continue
                    t = time.perf_counter_ns()
                    function(module.EXAMPLE)
                    compiled.append(_timing(f"compile ({form.name} form)", time.perf_counter_ns() - t))
                for fname, function in functions.items():
                    if not function.missing:
                        t = time.perf_counter_ns()
                        function(module.EXAMPLE)
                        compiled.append(_timing(f"warm-up ({form.name} form)", time.perf_counter_ns() - t))
            except Exception as exc:   # a refusal (SrcgradError) or a crash: try the next form
                timings.append(_timing(f"refused ({form.name} form)", time.perf_counter_ns() - t0))
                text = "".join(traceback.format_exception_only(exc)).strip()
                errors.append(f"{form.name} form: {text}")
                print(f"srcgrad tool: {name}: {form.name} form failed: {text}", file=sys.stderr, flush=True)
                continue
            self.modules[name] = functions
            return {"success": True, "timings": timings + compiled}
        return {"success": False, "timings": timings, "error": "\n".join(errors)}

    def evaluate(self, message: dict) -> dict:
        functions = self.modules.get(message["module"])
        if functions is None:
            return {"success": False, "error": f"module {message['module']!r} was not defined"}
        function = functions.get(message["function"])
        if function is None:
            return {"success": False, "error": f"{message['module']} has no function {message['function']!r}"}
        if function.missing:
            return {"success": False, "error": function.missing}
        input = message["input"]
        runs = input.get("min_runs", 1) if isinstance(input, dict) else 1
        seconds = input.get("min_seconds", 0) if isinstance(input, dict) else 0
        try:
            args = function.prepare(input)
            timings, elapsed = [], 0
            while len(timings) < runs or elapsed < seconds * 1e9:
                t = time.perf_counter_ns()
                out = function.compute(*args)
                dt = time.perf_counter_ns() - t
                timings.append(_timing("evaluate", dt))
                elapsed += dt
            return {"success": True, "output": function.post(out), "timings": timings}
        except Exception as exc:
            return {"success": False, "error": "".join(traceback.format_exception(exc))}

    def respond(self, message: dict) -> dict:
        kind = message.get("kind")
        handler = {"start": self.start, "define": self.define, "evaluate": self.evaluate}.get(kind)
        return {"id": message["id"]} | (handler(message) if handler else {})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gradbench.tool", description=__doc__.splitlines()[0])
    parser.add_argument("--form", choices=("auto", "natural", "adapted"), default="auto",
                        help="which form of each eval to run (auto: natural if srcgrad accepts it)")
    parser.add_argument("--cache-dir", help="srcgrad cache directory to reuse (default: a fresh one)")
    args = parser.parse_args(argv)
    fresh = None
    if args.cache_dir:
        os.environ["SRCGRAD_CACHE_DIR"] = args.cache_dir
    else:
        fresh = tempfile.TemporaryDirectory(prefix="srcgrad-gradbench-")
        os.environ["SRCGRAD_CACHE_DIR"] = fresh.name
    tool = Tool(args.form)
    try:
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(tool.respond(json.loads(line))), flush=True)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        if fresh is not None:
            fresh.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
