"""`python tests/fuzz/run_long.py [options]` is `python -m tests.fuzz --long [options]`."""
import os
import runpy
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    if "--long" not in sys.argv and "--seeds" not in sys.argv and "--show" not in sys.argv:
        sys.argv.insert(1, "--long")
    runpy.run_module("tests.fuzz", run_name="__main__")
