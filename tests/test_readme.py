"""Every Python code block in the README runs (the README is the front door: keep it true)."""
import importlib
import re
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
RUNNABLE = [b for b in BLOCKS if "import srcgrad" in b]


@pytest.mark.parametrize("i", range(len(RUNNABLE)), ids=[f"block{i}" for i in range(len(RUNNABLE))])
def test_readme_block_runs(i, tmp_path, monkeypatch):
    name = f"readme_block_{i}"
    (tmp_path / f"{name}.py").write_text(RUNNABLE[i])   # srcgrad reads source from files
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module(name)
    finally:
        sys.modules.pop(name, None)
