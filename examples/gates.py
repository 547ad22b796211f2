"""Gates: how each operation passes the gradient back to its inputs.

Run:  python examples/gates.py

Seen from the output, every operation is a small gate with a local rule for the gradient
g that arrives at its output during the backward pass:

  add       q = x + y      distributes: x and y both receive g
  multiply  q = x * y      swaps:      x receives g * y, y receives g * x
  max       q = max(x, y)  routes:     the larger input receives g, the other 0
                                       (srcgrad sends a tie to the first argument)

and where one variable feeds two gates, the gradients coming back from both are added.
This example prints srcgrad's gradients next to the gate rules for two small circuits.
"""
import srcgrad


def circuit(x, y, z):
    q = x + y
    f = q * z
    return f


def add_max_mul(x, y, z):
    a = x + y
    b = max(y, z)
    f = a * b
    return f


def show_circuit():
    x, y, z = -2.0, 5.0, -4.0
    q = x + y
    f = q * z
    dx, dy, dz = srcgrad.grad(circuit, argnums=(0, 1, 2))(x, y, z)
    print("Circuit f = (x + y) * z at x=-2, y=5, z=-4")
    print(f"  forward: q = x + y = {q:g}, f = q * z = {f:g}")
    print(f"  multiply swaps:     df/dq = z = {z:g}          df/dz = q = {q:g}")
    print(f"  add distributes:    df/dx = df/dq = {z:g}      df/dy = df/dq = {z:g}")
    print(f"  srcgrad:            df/dx = {dx:g}, df/dy = {dy:g}, df/dz = {dz:g}")
    assert (dx, dy, dz) == (z, z, q)


def show_add_max_mul(x, y, z):
    a = x + y
    b = max(y, z)
    f = a * b
    winner = "y" if y >= z else "z"
    dx, dy, dz = srcgrad.grad(add_max_mul, argnums=(0, 1, 2))(x, y, z)
    print(f"\na = x + y; b = max(y, z); f = a * b at x={x:g}, y={y:g}, z={z:g}")
    print(f"  forward: a = {a:g}, b = max({y:g}, {z:g}) = {b:g} (from {winner}), f = {f:g}")
    print(f"  multiply swaps:     df/da = b = {b:g}          df/db = a = {a:g}")
    print(f"  add distributes:    a passes df/da = {b:g} to x and to y")
    print(f"  max routes:         b passes df/db = {a:g} to {winner} only")
    dy_rule = b + (a if winner == "y" else 0.0)
    dz_rule = a if winner == "z" else 0.0
    print(f"  branches add at y:  df/dy = {b:g} (via a) + {a if winner == 'y' else 0.0:g} (via b) = {dy_rule:g}")
    print(f"  srcgrad:            df/dx = {dx:g}, df/dy = {dy:g}, df/dz = {dz:g}")
    assert (dx, dy, dz) == (b, dy_rule, dz_rule)


def main():
    show_circuit()
    show_add_max_mul(1.0, 3.0, 2.0)    # y wins the max
    show_add_max_mul(1.0, 3.0, 5.0)    # z wins the max


if __name__ == "__main__":
    main()
