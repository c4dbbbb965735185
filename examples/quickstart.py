"""Quick start: a scalar gradient and a matrix gradient, derived, compiled and evaluated.

Run: python examples/quickstart.py
"""

import numpy as np

import symback as sb

# A scalar gradient (seed E1): J = 3(a + b c).
a, b, c = sb.symbols("a b c")
J = 3 * (a + b * c)
dJ = sb.grad(J, [a, b, c])
print("J          =", J)
print("dJ/d(a,b,c) =", dJ)
f = sb.lambdify([a, b, c], [J, *dJ])
print("at (5, 3, 2):", [float(v) for v in f(5.0, 3.0, 2.0)])  # 33, 3, 6, 9

# A matrix gradient (seed E3): L = sum(sigmoid(X @ W)).
X = sb.matrix("X", 3, 3)
W = sb.matrix("W", 3, 2)
L = sb.sum(sb.sigmoid(X @ W))
dX, dW = sb.grad(L, [X, W])
print("dL/dX =", dX)
print("dL/dW =", dW)
step = sb.value_and_grad(L, [X, W], args=[X, W])
np.random.seed(190204)
value, (gX, gW) = step(np.random.randn(3, 3), np.random.randn(3, 2))
print("L =", round(float(value), 8), " dL/dX[0] =", np.round(gX[0], 8))
print("\nThe generated NumPy:\n" + step.source)
