"""The computation graph e = (a + b) * (b + 1), by hand and by srcgrad.

Run:  python examples/computation_graph.py

The graph has five nodes: the inputs a and b, the two intermediate nodes c = a + b and
d = b + 1, and the output e = c * d. Each edge carries a local derivative (how much the node
at its head moves when the node at its tail moves), and the derivative of e with respect to an
input is "multiply the edges along each path from the input to e, then sum over the paths".

Reverse mode does that sum for every input at once: it walks the graph backwards from e,
carrying e_bar = de/d(node), and at each node multiplies by the local derivative of the edge
and adds the result into the node's tail. One backward sweep gives de/da and de/db together;
forward mode would need one sweep per input. srcgrad writes that backward sweep out as plain
code, right after the forward code, in a single function.
"""
import srcgrad
from quickstart import fused_function


def graph(a, b):
    c = a + b
    d = b + 1.0
    e = c * d
    return e


def main():
    a, b = 2.0, 1.0

    # ---- forward: the value of every node
    c = a + b
    d = b + 1.0
    e = c * d
    print("Forward values of the nodes at a=2, b=1:")
    for name, value in (("a", a), ("b", b), ("c = a + b", c), ("d = b + 1", d), ("e = c * d", e)):
        print(f"  {name:10s} = {value:g}")

    # ---- the local derivative on every edge
    edges = {("a", "c"): 1.0, ("b", "c"): 1.0, ("b", "d"): 1.0, ("c", "e"): d, ("d", "e"): c}
    print("\nLocal derivatives on the edges (d head / d tail):")
    for (tail, head), value in edges.items():
        print(f"  d{head}/d{tail} = {value:g}")

    # ---- multiply along paths, sum over paths
    paths = {"a": [["a", "c", "e"]], "b": [["b", "c", "e"], ["b", "d", "e"]]}
    by_paths = {}
    print("\nBy paths (multiply along each path, sum over the paths):")
    for src, plist in paths.items():
        terms = []
        for path in plist:
            prod = 1.0
            for tail, head in zip(path, path[1:]):
                prod *= edges[(tail, head)]
            terms.append(prod)
        by_paths[src] = sum(terms)
        shown = " + ".join(" * ".join(f"{edges[(t, h)]:g}" for t, h in zip(p, p[1:])) for p in plist)
        print(f"  de/d{src} = {shown} = {by_paths[src]:g}")

    # ---- srcgrad
    de = srcgrad.value_and_grad(graph, argnums=(0, 1))
    value, (de_da, de_db) = de(a, b)
    print("\nsrcgrad.value_and_grad(graph, argnums=(0, 1))(2.0, 1.0):")
    print(f"  e = {value:g}")
    print(f"  de/da = {de_da:g}")
    print(f"  de/db = {de_db:g}")
    assert (de_da, de_db) == (by_paths["a"], by_paths["b"])
    print("  (the same as the path sums)")

    print("\nThe generated fused forward + adjoint function. The forward half computes c, d, e;")
    print("the adjoint half starts from e_bar = 1, multiplies it by each edge's local")
    print("derivative, and accumulates (+=) where two paths meet at b:")
    print()
    print(fused_function(de.source, "graph_vjp"))


if __name__ == "__main__":
    main()
