"""GradBench ``lstm``: ADBench's LSTM (diagonal weights) over a character sequence; the
objective is the mean negative log-likelihood of the next character, the Jacobian its gradient
w.r.t. ``main_params`` (2 rows per layer: weights, biases; 4 gates of b each) and
``extra_params`` (input weight, output weight, output bias), flattened row by row."""
import numpy as np
import srcgrad

from . import Form, Function, jit


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_cell(weight, bias, hidden, cell, x):
    b = hidden.shape[0]
    forget = sigmoid(x * weight[0:b] + bias[0:b])
    ingate = sigmoid(hidden * weight[b:2 * b] + bias[b:2 * b])
    outgate = sigmoid(x * weight[2 * b:3 * b] + bias[2 * b:3 * b])
    change = np.tanh(hidden * weight[3 * b:] + bias[3 * b:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


def lstm_objective(main_params, extra_params, state, sequence):
    layers = main_params.shape[0] // 2
    c, b = sequence.shape
    state = state.copy()
    total = 0.0
    for t in range(c - 1):
        x = sequence[t] * extra_params[0]
        for i in range(layers):
            state[2 * i], state[2 * i + 1] = lstm_cell(main_params[2 * i], main_params[2 * i + 1],
                                                       state[2 * i], state[2 * i + 1], x)
            x = state[2 * i]
        ypred = x * extra_params[1] + extra_params[2]
        lse = np.log(np.sum(np.exp(ypred)) + 2.0)
        total += np.sum(sequence[t + 1] * (ypred - lse))
    return -total / ((c - 1) * b)


def lstm_objective_loops(main_params, extra_params, state, sequence):
    """Adapted: the gates, the state update and the output written as element loops (slices,
    helpers returning tuples, row assignment and `c, b = x.shape` are refused today)."""
    layers = main_params.shape[0] // 2
    c = sequence.shape[0]
    b = sequence.shape[1]
    h = np.zeros((layers, b))
    s = np.zeros((layers, b))
    for i in range(layers):
        for j in range(b):
            h[i, j] = state[2 * i, j]
            s[i, j] = state[2 * i + 1, j]
    x = np.zeros(b)
    ypred = np.zeros(b)
    total = 0.0
    for t in range(c - 1):
        for j in range(b):
            x[j] = sequence[t, j] * extra_params[0, j]
        for i in range(layers):
            for j in range(b):
                forget = sigmoid(x[j] * main_params[2 * i, j] + main_params[2 * i + 1, j])
                ingate = sigmoid(h[i, j] * main_params[2 * i, b + j] + main_params[2 * i + 1, b + j])
                outgate = sigmoid(x[j] * main_params[2 * i, 2 * b + j] + main_params[2 * i + 1, 2 * b + j])
                change = np.tanh(h[i, j] * main_params[2 * i, 3 * b + j] + main_params[2 * i + 1, 3 * b + j])
                s[i, j] = s[i, j] * forget + ingate * change
                h[i, j] = outgate * np.tanh(s[i, j])
                x[j] = h[i, j]
        se = 0.0
        for j in range(b):
            ypred[j] = x[j] * extra_params[1, j] + extra_params[2, j]
            se += np.exp(ypred[j])
        lse = np.log(se + 2.0)
        for j in range(b):
            total += sequence[t + 1, j] * (ypred[j] - lse)
    return -total / ((c - 1) * b)


def _prepare(input):
    return tuple(np.ascontiguousarray(input[k], dtype=np.float64)
                 for k in ("main_params", "extra_params", "state", "sequence"))


def _post_gradient(g):
    main, extra = g
    return np.concatenate([main.ravel(), extra.ravel()]).tolist()


def _builder(f):
    def build():
        return {"objective": Function(jit(f), _prepare, float),
                "jacobian": Function(srcgrad.grad(f, argnums=(0, 1)), _prepare, _post_gradient)}
    return build


FORMS = (
    Form("natural", _builder(lstm_objective)),
    Form("adapted", _builder(lstm_objective_loops),
         ("the cell (a helper returning a tuple, with slices) and the state rows written as "
          "element loops over two 2-D state arrays",)),
)


def _example():
    rng = np.random.default_rng(1)
    layers, b, c = 2, 3, 5
    return {"main_params": rng.uniform(size=(2 * layers, 4 * b)).tolist(),
            "extra_params": rng.uniform(size=(3, b)).tolist(),
            "state": rng.uniform(size=(2 * layers, b)).tolist(),
            "sequence": rng.integers(0, 2, size=(c, b)).astype(float).tolist()}


EXAMPLE = _example()
