"""Training a two-layer network on two interleaved spirals, with srcgrad as the backward pass.

Run:  python examples/mlp.py            (python examples/mlp.py --quick for a shorter run)

The tutorials derive backprop for a fully connected network layer by layer:
forward  h0 = x,  z_k = h_{k-1} W_k + b_k,  h_k = f(z_k),  cost J = L(y_hat, y) + lambda Omega;
backward g <- dJ/dz_k,  dJ/dW_k = h_{k-1}^T g + lambda dOmega/dW_k,  dJ/db_k = sum of g,
         g <- (g W_k^T) * f'(z_{k-1}).
Here the network is written once, forward only, as plain NumPy (`loss` below); srcgrad
writes the backward pass. `hand_gradient` is the tutorials' backward algorithm written out
by hand, and the two are compared before training (tests/test_mlp.py checks them to 1e-10).

The rest is training practice from the same material: Xavier initialisation, L2
regularisation on the weights, mini-batch SGD against Adam, and a learning rate that decays
every epoch. A PNG shows the loss curves and the decision regions the network learnt.
"""
import argparse
import math
import os

import numpy as np

import srcgrad

HIDDEN = 64
LAM = 1e-4           # L2 strength on W1 and W2 (the biases are not regularised)
BATCH = 32


def loss(W1, b1, W2, b2, X, Y, lam):
    """Mean softmax cross-entropy of a 2-layer tanh network, plus L2 on the weights.

    X is (n, d) inputs, Y is (n, k) one-hot labels. With one-hot Y the cross-entropy of a row
    is log(sum_k exp(z_k)) - z_label; float64 exp does not overflow for the logits met here.
    """
    n = X.shape[0]
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    data = np.mean(np.log(np.sum(np.exp(Z), axis=1))) - np.sum(Y * Z) / n
    return data + 0.5 * lam * (np.sum(W1 * W1) + np.sum(W2 * W2))


loss_grad = srcgrad.grad(loss, argnums=(0, 1, 2, 3))


def hand_gradient(W1, b1, W2, b2, X, Y, lam):
    """The tutorials' backward algorithm, written by hand, for comparison."""
    n = X.shape[0]
    H = np.tanh(X @ W1 + b1)                   # forward, keeping the hidden layer
    Z = H @ W2 + b2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    g = (P - Y) / n                            # dJ/dZ for softmax cross-entropy
    dW2 = H.T @ g + lam * W2
    db2 = g.sum(axis=0)
    g = (g @ W2.T) * (1.0 - H * H)             # back through W2, then tanh' = 1 - tanh^2
    dW1 = X.T @ g + lam * W1
    db1 = g.sum(axis=0)
    return dW1, db1, dW2, db2


def predict(params, X):
    W1, b1, W2, b2 = params
    return np.argmax(np.tanh(X @ W1 + b1) @ W2 + b2, axis=1)


def make_spirals(n_per_class, rng, noise=0.05, turns=1.0, spread=2.0):
    """Two interleaved spirals in the plane (`turns` turns each, one per class), scaled to a
    standard deviation of `spread`: wider than unit variance, so that tanh units with Xavier
    initial weights can resolve the turns within a few epochs."""
    t = np.sqrt(rng.uniform(0.0, 1.0, n_per_class)) * turns * 2.0 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (turns * 2.0 * np.pi)
    X = np.concatenate([arm, -arm]) + noise * rng.standard_normal((2 * n_per_class, 2))
    X *= spread / X.std()
    labels = np.concatenate([np.zeros(n_per_class, dtype=np.int64), np.ones(n_per_class, dtype=np.int64)])
    return X, labels


def one_hot(labels, k):
    Y = np.zeros((labels.size, k))
    Y[np.arange(labels.size), labels] = 1.0
    return Y


def xavier_init(rng, sizes):
    """W ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), biases 0."""
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        a = math.sqrt(6.0 / (fan_in + fan_out))
        params += [rng.uniform(-a, a, (fan_in, fan_out)), np.zeros(fan_out)]
    return params


class SGD:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g


class Adam:
    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = None
        self.t = 0

    def step(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def train(optimizer, params, X, labels, epochs, rng, decay, name, log=print):
    """Mini-batch training; the learning rate is multiplied by `decay` after every epoch.

    Returns the full-data loss after every epoch (the first entry is before training)."""
    Y = one_hot(labels, 2)
    history = [loss(*params, X, Y, LAM)]
    n = X.shape[0]
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            grads = loss_grad(*params, X[idx], Y[idx], LAM)
            optimizer.step(params, grads)
        optimizer.lr *= decay
        history.append(loss(*params, X, Y, LAM))
        acc = np.mean(predict(params, X) == labels)
        log(f"{name:4s} epoch {epoch:3d}  lr {optimizer.lr / decay:.4f}  loss {history[-1]:.4f}  accuracy {acc:.3f}")
    return history


def save_plot(histories, params, X, labels, path):
    try:
        import matplotlib
    except ImportError:
        print("no plot: matplotlib is not installed (pip install matplotlib)")
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, hist in histories.items():
        ax1.plot(range(len(hist)), hist, lw=2, label=name)
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss (cross-entropy + L2)")
    ax1.set_title("SGD vs Adam, learning rate decayed each epoch")
    ax1.legend()

    lim = 1.1 * np.abs(X).max()
    g = np.linspace(-lim, lim, 300)
    gx, gy = np.meshgrid(g, g)
    region = predict(params, np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    ax2.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
    for k, color in ((0, "C0"), (1, "C1")):
        ax2.scatter(X[labels == k, 0], X[labels == k, 1], s=6, color=color)
    ax2.set_aspect("equal")
    ax2.set_title("decision regions after Adam")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (for CI)")
    args = parser.parse_args(argv)
    epochs = 12 if args.quick else 30

    rng = np.random.default_rng(0)
    X, labels = make_spirals(1000, rng)
    Y = one_hot(labels, 2)
    init = xavier_init(rng, [2, HIDDEN, 2])
    print(f"two spirals: {X.shape[0]} points; network 2 -> {HIDDEN} tanh -> 2 softmax; "
          f"L2 lambda {LAM:g}; batch {BATCH}")

    # srcgrad's gradient against the hand-written backward pass, at the initial weights
    mine = loss_grad(*init, X, Y, LAM)
    hand = hand_gradient(*init, X, Y, LAM)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(mine, hand))
    print(f"max |srcgrad - hand-written backprop| over W1, b1, W2, b2: {diff:.1e}")

    histories, finals = {}, {}
    for name, opt, decay in (("SGD", SGD(lr=0.5), 0.95), ("Adam", Adam(lr=0.02), 0.93)):
        params = [p.copy() for p in init]
        print()
        histories[name] = train(opt, params, X, labels, epochs, np.random.default_rng(1), decay, name)
        finals[name] = params

    print()
    for name, params in finals.items():
        acc = np.mean(predict(params, X) == labels)
        print(f"final {name:4s}: loss {histories[name][0]:.4f} -> {histories[name][-1]:.4f}, accuracy {acc:.3f}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "mlp.png")
    if save_plot(histories, finals["Adam"], X, labels, path) is not False:
        print(f"saved {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
