"""``python -m benchmarks.gradbench``: see benchmarks/gradbench/run.py."""
import sys

from .run import main

sys.exit(main())
