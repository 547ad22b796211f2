"""The test corpus: plain Python functions srcgrad must differentiate exactly.

Parameter names choose the inputs (see test_corpus.py): `a`, `b`, `c`, `d` are floats
(differentiated), `n` is an int (not differentiated), `x`, `y` are float vectors and `W` a float
matrix (differentiated).  Adding a function here tests it in every mode.  `DOMAINS` may narrow
the sampling range of a function's float inputs; `POINTS` adds fixed inputs (e.g. both sides
of a branch).
"""
import math

import numpy as np

DOMAINS = {}
POINTS = {}

LIMIT = 5.0


# ---- the seeds' worked examples ----
def seed_graph(a, b):
    c = a + b
    d = b + 1
    return c * d


def circuit(a, b, c):
    return (a + b) * c


def max_gate(a, b, c):
    s = a + b
    m = max(b, c)
    return s * m


def shop(a, b, c, d):
    return ((a * 2) + (b * 3)) * (1.0 + c * d)


def sigmoid_neuron(a, b, c, d):
    return 1 / (1 + math.exp(-(a * 2.0 + b * c + d)))


# ---- straight-line code ----
def reassign(a, b):
    t = a * b
    t = t + math.sin(t)
    t *= a
    t -= b / 3.0
    return t


def unpack(a, b):
    a, b = b, a * b
    return a - b * b


def fanout(a):
    b = a * a
    c = b + a
    d = c * b * a
    return d + math.exp(-c)


def many_math(a):
    s = math.exp(a) + math.expm1(a) + math.log(a) + math.log(a, 3.0) + math.log1p(a) + math.log2(a)
    s += math.log10(a) + math.sqrt(a) + math.pow(a, 1.7) + math.sin(a) + math.cos(a) + math.tan(a / 3.0)
    s += math.atan(a) + math.sinh(a) + math.cosh(a) + math.tanh(a) + math.asinh(a) + math.erf(a) + math.erfc(a)
    s += math.hypot(a, 2.0) + math.fabs(a - 3.0) + math.copysign(a, -1.0) + math.atan2(a, 2.0)
    s += math.asin(a / 5.0) + math.acos(a / 5.0) + math.atanh(a / 5.0) + math.acosh(a + 1.0)
    s += math.floor(a) + math.ceil(a) + math.trunc(a) + a ** 2.5 + 2.0 ** a + a // 2 + a % 1.3
    return s


DOMAINS["many_math"] = (0.3, 2.5)


def numpy_scalars(a, b):
    return np.exp(a) * np.tanh(b) + np.log1p(a * a) - np.sqrt(b * b + 1.0) + np.arctan2(a, b)


def builtins_mix(a, b, c):
    return abs(a - b) + min(a, b, c) * max(a, c) + float(3) * pow(abs(b) + 1.0, c)


def helper_square(t):
    return t * t


def helper_poly(t, k=2.0):
    u = helper_square(t) + k * t
    return u / (1.0 + helper_square(u))


def uses_helpers(a, b):
    return helper_poly(a) + helper_poly(b, 3.0) * helper_square(a - b)


SCALE = 1.5


def uses_constant(a):
    return SCALE * a * math.pi + math.e


# ---- control flow (issue #3) ----
def huber(a, b):
    if abs(a) <= b:
        return 0.5 * a * a
    else:
        return b * (abs(a) - 0.5 * b)


DOMAINS["huber"] = (0.2, 2.0)
POINTS["huber"] = [(0.5, 1.0), (2.5, 1.0), (-1.7, 0.8)]


def elif_chain(a):
    if a < -1.0:
        y = -a * a
    elif a < 0.0:
        y = 2.0 * a
    elif a < 1.0 and not a < 0.5:
        y = math.sin(a)
    elif 1.0 <= a < 2.0:
        y = a ** 3
    else:
        y = math.exp(a)
    return y * a


POINTS["elif_chain"] = [(-1.5,), (-0.5,), (0.2,), (0.7,), (1.5,), (2.5,)]


def ternary(a, b):
    z = a * b if a > b else a + b
    return z * z


POINTS["ternary"] = [(2.0, 1.0), (1.0, 2.0)]


def first_assigned_in_branches(a, b):
    if a > b:
        t = a - b
        u = math.exp(t)
    else:
        t = b - a
        u = math.cos(t)
    return t * u


POINTS["first_assigned_in_branches"] = [(2.0, 1.0), (1.0, 2.0)]


def newton_sqrt(a):
    x = a
    for i in range(30):
        x = 0.5 * (x + a / x)
    return x


DOMAINS["newton_sqrt"] = (0.5, 4.0)


