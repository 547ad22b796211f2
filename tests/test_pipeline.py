"""srcgrad/pipeline.py: one list of stages per mode, each named in InternalError and dumpable
with SRCGRAD_DUMP; the IR printer (ir.format_function) it uses."""
import numpy as np
import pytest

import srcgrad
from srcgrad import ir, pipeline
from srcgrad.frontend.source import parse_function
from srcgrad.passes import activity, lower


def carried_sum(x, k):
    y = 0.0
    for i in range(4):
        y = y + k * np.sin(x[i]) * y + 1.0
        if y > 10.0:
            break
    return y


SIG = (srcgrad.abstract.Ty(1), srcgrad.abstract.FLOAT)      # (1-D float array, float)


def test_each_mode_runs_every_stage_in_order():
    front = ("parse", "fence", "desugar", "lower", "activity", "alias")
    assert pipeline.stage_names("reverse") == front + ("tape", "reverse", "emit")
    assert pipeline.stage_names("forward") == front + ("forward", "emit")


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.mark.parametrize("patch,words", [
    ("srcgrad.passes.lower.desugared", "in its `desugar` pass on `carried_sum`"),
    ("srcgrad.passes.alias.analyse", "in its `alias` pass on `carried_sum`"),
    ("srcgrad.passes.tape.plan", "in its `tape` pass on `carried_sum`"),
    ("srcgrad.codegen.emit.module_source", "in its `emit` pass on `carried_sum`"),
    # the passes the reverse stage runs per block are named too
    ("srcgrad.passes.reverse.drop_unread", "in its `collect` pass (in the `reverse` stage) on `carried_sum`"),
    ("srcgrad.passes.reverse.first_contributions", "in its `first` pass (in the `reverse` stage)"),
])
def test_an_unexpected_exception_names_the_stage_or_pass_it_came_from(patch, words, monkeypatch):
    monkeypatch.setattr(patch, _boom)
    with pytest.raises(srcgrad.InternalError) as info:
        pipeline.transform(carried_sum, (0, 1), False, SIG)
    assert words in str(info.value) and "(RuntimeError: boom)" in str(info.value)


def test_srcgrad_dump_prints_the_named_stages_to_stderr(monkeypatch, capsys):
    monkeypatch.setenv("SRCGRAD_DUMP", "desugar, tape,reverse")
    text = pipeline.transform(carried_sum, (0, 1), False, SIG)
    err = capsys.readouterr().err
    heads = [line for line in err.splitlines() if line.startswith("# srcgrad:")]
    assert heads == ["# srcgrad: carried_sum after `desugar`", "# srcgrad: carried_sum after `tape`",
                     "# srcgrad: carried_sum after `reverse`"]
    assert "_break = True" in err                   # desugar: `break` became a flag
    # the loop saves sin(x[i]) and y for its adjoint; x[i] is re-read and k * sin(x[i]) is
    # computed again from the restored sin(x[i]), not saved
    assert "push floats _t_1, y" in err and "recompute _t, _t_2" in err
    body = text[text.index("def carried_sum_vjp"):]
    assert body.split("\n\n\n")[0].strip() in err   # the reverse stage's functions, as emitted


def test_ir_printer_shows_types_phis_loops_and_activity():
    parsed = parse_function(carried_sum)
    fn = lower.lower(parsed, (1,), SIG)
    text = ir.format_function(fn, activity.analyse(fn))
    lines = text.splitlines()
    assert lines[0] == "def carried_sum(x, k*):"          # only k is differentiated
    loop = next(line for line in lines if line.lstrip().startswith("for i in range(0, 4, 1):"))
    assert "carries _break, y" in loop and "exit if" in loop
    assert any(line.strip().startswith("_t: float = x[i]") and "active" not in line for line in lines)
    assert any("np.sin(_t)" in line and "active" not in line for line in lines)   # x is not differentiated
    assert any(line.strip().startswith("_t_2: float = mul(k, _t_1)  [active]") for line in lines)
    assert lines[-1] == "    return y"
