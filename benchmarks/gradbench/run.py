"""Run GradBench's evals against tools, without Docker or GradBench's Rust CLI.

    python -m benchmarks.gradbench --gradbench /path/to/gradbench \\
        --evals hello,lse,llsq --tools manual,jax,pytorch,srcgrad

For every (eval, tool) pair this starts the eval (``python/gradbench/gradbench/evals/<eval>/run.py``
of the GradBench checkout, which validates every output against GradBench's C++ ``manual``
tool) and the tool, both in the checkout's root, relays each message of the eval to the tool and
each response back, and writes the session in GradBench's log format (one JSON object a line,
``{"elapsed": {"nanoseconds": ...}, "message"|"response": ...}``) to
``benchmarks/results/gradbench-<date>/<eval>-<tool>.jsonl`` (stderr of both processes beside it).
Then it prints the table: eval x workload x tool, valid, primal and derivative time and their
ratio. A time is the median of the ``evaluate`` timings of one message (GradBench's own scorer
takes the mean; the median keeps out JAX's compile for each new input shape, which its tool
does inside the first timed call; every timing is in the log).

Tools: ``manual`` (GradBench's C++ reference, built in the checkout beforehand), ``jax`` and
``pytorch`` (GradBench's own, through benchmarks/gradbench/peers.py: JAX timed with
``block_until_ready``, PyTorch with one thread), and ``srcgrad`` (benchmarks/gradbench/tool.py).
Every tool runs with ``OMP_NUM_THREADS=1`` and ``NUMBA_NUM_THREADS=1``.

Sizes: by default each eval gets workloads that let a sweep of all twelve evals with these four
tools finish in about 20 minutes on a 2-core machine (``DEFAULT_ARGS``); ``--full`` passes no
size arguments, so the evals use GradBench's own defaults (hours); ``--quick`` the smallest
workloads, one run each (a smoke test).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"

EVALS = ("hello", "lse", "llsq", "ode", "det", "kmeans", "gmm", "ba", "ht", "lstm", "particle", "saddle")
TOOLS = ("manual", "jax", "pytorch", "srcgrad")

# (primal, derivative) function names, as GradBench's scorer reads them; particle and saddle
# have four equivalent derivative functions and no primal.
FUNCTIONS = {
    "hello": ("square", "double"),
    "lse": ("primal", "gradient"), "llsq": ("primal", "gradient"), "ode": ("primal", "gradient"),
    "det": ("primal", "gradient"), "kmeans": ("cost", "dir"),
    "gmm": ("objective", "jacobian"), "ba": ("objective", "jacobian"),
    "ht": ("objective", "jacobian"), "lstm": ("objective", "jacobian"),
    "particle": (None, ("rr", "rf", "fr", "ff")), "saddle": (None, ("rr", "rf", "fr", "ff")),
}

# Eval arguments of the default (machine-sized) sweep; --full uses none.
RUNS = ["--min-runs", "3", "--min-seconds", "0.3"]
DEFAULT_ARGS = {
    "hello": [],
    "lse": ["-n", "10000", "100000", *RUNS],
    "llsq": ["-n", "1024", "16392", "-m", "128", *RUNS],
    "ode": ["-n", "1000", "10000", "-s", "10", *RUNS],
    "det": ["-l", "7", "9", *RUNS],
    "kmeans": ["-k", "10", "100", "-n", "10000", "-d", "8", *RUNS],
    "gmm": ["-d", "10", "20", "-k", "25", "-n", "1000", *RUNS],
    # one run each: PyTorch's BA Jacobian takes over two minutes on ba1, its HT Jacobian ~15 s
    "ba": ["--min", "1", "--max", "1", "--min-runs", "1", "--min-seconds", "0"],
    "ht": ["--min", "1", "--max", "2", "--model", "small", "--min-runs", "1", "--min-seconds", "0"],
    "lstm": ["-l", "2", "4", "-c", "1024", *RUNS],
    "particle": RUNS,
    "saddle": RUNS,
}


def tool_command(tool: str, gradbench: Path) -> list[str]:
    py = sys.executable
    if tool == "manual":
        return [py, str(gradbench / "python/gradbench/gradbench/cpp.py"), "manual"]
    if tool in ("jax", "pytorch"):
        return [py, "-m", "benchmarks.gradbench.peers", tool]
    if tool == "srcgrad":
        return [py, "-m", "benchmarks.gradbench.tool"]
    raise SystemExit(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")


# Eval arguments of --quick: the smallest workloads, one run each (a smoke test: seconds per eval
# besides compiling).
ONCE = ["--min-runs", "1", "--min-seconds", "0"]
QUICK_ARGS = {
    "hello": [], "lse": ["-n", "100", "1000", *ONCE], "llsq": ["-n", "16", "64", "-m", "8", *ONCE],
    "ode": ["-n", "10", "100", "-s", "2", *ONCE], "det": ["-l", "3", "5", *ONCE],
    "kmeans": ["-k", "3", "-n", "30", "-d", "2", *ONCE], "gmm": ["-d", "2", "3", "-k", "3", "-n", "20", *ONCE],
    "ba": ["--min", "1", "--max", "1", *ONCE], "ht": ["--min", "1", "--max", "1", "--model", "small", *ONCE],
    "lstm": ["-l", "2", "-c", "64", *ONCE], "particle": ONCE, "saddle": ONCE,
}
SIZES = {"default": DEFAULT_ARGS, "quick": QUICK_ARGS, "full": {}}


def eval_command(name: str, gradbench: Path, sizes: str = "default") -> list[str]:
    script = gradbench / "python/gradbench/gradbench/evals" / name / "run.py"
    if not script.is_file():
        raise SystemExit(f"no eval {name!r} in {gradbench} ({script} is missing)")
    return [sys.executable, str(script), *SIZES[sizes].get(name, [])]


def environment(gradbench: Path) -> dict:
    env = dict(os.environ)
    paths = [str(REPO), str(gradbench / "python" / "gradbench")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["OMP_NUM_THREADS"] = "1"
    env["NUMBA_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ------------------------------------------------------------------------------------ session

@dataclass
class Evaluation:
    function: str
    description: str
    success: bool = False
    seconds: list[float] = field(default_factory=list)     # one per "evaluate" timing
    valid: bool | None = None
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


@dataclass
class Session:
    eval: str
    tool: str
    outcome: str = "success"        # success | undefined | failure | invalid | timeout | error
    defined: bool | None = None
    define_timings: list[dict] = field(default_factory=list)
    define_error: str | None = None
    evaluations: dict[int, Evaluation] = field(default_factory=dict)
    wall: float = 0.0
    note: str = ""

    @property
    def valid(self) -> str:
        checked = [e for e in self.evaluations.values() if e.valid is not None]
        if not self.defined:
            return "not defined"
        ok = sum(1 for e in checked if e.valid)
        failed = sum(1 for e in self.evaluations.values() if not e.success)
        text = f"{ok}/{len(self.evaluations)} valid"
        if failed:
            text += f", {failed} failed"
        if self.outcome == "timeout":
            text += ", timeout"
        return text

    @property
    def form(self) -> str:
        for t in self.define_timings:
            name = t.get("name", "")
            if name.startswith("compile (") and name.endswith(" form)"):
                return name[len("compile ("):-len(" form)")]
        return ""

    @property
    def compile_seconds(self) -> float:
        return sum(t["nanoseconds"] for t in self.define_timings
                   if t.get("name", "").startswith("compile")) / 1e9


class _Lines:
    """Lines of a pipe read by a thread, so that a read can time out."""

    def __init__(self, stream):
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.queue.put(line)
        self.queue.put(None)

    def get(self, timeout: float | None):
        return self.queue.get(timeout=timeout)


def run_session(eval_cmd, tool_cmd, *, cwd: Path, env: dict, log: Path, eval_name: str,
                tool_name: str, timeout: float | None, echo=None) -> Session:
    """Relay messages between one eval and one tool until the eval ends; log and summarise."""
    session = Session(eval_name, tool_name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out, open(log.with_suffix(".eval.stderr"), "w") as eerr, \
            open(log.with_suffix(".tool.stderr"), "w") as terr:
        ev = subprocess.Popen(eval_cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=eerr, text=True, start_new_session=True)
        tl = subprocess.Popen(tool_cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=terr, text=True, start_new_session=True)
        tool_lines = _Lines(tl.stdout)
        start = time.perf_counter_ns()
        messages: dict[int, dict] = {}
        invalid = failed = undefined = 0
        try:
            for line in ev.stdout:
                if not line.strip():
                    continue
                sent = time.perf_counter_ns()
                message = json.loads(line)
                out.write(json.dumps({"elapsed": {"nanoseconds": sent - start}, "message": message}) + "\n")
                out.flush()
                messages[message["id"]] = message
                if message.get("kind") == "analysis":
                    e = session.evaluations.get(message["of"])
                    if e is not None:
                        e.valid, e.error = message["valid"], message.get("error")
                        invalid += not message["valid"]
                        if echo:
                            echo(f"    {e.function} {e.description}: {'valid' if e.valid else 'INVALID'}")
                tl.stdin.write(line if line.endswith("\n") else line + "\n")
                tl.stdin.flush()
                try:
                    reply = tool_lines.get(timeout)
                except queue.Empty:
                    session.outcome = "timeout"
                    session.note = f"no response within {timeout:g} s to message {message['id']}"
                    break
                if reply is None:
                    try:
                        status = tl.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        status = None
                    session.outcome = "error"
                    session.note = f"the tool exited (status {status}) before answering message {message['id']}"
                    break
                received = time.perf_counter_ns()
                response = json.loads(reply)
                out.write(json.dumps({"elapsed": {"nanoseconds": received - start}, "response": response}) + "\n")
                out.flush()
                kind = message.get("kind")
                if kind == "define":
                    session.defined = bool(response.get("success"))
                    session.define_timings = response.get("timings") or []
                    session.define_error = response.get("error")
                    undefined += not session.defined
                elif kind == "evaluate":
                    e = Evaluation(message["function"], message.get("description") or "",
                                   bool(response.get("success")),
                                   [t["nanoseconds"] / 1e9 for t in response.get("timings") or []
                                    if t.get("name") == "evaluate"],
                                   error=response.get("error"))
                    session.evaluations[message["id"]] = e
                    failed += not e.success
                    if echo:
                        t = f"{e.median * 1e3:.3f} ms x {len(e.seconds)}" if e.seconds else "failed"
                        echo(f"    {e.function} {e.description}: {t}")
                ev.stdin.write(reply if reply.endswith("\n") else reply + "\n")
                ev.stdin.flush()
        except (BrokenPipeError, json.JSONDecodeError) as exc:
            session.outcome, session.note = "error", f"{type(exc).__name__}: {exc}"
        finally:
            for p in (ev, tl):
                try:
                    p.stdin.close()
                except OSError:
                    pass
            for p in (tl, ev):
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
                    p.wait()
        session.wall = (time.perf_counter_ns() - start) / 1e9
        if session.outcome == "success":
            session.outcome = ("undefined" if undefined else "failure" if failed
                               else "invalid" if invalid else "success")
    return session


# -------------------------------------------------------------------------------------- table

def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def rows(sessions: list[Session]) -> list[dict]:
    """One row per (eval, workload, tool): primal and derivative median times and their ratio."""
    out = []
    for s in sessions:
        primal, derivative = FUNCTIONS.get(s.eval, (None, None))
        derivs = derivative if isinstance(derivative, tuple) else (derivative,)
        workloads: dict[str, dict] = {}
        for e in s.evaluations.values():
            w = workloads.setdefault(e.description, {"primal": None, "derivative": {}, "valid": {}})
            if e.function == primal and e.success:
                w["primal"] = e.median
            elif e.function in derivs and e.success:
                w["derivative"][e.function] = e.median
            w["valid"][e.function] = "✓" if e.success and e.valid else "✗" if e.success else "failed"
        if not workloads:
            out.append({"eval": s.eval, "workload": "", "tool": s.tool, "valid": s.valid,
                        "primal": None, "derivative": None, "ratio": None, "session": s})
        for desc, w in workloads.items():
            if len(derivs) > 1:
                for fn in derivs:
                    out.append({"eval": s.eval, "workload": f"{desc} {fn}".strip(), "tool": s.tool,
                                "valid": w["valid"].get(fn, "—"),
                                "primal": None, "derivative": w["derivative"].get(fn), "ratio": None,
                                "session": s})
                continue
            d = w["derivative"].get(derivs[0])
            ratio = d / w["primal"] if d is not None and w["primal"] else None
            out.append({"eval": s.eval, "workload": desc, "tool": s.tool,
                        "valid": " / ".join(w["valid"].values()),
                        "primal": w["primal"], "derivative": d, "ratio": ratio, "session": s})
    return out


def markdown(sessions: list[Session]) -> str:
    lines = ["| eval | workload | tool | valid | primal | derivative | derivative / primal |",
             "|---|---|---|---|---|---|---|"]
    for r in rows(sessions):
        s = r["session"]
        if not s.defined:
            why = "not implemented" if s.defined is False else s.outcome
            lines.append(f"| {r['eval']} | | {r['tool']} | {why} | | | |")
            continue
        tool = r["tool"] + (f" ({s.form})" if s.form == "adapted" else "")
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "—"
        lines.append(f"| {r['eval']} | {r['workload']} | {tool} | {r['valid']} | {fmt_seconds(r['primal'])} "
                     f"| {fmt_seconds(r['derivative'])} | {ratio} |")
    return "\n".join(lines)


def summary(sessions: list[Session]) -> str:
    """eval x tool: outcome, and for srcgrad the form and its cold compile time."""
    lines = ["| eval | tool | outcome | messages | define (compile) | wall |", "|---|---|---|---|---|---|"]
    for s in sessions:
        comp = f"{s.compile_seconds:.1f} s ({s.form})" if s.form else ""
        note = f" ({s.note})" if s.note else ""
        lines.append(f"| {s.eval} | {s.tool} | {s.outcome}{note} | {s.valid} | {comp} | {s.wall:.0f} s |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------- main

def check_checkout(gradbench: Path, evals) -> None:
    if not (gradbench / "python/gradbench/gradbench/eval.py").is_file():
        raise SystemExit(f"{gradbench} is not a GradBench checkout (python/gradbench/gradbench/eval.py is missing)")
    if not (gradbench / "tools/manual/bin/hello").exists():
        raise SystemExit(f"GradBench's manual tool is not built in {gradbench} (the evals validate against it): "
                         "build it there as GradBench's README says (make -C cpp && make -C tools/manual)")
    corpus = gradbench / "evals/lstm/data/lstm_full.txt"
    if "lstm" in evals and not corpus.is_file():
        raise SystemExit(f"{corpus} is missing (a large file a GradBench snapshot may lack); the lstm eval reads "
                         "it as its text corpus: any ASCII text file of that name lets it run")


def sweep(gradbench: Path, evals, tools, *, sizes: str = "default", out: Path, timeout: float | None = 900.0,
          echo=None) -> list[Session]:
    """Run every eval against every tool (one session each, in order); the logs go to ``out``."""
    gb = Path(gradbench).resolve()
    for t in tools:
        tool_command(t, gb)
    check_checkout(gb, evals)
    env = environment(gb)
    sessions = []
    for e in evals:
        ecmd = eval_command(e, gb, sizes)
        for t in tools:
            if echo:
                echo(f"{e} x {t}")
            s = run_session(ecmd, tool_command(t, gb), cwd=gb, env=env, log=Path(out) / f"{e}-{t}.jsonl",
                            eval_name=e, tool_name=t, timeout=timeout, echo=echo)
            if echo:
                echo(f"  -> {s.outcome}, {s.valid}, {s.wall:.1f} s" + (f" ({s.note})" if s.note else ""))
            sessions.append(s)
    return sessions


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.gradbench", description=__doc__.split("\n\n")[0])
    p.add_argument("--gradbench", type=Path, default=os.environ.get("GRADBENCH_DIR"),
                   help="GradBench checkout (default: $GRADBENCH_DIR)")
    p.add_argument("--evals", default=",".join(EVALS), help="comma-separated evals (default: all twelve)")
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools (default: %(default)s)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="GradBench's own (full) sizes instead of the machine-sized ones")
    size.add_argument("--quick", action="store_true", help="the smallest sizes, one run each (a smoke test)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for one tool response (default 900)")
    p.add_argument("--out", type=Path, help="directory for the logs (default: benchmarks/results/gradbench-<time>)")
    p.add_argument("--quiet", action="store_true", help="print only the tables")
    args = p.parse_args(argv)
    if args.gradbench is None:
        p.error("give the GradBench checkout with --gradbench or $GRADBENCH_DIR")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = "full" if args.full else "quick" if args.quick else "default"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = args.out or RESULTS / f"gradbench-{stamp}"
    echo = None if args.quiet else (lambda text: print(text, flush=True))
    t0 = time.time()
    sessions = sweep(args.gradbench, [e for e in args.evals.split(",") if e],
                     [t for t in args.tools.split(",") if t], sizes=sizes, out=out, timeout=args.timeout, echo=echo)
    report = (f"GradBench sweep, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
              f"{time.time() - t0:.0f} s, {sizes} sizes, logs in {out}\n\n"
              f"{summary(sessions)}\n\n{markdown(sessions)}\n")
    (Path(out) / "table.md").write_text(report)
    print(report)
    return 0 if all(s.outcome == "success" or not s.defined for s in sessions) else 1
