"""What the package declares holds: one version source, the licence text, py.typed shipped,
SciPy installed with the main install (the README's subset promises `@` and np.dot)."""
import pathlib
import re

import pytest

import srcgrad

tomllib = pytest.importorskip("tomllib")        # Python >= 3.11
ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_one_version_source():
    assert "version" not in PROJECT["project"] and "version" in PROJECT["project"]["dynamic"]
    assert PROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "srcgrad.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]\d+|rc\d+|\.dev\d+)?", srcgrad.__version__)


def test_licence_file_matches_the_declared_licence():
    assert PROJECT["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c)" in text and "the srcgrad developers" in text
    assert PROJECT["project"]["license-files"] == ["LICENSE"]


def test_py_typed_is_shipped():
    assert (ROOT / "srcgrad" / "py.typed").is_file()
    assert "py.typed" in PROJECT["tool"]["setuptools"]["package-data"]["srcgrad"]


def test_scipy_is_a_main_dependency_and_extras_are_explained():
    assert any(d.startswith("scipy") for d in PROJECT["project"]["dependencies"])
    assert not any(d.startswith("scipy") for d in PROJECT["project"]["optional-dependencies"]["test"])
    text = (ROOT / "pyproject.toml").read_text()
    for package in ("hypothesis", "matplotlib", "dask"):         # which tests need each, said once
        assert re.search(rf"#.*{package}.*: .*tests/", text), package
