"""The apple and orange shop: layer-by-layer backprop next to srcgrad.

Run:  python examples/shop.py

A customer buys 2 apples at 100 each and 3 oranges at 150 each, and pays a sales tax of 10%.
The price is ((apple * apple_num) + (orange * orange_num)) * tax = 715. How much does the
price move when each input moves? The tutorials answer with small layer objects: each layer
remembers its inputs in `forward` and turns the gradient of its output into gradients of its
inputs in `backward`, and the caller runs the layers backwards by hand. srcgrad reads the
plain formula and writes that backward pass itself. Both give the same five numbers.
"""
import srcgrad


class MulLayer:
    """out = x * y; backward swaps the saved inputs."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class AddLayer:
    """out = x + y; backward passes the gradient through to both inputs unchanged."""

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout, dout


def price(apple, apple_num, orange, orange_num, tax):
    apple_price = apple * apple_num
    orange_price = orange * orange_num
    total = apple_price + orange_price
    return total * tax


NAMES = ("apple", "apple_num", "orange", "orange_num", "tax")


def by_layers(apple, apple_num, orange, orange_num, tax):
    """The tutorials' way: four layer objects, forward in order, backward in reverse."""
    mul_apple, mul_orange, add_fruit, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()
    apple_price = mul_apple.forward(apple, apple_num)
    orange_price = mul_orange.forward(orange, orange_num)
    total = add_fruit.forward(apple_price, orange_price)
    value = mul_tax.forward(total, tax)

    dtotal, dtax = mul_tax.backward(1.0)
    dapple_price, dorange_price = add_fruit.backward(dtotal)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    return value, (dapple, dapple_num, dorange, dorange_num, dtax)


def main():
    args = (100, 2, 150, 3, 1.1)
    value_l, grads_l = by_layers(*args)
    value_s, grads_s = srcgrad.value_and_grad(price, argnums=(0, 1, 2, 3, 4))(*args)

    print("2 apples at 100, 3 oranges at 150, tax 1.1")
    print(f"{'':14s}{'layers':>12s}{'srcgrad':>12s}")
    print(f"{'price':14s}{value_l:12.6g}{value_s:12.6g}")
    for name, gl, gs in zip(NAMES, grads_l, grads_s):
        print(f"{'d/d' + name:14s}{gl:12.6g}{gs:12.6g}")
    worst = max(abs(gl - gs) for gl, gs in zip(grads_l, grads_s))
    print(f"largest difference between the two: {worst:.1e}")
    print("Read d/dtax = 650 as: one more unit of tax rate adds 650 (the pre-tax total) to the"
          " price;\nd/dapple = 2.2 as: one more per apple adds 2 apples * 1.1 tax.")


if __name__ == "__main__":
    main()
