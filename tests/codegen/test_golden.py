"""Golden snapshots of generated source: codegen changes show up as diffs in review.

Regenerate with `SRCGRAD_UPDATE_GOLDEN=1 python -m pytest tests/codegen/test_golden.py`.
"""
import os
from pathlib import Path

import pytest

import srcgrad

from .. import golden_functions as gf

GOLDEN = Path(__file__).parent.parent / "golden"
CASES = [(gf.linear_carry, (0, 1)), (gf.nonlinear_carry, (0, 1)), (gf.branchy, (0, 1)),
         (gf.computation_graph, (0, 1)), (gf.huber, (0, 1))]


def _body(source: str) -> str:
    # drop the module docstring/header (it names the srcgrad version)
    return source[source.index("@_jit"):]


@pytest.mark.parametrize("fn,argnums", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_golden(fn, argnums):
    got = _body(srcgrad.grad(fn, argnums=argnums).source)
    path = GOLDEN / f"{fn.__name__}.py.txt"
    if os.environ.get("SRCGRAD_UPDATE_GOLDEN") or not path.exists():
        path.write_text(got)
    assert got == path.read_text()


def test_linear_carry_saves_nothing_and_nonlinear_saves_s_once():
    lin = srcgrad.grad(gf.linear_carry, argnums=(0, 1))
    non = srcgrad.grad(gf.nonlinear_carry, argnums=(0, 1))
    assert not lin.uses_stacks and "_fs" not in _body(lin.source)
    body = _body(non.source)
    assert body.count("_fs[_fp] = ") == 1 and "_fs[_fp] = s\n" in body
    assert "_is[_ip] = " not in body
    # the stack is reserved once at loop entry, sized by the trip count
    assert "if _fp + _trips * 1 > _fs.shape[0]:\n        _fs = _rt.grow(_fs, _fp + _trips * 1)" in body


def test_generated_code_is_deterministic(tmp_path, monkeypatch):
    from srcgrad.pipeline import transform
    a = transform(gf.nonlinear_carry, (0, 1), False)
    b = transform(gf.nonlinear_carry, (0, 1), False)
    assert a == b
