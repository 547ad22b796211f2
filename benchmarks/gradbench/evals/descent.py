"""The gradient-descent argmin that GradBench's ``particle`` and ``saddle`` evals prescribe
(GradBench's cpp/gradbench/gd.hpp and tools/futhark/solver.fut), as plain Python for the
outer (not differentiated) searches; each eval module writes the inner, differentiated one in
srcgrad's subset."""
import numpy as np


def argmin(f, grad, x):
    """Minimise f from x: step -eta * grad, doubling eta after 10 accepted steps and halving it
    after a rejected one; stop when the gradient or the step is at most 1e-5."""
    x = np.array(x, dtype=np.float64)
    fx = f(x)
    gx = grad(x)
    i = 0
    eta = 1e-5
    while True:
        if np.sqrt(np.sum(gx * gx)) <= 1e-5:
            return x
        if i == 10:
            eta *= 2.0
            i = 0
            continue
        x_prime = x - eta * gx
        if np.sqrt(np.sum((x - x_prime) ** 2)) <= 1e-5:
            return x
        fx_prime = f(x_prime)
        if fx_prime < fx:
            x, fx, gx = x_prime, fx_prime, grad(x_prime)
            i += 1
        else:
            eta /= 2.0
            i = 0


def argmax(f, grad, x):
    return argmin(lambda x: -f(x), lambda x: -grad(x), x)
