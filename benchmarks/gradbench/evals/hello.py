"""GradBench ``hello``: ``square(x) = x * x`` and ``double``, its derivative."""
import srcgrad

from . import Form, Function, jit


def square(x):
    return x * x


def _build():
    return {
        "square": Function(jit(square), lambda x: (float(x),), float),
        "double": Function(srcgrad.grad(square), lambda x: (float(x),), float),
    }


FORMS = (Form("natural", _build),)
EXAMPLE = 1.5
