"""Reading gradients: LaTeX in matrix notation, the chain rule step by step, graph pictures.

    python examples/reading_gradients.py            # prints LaTeX, an explain table, Mermaid
    python examples/reading_gradients.py --svg out.svg   # also draws E3's graph (needs graphviz)

Every formula printed here is derived by symback from the loss alone (seed examples
E1, E2, E3 and E6 of the project's reference). The printed forms come from a
display copy of each gradient; the gradients that get compiled are untouched.
"""

from __future__ import annotations

import argparse
import sys

import symback as sb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", help="write E3's graph picture here (needs graphviz)")
    args = parser.parse_args(argv)

    # E2: the logistic loss; dL/dz prints as the textbooks write it
    z, y = sb.symbols("z y")
    a = sb.sigmoid(z)
    L = -(y * sb.log(a) + (1 - y) * sb.log(1 - a))
    print("E2  dL/dz =", sb.latex(sb.grad(L, z)))

    # E3: N = X W, S = sigma(N), L = sum S
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    N = X @ W
    L3 = sb.sum(sb.sigmoid(N))
    dX, dW = sb.grad(L3, [X, W])
    print("E3  dL/dW =", sb.latex(dW))
    print("E3  dL/dX =", sb.latex(dX))
    print("E3  with names:")
    print(sb.latex(dW, names={N: "N", sb.sigmoid(N): "S"}))

    # E6: ReLU network, softmax cross-entropy (batch mean), weight decay
    Xb, Y = sb.matrix("X", "m", "d"), sb.matrix("Y", "m", "k")
    W1, W2 = sb.matrix("W1", "d", "h"), sb.matrix("W2", "h", "k")
    lam = sb.symbols("lambda")
    H = sb.relu(Xb @ W1)
    U = H @ W2
    J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) + lam * (sb.sum(W1**2) + sb.sum(W2**2))
    g1, g2 = sb.grad(J, [W1, W2])
    print("E6  dJ/dW2 =", sb.latex(g2, names={H: "H", U: "U"}, onehot=[Y]))
    print("E6  dJ/dW1 =", sb.latex(g1, names={H: "H", U: "U"}, onehot=[Y]))

    # E1: the grad table, as a Markdown table
    a1, b1, c1 = sb.symbols("a b c")
    J1 = 3 * (a1 + b1 * c1)
    print()
    print(sb.explain(J1, [a1, b1, c1], at={"a": 7, "b": 4, "c": 2}, output="J").markdown())

    # A picture of E3's graph: forward nodes and derivative nodes apart
    print()
    print(sb.to_mermaid(L3, dW))
    if args.svg:
        try:
            sb.render(L3, dX, dW, format="svg", path=args.svg)
        except sb.SymbackError as e:
            print(f"(no picture: {e})", file=sys.stderr)
            return 1
        print(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
