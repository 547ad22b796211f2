"""The suite's own configuration: the slow tables in conftest.py name tests that exist."""
import ast
import pathlib

from . import conftest, corpus

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _functions(path):
    tree = ast.parse((ROOT / path).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_slow_tables_name_existing_tests_and_cases():
    names = {f.__name__ for f in corpus.FUNCTIONS}
    for key in [*conftest.SLOW_TESTS, *conftest.SLOW_CASES]:
        path, _, test = key.partition("::")
        assert (ROOT / path).is_file(), key
        if test:
            assert test.split("[", 1)[0] in _functions(path), key
    for key, keep in conftest.SLOW_CASES.items():
        assert keep and keep <= names, (key, keep - names)     # ids of corpus functions
