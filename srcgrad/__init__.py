"""srcgrad: reverse-mode automatic differentiation of plain Python by source transformation,
compiled to native code with Numba.

    import srcgrad
    dfdx = srcgrad.grad(f)                 # f(x, ...) -> float
    print(dfdx.source)                     # the generated fused forward + adjoint code
"""
__version__ = "0.1.0"

from .errors import (ArgnumsError, ArgumentTypeError, CompilationError, InternalError, LocatedError,  # noqa: E402
                     NoDerivativeRuleError, NonScalarOutputError, NotDifferentiableError,
                     SrcgradError, SrcgradWarning, UnsupportedArrayUseError, UnsupportedSyntaxError)
from . import rules as _rules  # noqa: E402,F401  (registers the built-in rules)
from .api import GradFunction, grad, value_and_grad, vjp  # noqa: E402
from .vectorize import vectorize  # noqa: E402
from .extend import checkpoint, defvjp, nondiff, partials  # noqa: E402
from .higher import hessian, hvp, jacobian, jvp  # noqa: E402
from .testing import GradientCheckError, check_grad  # noqa: E402

__all__ = [
    "grad", "value_and_grad", "vectorize", "check_grad", "GradFunction", "vjp", "partials", "defvjp", "nondiff",
    "checkpoint",
    "jvp", "jacobian", "hessian", "hvp",
    "SrcgradError", "LocatedError", "UnsupportedSyntaxError", "NoDerivativeRuleError",
    "NotDifferentiableError", "UnsupportedArrayUseError", "NonScalarOutputError", "ArgnumsError", "ArgumentTypeError",
    "CompilationError", "InternalError", "SrcgradWarning", "GradientCheckError",
]
