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
    return y[0] + y[n - 1] * x


# ---- arrays through checkpointed loops (issue 22); each has its plain twin below
def heat(u0, alpha, every):
    """Slices written in place: the array is not re-bound, its elements are the state."""
    u = u0.copy()
    for t in srcgrad.checkpoint(range(20), every=every):
        u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum(u * u)


def heat_plain(u0, alpha, every):
    u = u0.copy()
    for t in range(20):
        u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum(u * u)


def oscillator(u, k, c, every, steps=25, dt=0.05):
    """Arrays re-bound every step (`v = v + ...`); `every=0`: segments of about sqrt(steps)."""
    v = np.zeros_like(u)
    for t in srcgrad.checkpoint(range(steps), every=every):
        a = -k * u - c * v
        v = v + dt * a
        u = u + dt * v
    return np.sum(u * u)


def oscillator_plain(u, k, c, every, steps=25, dt=0.05):
    v = np.zeros_like(u)
    for t in range(steps):
        a = -k * u - c * v
        v = v + dt * a
        u = u + dt * v
    return np.sum(u * u)


def aliased(x, k, every):
    """`w` names the object `u *= k` changes: the restored segment start must reach it too."""
    u = x.copy()
    w = u
    s = 0.0
    for t in srcgrad.checkpoint(range(7), every=every):
        u *= k
        s = s + np.sum(w * w)
    return s + np.sum(w)


def aliased_plain(x, k, every):
    u = x.copy()
    w = u
    s = 0.0
    for t in range(7):
        u *= k
        s = s + np.sum(w * w)
    return s + np.sum(w)


def rebound_and_written(x, k, every):
    """Re-bound and written in place in one step, with element loops inside."""
    u = x * 1.0
    for t in srcgrad.checkpoint(range(6), every=every):
        u *= k
        u = np.sin(u) + x
        for i in range(1, u.shape[0]):
            u[i] = u[i] * u[i - 1]
    return np.sum(u)


def rebound_and_written_plain(x, k, every):
    u = x * 1.0
    for t in range(6):
        u *= k
        u = np.sin(u) + x
        for i in range(1, u.shape[0]):
            u[i] = u[i] * u[i - 1]
    return np.sum(u)


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


def no_loop(x):
    return math.sin(x) * x
