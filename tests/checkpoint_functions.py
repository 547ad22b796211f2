"""Loops with and without srcgrad.checkpoint (tests/test_checkpoint.py, benchmarks)."""
import math

import numpy as np

import srcgrad


def plain(x, w, n):
    s = x
    k = 0
    for i in range(n):
        s = s * w + 0.01 * math.sin(s * x)
        if s > 2.0:
            s = s - 1.0
            k += 1
    return s + k


def every7(x, w, n):
    s = x
    k = 0
    for i in srcgrad.checkpoint(range(n), every=7):
        s = s * w + 0.01 * math.sin(s * x)
        if s > 2.0:
            s = s - 1.0
            k += 1
    return s + k


def sqrt_schedule(x, w, n):
    s = x
    k = 0
    for i in srcgrad.checkpoint(range(n)):
        s = s * w + 0.01 * math.sin(s * x)
        if s > 2.0:
            s = s - 1.0
            k += 1
    return s + k


def writes_in_checkpointed_loop(x, n):
    y = np.zeros(n)
    for i in srcgrad.checkpoint(range(n)):
        y[i] = x * i
    return y[0]


def contracting(x, w, n):
    """A stable recurrence for long-loop benchmarks (|ds_next/ds| < 1)."""
    s = x
    for i in range(n):
        s = s * w + 0.1 * math.sin(x + s)
    return s


def contracting_checkpointed(x, w, n):
    s = x
    for i in srcgrad.checkpoint(range(n)):
        s = s * w + 0.1 * math.sin(x + s)
    return s
