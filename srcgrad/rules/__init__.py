"""Derivative rules: one declarative stanza per primitive.

`registry.py` is the mechanism (and the public front door for rule authors, via
`srcgrad.extend`); `operators.py`, `elementwise.py` (math and NumPy twins, written once), `scalar_math.py`
(math-only and builtins) and `numpy_rules.py` (NumPy-only) are the tables.
Importing this package registers every built-in rule.
"""
from .registry import RULES, Rule, all_rules, lookup, lookup_operator  # noqa: F401
from . import operators, elementwise, scalar_math, numpy_rules, runtime_rules, linalg, composites, refused  # noqa: F401  (registration side effects)
