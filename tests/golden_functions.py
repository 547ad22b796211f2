"""Functions whose generated source is snapshotted in tests/golden/ (see codegen/test_golden.py)."""
import math


def linear_carry(x, w, n):
    s = 0.0
    for i in range(n):
        s = s + x * w
    return s


def nonlinear_carry(x, w, n):
    s = 0.0
    for i in range(n):
        s = s * w + math.sin(x)
    return s


def branchy(x, y):
    if x > y:
        z = x * y
    else:
        z = math.exp(x - y)
    return z + x


def computation_graph(a, b):
    c = a + b
    d = b + 1
    return c * d


def huber(x, delta):
    if x > delta:
        return delta * (x - 0.5 * delta)
    elif x < -delta:
        return -delta * (x + 0.5 * delta)
    return 0.5 * x * x