def logistic_euler(a, b, c):
    y = a
    dt = 0.01
    for i in range(100):
        y = y + dt * b * y * (1.0 - y / c)
    return y


DOMAINS["logistic_euler"] = (0.5, 2.0)


def while_threshold(a, b):
    y = 1.0
    k = 0
    while y < 10.0:
        y = y * a + b
        k += 1
    return y + 0.1 * k


DOMAINS["while_threshold"] = (1.2, 2.5)
POINTS["while_threshold"] = [(1.5, 0.3), (2.5, 0.3), (1.21, 0.05)]


def while_tolerance(a):
    x = a
    step = 1.0
    while abs(step) > 1e-12:
        step = (x * x - a) / (2.0 * x)
        x = x - step
    return x


DOMAINS["while_tolerance"] = (0.5, 4.0)


def loop_break(a, n):
    s = 0.0
    for i in range(n):
        s = s + a * i
        if s > 5.0:
            break
        s = s * 1.1
    return s


POINTS["loop_break"] = [(0.7, 10), (0.01, 10)]


def loop_continue(a, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            continue
        s = s + math.sin(a * i)
    return s


def early_return(a):
    if a > 1.0:
        return a * a
    y = math.exp(a)
    return y + a


POINTS["early_return"] = [(2.0,), (0.5,)]


def early_return_in_loop(a, n):
    s = a
    for i in range(n):
        s = s * a
        if s > 3.0:
            return s + 1.0
    return s * 2.0


DOMAINS["early_return_in_loop"] = (0.5, 1.5)
POINTS["early_return_in_loop"] = [(1.2, 10), (0.5, 10)]


def nested_loops(a, n):
    s = 0.0
    for i in range(n):
        for j in range(i, n, 2):
            if (i + j) % 3 == 0:
                s = s + a * math.cos(s)
            else:
                s = s - 0.1 * a * j
    return s


def negative_step(a, n):
    s = 1.0
    for i in range(n, 0, -1):
        s = s * a + i
    return s


def zero_trip(a, n):
    s = a
    for i in range(n, n):
        s = s * 100.0
    for i in range(0, -n):
        s = s * 100.0
    return s * a


def loop_index_arith(a, b, n):
    s = 0.0
    for i in range(2, n + 2):
        s += math.sin(a * i) / i + b ** 2 * (i % 3)
    return s


def while_with_break(a):
    y = a
    k = 0
    while True:
        y = y * 0.9 + 0.01 * math.sin(y)
        k += 1
        if y < 0.1 or k > 100:
            break
    return y


def sum_of_squares_loop(a, b):
    s = 0.0
    t = a
    for i in range(20):
        s = s * b + math.sin(t)
        t = t + 0.1
    return s


DOMAINS["sum_of_squares_loop"] = (0.2, 0.9)


# ---- arrays (issue #4) ----
def vec_norm(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[i]
    return math.sqrt(s)


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def negative_index(x):
    return x[-1] * x[0] + x[-2]


def inplace_writes(x):
    n = len(x)
    y = np.zeros(n)
    for i in range(n):
        y[i] = math.sin(x[i])
    for i in range(1, n):
        y[i] += y[i - 1] * x[i]
    s = 0.0
    for i in range(n):
        s += y[i] * y[i]
    y[0] = 3.0
    return s + y[0] * x[0]


def copy_and_overwrite(x, a):
    y = x.copy()
    for i in range(len(y)):
        y[i] = y[i] * a
    for i in range(len(y) - 1):
        y[i + 1] = y[i + 1] + y[i] * y[i]
    return y[len(y) - 1]


def matrix_loop(W, x):
    s = 0.0
    for i in range(W.shape[0]):
        h = 0.0
        for j in range(W.shape[1]):
            h += W[i, j] * x[j]
        s += math.tanh(h)
    return s


def whole_array(W, x):
    h = np.tanh(W @ x)
    return np.sum(h * h) + np.mean(np.exp(x))


def broadcasting(W, x, a):
    z = W * x + a
    r = np.maximum(z, 0.0) + np.where(z > 0.3, z * z, -z)
    return np.sum(np.sum(r, axis=0) * x) + np.sum(np.mean(r, axis=1))


def dot_transpose(W, x, y):
    return np.dot(x, W.T @ y) + np.dot(x, x)


def int_labels(x, n):
    labels = np.arange(n) % 2
    s = 0.0
    for i in range(n):
        s += x[labels[i]] * (i + 1.0)
    return s


FUNCTIONS = [v for k, v in list(globals().items())
             if callable(v) and getattr(v, "__module__", None) == __name__ and not k.startswith("helper_")]
