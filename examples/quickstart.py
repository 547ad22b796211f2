"""A short tour of srcgrad on the worked examples of the backpropagation tutorials.

Run:  python examples/quickstart.py

Each function below is plain Python. `srcgrad.grad` reads its source, writes one fused
forward + adjoint function, compiles it with Numba and returns it, ready to call.
"""
import math

import srcgrad


def graph(a, b):
    """The computation graph e = (a + b) * (b + 1)."""
    c = a + b
    d = b + 1.0
    return c * d


def circuit(x, y, z):
    """The circuit f = (x + y) * z."""
    q = x + y
    return q * z


def add_max_mul(x, y, z):
    """a = x + y; b = max(y, z); f = a * b."""
    a = x + y
    b = max(y, z)
    return a * b


def shop(apple, apple_num, orange, orange_num, tax):
    """2 apples and 3 oranges with a sales tax: what the customer pays."""
    apple_price = apple * apple_num
    orange_price = orange * orange_num
    return (apple_price + orange_price) * tax


def neuron(w0, w1, b, x0, x1):
    """One sigmoid neuron with two inputs."""
    return 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + b)))


def fused_function(source, name):
    """The one function `name` out of a generated module (the rest are thin wrappers)."""
    start = source.find(f"def {name}(")
    if start < 0:
        return source
    start = source.rfind("\n", 0, source.rfind("@", 0, start)) + 1
    end = source.find("\n\n\n", start)
    return source[start:end if end > 0 else None].rstrip() + "\n"


def main():
    d_graph = srcgrad.grad(graph, argnums=(0, 1))
    print("The fused forward + adjoint function srcgrad generated for graph(a, b):")
    print(fused_function(d_graph.source, "graph_vjp"))

    print("graph:       e = (a + b) * (b + 1) at a=2, b=1")
    print("             de/da, de/db =", d_graph(2.0, 1.0))

    print("circuit:     f = (x + y) * z at x=-2, y=5, z=-4")
    print("             df/dx, df/dy, df/dz =", srcgrad.grad(circuit, argnums=(0, 1, 2))(-2.0, 5.0, -4.0))

    print("add_max_mul: f = (x + y) * max(y, z) at x=1, y=2, z=0 (max routes to y)")
    print("             df/dx, df/dy, df/dz =", srcgrad.grad(add_max_mul, argnums=(0, 1, 2))(1.0, 2.0, 0.0))

    price, grads = srcgrad.value_and_grad(shop, argnums=(0, 1, 2, 3, 4))(100, 2, 150, 3, 1.1)
    print("shop:        2 apples at 100, 3 oranges at 150, tax 1.1")
    print(f"             price = {price:g}")
    names = ("apple", "apple_num", "orange", "orange_num", "tax")
    print("             " + ", ".join(f"d/d{n} = {g:g}" for n, g in zip(names, grads)))

    w0, w1, b, x0, x1 = 2.0, -3.0, -3.0, -1.0, -2.0
    dw0, dw1, db = srcgrad.grad(neuron, argnums=(0, 1, 2))(w0, w1, b, x0, x1)
    s = neuron(w0, w1, b, x0, x1)
    print(f"neuron:      sigmoid(w0*x0 + w1*x1 + b) = {s:.6f} at w=(2, -3), b=-3, x=(-1, -2)")
    print(f"             srcgrad:   d/dw0, d/dw1, d/db = {dw0:.6f}, {dw1:.6f}, {db:.6f}")
    print(f"             by hand s(1-s)*(x0, x1, 1)   = {s*(1-s)*x0:.6f}, {s*(1-s)*x1:.6f}, {s*(1-s):.6f}")


if __name__ == "__main__":
    main()
