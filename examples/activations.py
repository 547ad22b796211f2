"""Activation functions and their derivatives, from srcgrad, checked against closed forms.

Run:  python examples/activations.py

Each activation is written the obvious way, with `math.exp`, `math.tanh`, `max` or an
`if`/`else`, and differentiated by srcgrad. On a grid of inputs the derivative is compared
with the textbook formula, and a PNG shows every function with its derivative.
PReLU's slope `a` is a parameter learnt by backprop, so its gradient w.r.t. `a` is checked
too; maxout takes the larger of two linear pieces, so its gradient w.r.t. the weights is
routed to the piece that won.

At a kink srcgrad follows the code: the `if` branch that runs, or for max() a tie to the
first argument. The grid below has an even number of points, so it avoids the kinks at 0.
"""
import math
import os

import numpy as np

import srcgrad

ALPHA_LEAKY = 0.01
ALPHA_ELU = 1.0


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def tanh(x):
    return math.tanh(x)


def relu(x):
    return max(x, 0.0)


def leaky_relu(x):
    return max(x, ALPHA_LEAKY * x)


def prelu(x, a):
    if x > 0.0:
        return x
    return a * x


def elu(x):
    if x > 0.0:
        return x
    return ALPHA_ELU * (math.exp(x) - 1.0)


def maxout(x, w1, b1, w2, b2):
    return max(w1 * x + b1, w2 * x + b2)


# maxout parameters for the plot: a ReLU-like piece and a falling piece
W1, B1, W2, B2 = 1.0, 0.0, -0.5, 0.5
PRELU_A = 0.2


def closed_forms():
    """name -> (f(x), f'(x)) as NumPy expressions of a grid x (the textbook formulas)."""
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))   # noqa: E731
    return {
        "sigmoid": (sig, lambda x: sig(x) * (1.0 - sig(x))),
        "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
        "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
        "leaky_relu": (lambda x: np.where(x > 0, x, ALPHA_LEAKY * x),
                       lambda x: np.where(x > 0, 1.0, ALPHA_LEAKY)),
        "prelu": (lambda x: np.where(x > 0, x, PRELU_A * x), lambda x: np.where(x > 0, 1.0, PRELU_A)),
        "elu": (lambda x: np.where(x > 0, x, ALPHA_ELU * (np.exp(x) - 1.0)),
                lambda x: np.where(x > 0, 1.0, ALPHA_ELU * np.exp(x))),
        "maxout": (lambda x: np.maximum(W1 * x + B1, W2 * x + B2),
                   lambda x: np.where(W1 * x + B1 >= W2 * x + B2, W1, W2)),
    }


def srcgrad_derivatives(xs):
    """name -> (f(x), f'(x)) on the grid, f' from srcgrad (w.r.t. x)."""
    out = {}
    for f in (sigmoid, tanh, relu, leaky_relu, elu):
        df = srcgrad.grad(f)
        out[f.__name__] = (np.array([f(x) for x in xs]), np.array([df(x) for x in xs]))
    dprelu = srcgrad.grad(prelu)
    out["prelu"] = (np.array([prelu(x, PRELU_A) for x in xs]), np.array([dprelu(x, PRELU_A) for x in xs]))
    dmaxout = srcgrad.grad(maxout)
    out["maxout"] = (np.array([maxout(x, W1, B1, W2, B2) for x in xs]),
                     np.array([dmaxout(x, W1, B1, W2, B2) for x in xs]))
    return out


def save_plot(xs, values, prelu_da, path):
    try:
        import matplotlib
    except ImportError:
        print("no plot: matplotlib is not installed (pip install matplotlib)")
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), sharex=True)
    for ax, (name, (f, df)) in zip(axes.flat, values.items()):
        ax.plot(xs, f, label="f(x)", lw=2)
        ax.plot(xs, df, label="f'(x) (srcgrad)", lw=2, ls="--")
        ax.axhline(0.0, color="0.8", lw=0.8)
        ax.axvline(0.0, color="0.8", lw=0.8)
        ax.set_title(name)
        ax.set_ylim(-1.5, 2.5)
    axes.flat[0].legend(loc="upper left", fontsize=8)
    # the last panel: PReLU's gradient w.r.t. its slope a
    ax = axes.flat[-1]
    ax.plot(xs, prelu_da, color="C2", lw=2)
    ax.set_title("prelu: d/da (srcgrad)")
    ax.axhline(0.0, color="0.8", lw=0.8)
    ax.set_ylim(-4.5, 1.0)
    for ax in axes[-1]:
        ax.set_xlabel("x")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    xs = np.linspace(-4.0, 4.0, 400)
    mine = srcgrad_derivatives(xs)
    ref = closed_forms()

    print(f"{'activation':12s} {'max |f - ref|':>14s} {'max |df - ref|':>15s}   derivative")
    formulas = {
        "sigmoid": "s(x) (1 - s(x))", "tanh": "1 - tanh(x)^2", "relu": "1 if x > 0 else 0",
        "leaky_relu": "1 if x > 0 else 0.01", "prelu": "1 if x > 0 else a",
        "elu": "1 if x > 0 else alpha e^x", "maxout": "w of the winning piece",
    }
    worst = 0.0
    for name, (f, df) in mine.items():
        ef = np.max(np.abs(f - ref[name][0](xs)))
        edf = np.max(np.abs(df - ref[name][1](xs)))
        worst = max(worst, edf)
        print(f"{name:12s} {ef:14.1e} {edf:15.1e}   {formulas[name]}")

    # PReLU's slope is a parameter: d/da = 0 for x > 0, x otherwise
    dprelu_da = srcgrad.grad(prelu, argnums=1)
    da = np.array([dprelu_da(x, PRELU_A) for x in xs])
    e_da = np.max(np.abs(da - np.where(xs > 0, 0.0, xs)))
    worst = max(worst, e_da)
    print(f"{'prelu d/da':12s} {'':14s} {e_da:15.1e}   0 if x > 0 else x")

    # maxout w.r.t. its weights: only the winning piece gets the gradient
    dmax_w = srcgrad.grad(maxout, argnums=(1, 2, 3, 4))
    x = 2.0
    gw = dmax_w(x, W1, B1, W2, B2)
    print(f"maxout at x={x:g}: d/d(w1, b1, w2, b2) = {tuple(float(g) + 0.0 for g in gw)} (piece 1 wins)")
    x = -2.0
    gw = dmax_w(x, W1, B1, W2, B2)
    print(f"maxout at x={x:g}: d/d(w1, b1, w2, b2) = {tuple(float(g) + 0.0 for g in gw)} (piece 2 wins)")

    print(f"largest derivative error over all activations: {worst:.1e}")
    assert worst < 1e-12

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "activations.png")
    if save_plot(xs, mine, da, path) is not False:
        print(f"saved {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
