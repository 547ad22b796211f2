"""Property-based fuzzing of srcgrad against an independent oracle (CPython + finite differences).

    pytest tests/fuzz                      # the CI budget (about a minute)
    python -m tests.fuzz --long            # the long mode (see run_long.py for options)
"""
