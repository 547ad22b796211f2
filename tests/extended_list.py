"""Write tests/extended.txt: the tests that run in CI's second job, not in the README's command.

The README's test command is the quick suite (aim: under 4 minutes on 2 cores, issue 20).  Tests
whose call took at least THRESHOLD seconds in a measured run of the quick and extended tests
together are moved to the extended job, which `.ci/run` runs right after the quick suite, so CI
still runs every one of them; `SRCGRAD_LONG=1` runs everything (the `slow` tests too).  A test
not in the list (a new one) runs in the quick suite.  Kept whatever their time: the README's
blocks, the scalar fuzzer, and the NumPy-surface tests (cases are compiled in batches, so a case's
time is its batch's, and the batches are shared within a process: the test of the fraction ok
re-runs every case, 10 s beside the cases and 44 s without them).

    python -m pytest -q -n 2 -m "not slow" --durations=0 > /tmp/durations.txt
    python -m tests.extended_list /tmp/durations.txt [/tmp/newer.txt ...]

Several files: a later one's time for a test replaces an earlier one's (a run of the quick
suite alone measures its tests again, once the extended ones no longer warm the caches).
"""
import re
import sys
from pathlib import Path

THRESHOLD = 1.5
KEEP = ("tests/test_readme.py", "tests/fuzz/test_fuzz.py::", "tests/test_numpy_surface.py::")
LIST = Path(__file__).with_name("extended.txt")
_LINE = re.compile(r"\s*([\d.]+)s (?:call|setup|teardown)\s+(tests/.*\S)\s*$")


def parse(text: str) -> dict:
    """Seconds per node id (call, setup and teardown added) from pytest's --durations output."""
    out: dict = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(2)] = out.get(m.group(2), 0.0) + float(m.group(1))
    return out


def choose(seconds: dict) -> dict:
    return {n: s for n, s in seconds.items() if s >= THRESHOLD and not n.startswith(KEEP)}


def load() -> set:
    if not LIST.exists():
        return set()
    return {line.split("\t", 1)[1] for line in LIST.read_text().splitlines() if "\t" in line and not line.startswith("#")}


def main(paths: list) -> None:
    seconds: dict = {}
    for path in paths:
        seconds.update(parse(Path(path).read_text()))
    chosen = choose(seconds)
    lines = ["# seconds<TAB>node id: CI's extended job (tests/extended_list.py says how this is made)",
             f"# {len(chosen)} of {len(seconds)} tests, {sum(chosen.values()):.0f} s of {sum(seconds.values()):.0f} s "
             "of test time in the measured run"]
    lines += [f"{s:.1f}\t{n}" for n, s in sorted(chosen.items(), key=lambda kv: kv[1], reverse=True)]
    LIST.write_text("\n".join(lines) + "\n")
    print(lines[1][2:])


if __name__ == "__main__":
    main(sys.argv[1:])
