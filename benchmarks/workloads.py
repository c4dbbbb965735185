"""The workloads W2–W5 (see shared/reference/peers.md): symback builds and hand-written NumPy.

Every hand-written gradient is derived on paper (the formula is in its
docstring) and is the reference every other implementation is checked
against before it is timed.

* W2 Rosenbrock:  f = Σ_{i<n−1} 100 (x_{i+1} − x_i²)² + (1 − x_i)², n scalar symbols.
* W3 deep chain:  x₀ = x, x_{k+1} = sin(x_k) x_k + cos(x_k) y, f = x_d; ∂f/∂x, ∂f/∂y.
* W4 MLP step:    H = relu(X W1), U = H W2,
                  J = mean softmax cross-entropy + λ (ΣW1² + ΣW2²), hidden 256, λ = 1e-4.
* W5 logistic:    mean binary cross-entropy of σ(X w + b), full batch.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import symback as sb

# --------------------------------------------------------------------------- W2


def w2_symback(n: int) -> tuple[list[sb.Expr], sb.Expr]:
    """The Rosenbrock function over n scalar symbols x0 ... x{n-1}."""
    xs = list(sb.symbols([f"x{i}" for i in range(n)]))
    f: Any = 0
    for i in range(n - 1):
        f = f + 100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
    return xs, f


def w2_f_hand(x: np.ndarray) -> np.ndarray:
    """f(x) for x of shape (n,) or (n, points)."""
    d = x[1:] - x[:-1] ** 2
    return np.sum(100.0 * d * d + (1.0 - x[:-1]) ** 2, axis=0)


def w2_grad_hand(x: np.ndarray) -> np.ndarray:
    """∂f/∂x_i = −400 x_i (x_{i+1} − x_i²) − 2 (1 − x_i)  [i < n−1]  + 200 (x_i − x_{i−1}²)  [i > 0]."""
    d = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


# --------------------------------------------------------------------------- W3


def w3_symback(d: int) -> tuple[list[sb.Expr], sb.Expr]:
    """The deep chain of depth d over the scalar symbols x, y."""
    x, y = sb.symbols("x y")
    z = x
    for _ in range(d):
        z = sb.sin(z) * z + sb.cos(z) * y
    return [x, y], z


def w3_f_hand(x: Any, y: Any, d: int) -> Any:
    z = x
    for _ in range(d):
        z = np.sin(z) * z + np.cos(z) * y
    return z


def w3_grad_hand(x: Any, y: Any, d: int) -> tuple[Any, Any]:
    """Reverse sweep by hand.  ∂x_{k+1}/∂x_k = cos(x_k) x_k + sin(x_k)(1 − y),  ∂x_{k+1}/∂y = cos(x_k).

    z̄ ← z̄ · ∂x_{k+1}/∂x_k and ȳ ← ȳ + z̄ · cos(x_k), for k = d−1 ... 0 (z̄ = 1 at the top).
    """
    zs = [x]
    for _ in range(d):
        z = zs[-1]
        zs.append(np.sin(z) * z + np.cos(z) * y)
    zbar = np.ones_like(np.asarray(x, dtype=float))
    ybar = np.zeros_like(zbar)
    for k in range(d - 1, -1, -1):
        z = zs[k]
        s, c = np.sin(z), np.cos(z)
        ybar = ybar + zbar * c
        zbar = zbar * (c * z + s * (1.0 - y))
    return zbar, ybar


# --------------------------------------------------------------------------- W4

D_IN, N_CLASSES, LAM = 64, 10, 1e-4


def w4_data(batch: int, dtype: str, quick: bool = False, hidden: int = 256
            ) -> dict[str, np.ndarray]:
    """Digits (standardised, one-hot labels) when scikit-learn is installed, else random data
    of the same shape; the first ``batch`` rows. Weights from a fixed seed."""
    rng = np.random.default_rng(0)
    X = y = None
    if not quick:
        try:
            from sklearn.datasets import load_digits

            X, y = load_digits(return_X_y=True)
            X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
        except ImportError:  # pragma: no cover - optional
            X = None
    if X is None:
        X = rng.standard_normal((1797, D_IN))
        y = rng.integers(0, N_CLASSES, 1797)
    reps = -(-batch // len(X))
    X = np.tile(X, (reps, 1))[:batch]
    y = np.tile(y, reps)[:batch]
    Y = np.eye(N_CLASSES)[y]
    W1 = rng.standard_normal((D_IN, hidden)) * np.sqrt(2.0 / D_IN)
    W2 = rng.standard_normal((hidden, N_CLASSES)) * np.sqrt(1.0 / hidden)
    cast = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in
            {"X": X, "Y": Y, "W1": W1, "W2": W2}.items()}
    return cast


def w4_symback(batch: int, dtype: str, hidden: int = 256) -> tuple[list[sb.Expr], sb.Expr,
                                                                    list[sb.Expr]]:
    """(args, J, wrt) for the MLP step; args in the order X, Y, W1, W2."""
    X = sb.matrix("X", batch, D_IN, dtype=dtype)
    Y = sb.matrix("Y", batch, N_CLASSES, dtype=dtype)
    W1 = sb.matrix("W1", D_IN, hidden, dtype=dtype)
    W2 = sb.matrix("W2", hidden, N_CLASSES, dtype=dtype)
    U = sb.relu(X @ W1) @ W2
    J = -sb.sum(Y * sb.log_softmax(U, axis=1)) / batch + LAM * (sb.sum(W1 ** 2) + sb.sum(W2 ** 2))
    return [X, Y, W1, W2], J, [W1, W2]


def w4_loss_torch(torch: Any, X: Any, Y: Any, W1: Any, W2: Any) -> Any:
    """W4's J written in PyTorch (the peers and the backend benchmarks time its autograd)."""
    U = torch.relu(X @ W1) @ W2
    return (-torch.sum(Y * torch.log_softmax(U, dim=1)) / X.shape[0]
            + LAM * (torch.sum(W1 ** 2) + torch.sum(W2 ** 2)))


def w4_loss_jax(jax: Any, W1: Any, W2: Any, X: Any, Y: Any) -> Any:
    """W4's J written in JAX, parameters first (for ``jax.value_and_grad(argnums=(0, 1))``)."""
    jnp = jax.numpy
    U = jnp.maximum(X @ W1, 0) @ W2
    return (-jnp.sum(Y * jax.nn.log_softmax(U, axis=1)) / X.shape[0]
            + LAM * (jnp.sum(W1 ** 2) + jnp.sum(W2 ** 2)))


class MLPHand:
    """Hand-written backprop for W4, reusing its buffers between calls (as a careful
    NumPy programmer writes a training step). Gradients are returned as fresh arrays.

    Z = X W1, H = max(Z, 0), U = H W2, P = softmax(U);
    J = −(1/B) Σ Y ⊙ log P + λ (ΣW1² + ΣW2²);
    Ū = (P − Y)/B (rows of Y sum to one), W̄2 = Hᵀ Ū + 2λ W2,
    H̄ = Ū W2ᵀ ⊙ 1[Z > 0], W̄1 = Xᵀ H̄ + 2λ W1.
    """

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def _buf(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        b = self._bufs.get(name)
        if b is None or b.shape != shape or b.dtype != dtype:
            b = self._bufs[name] = np.empty(shape, dtype)
        return b

    def __call__(self, X: np.ndarray, Y: np.ndarray, W1: np.ndarray, W2: np.ndarray
                 ) -> tuple[Any, np.ndarray, np.ndarray]:
        B, dt = X.shape[0], X.dtype
        hidden, C = W1.shape[1], W2.shape[1]
        Z = np.matmul(X, W1, out=self._buf("Z", (B, hidden), dt))
        H = np.maximum(Z, 0.0, out=self._buf("H", (B, hidden), dt))
        U = np.matmul(H, W2, out=self._buf("U", (B, C), dt))
        U -= U.max(axis=1, keepdims=True)
        E = np.exp(U, out=self._buf("E", (B, C), dt))
        s = E.sum(axis=1, keepdims=True)
        U -= np.log(s)                                   # log P
        J = -np.vdot(Y, U) / B + LAM * (np.vdot(W1, W1) + np.vdot(W2, W2))
        E /= s                                           # P
        E -= Y
        E *= 1.0 / B                                     # Ū
        gW2 = H.T @ E
        gW2 += (2 * LAM) * W2
        dH = np.matmul(E, W2.T, out=self._buf("dH", (B, hidden), dt))
        dH *= np.greater(Z, 0.0, out=self._buf("mask", (B, hidden), np.bool_))
        gW1 = X.T @ dH
        gW1 += (2 * LAM) * W1
        return J, gW1, gW2


# --------------------------------------------------------------------------- W5


def w5_data(quick: bool = False) -> dict[str, np.ndarray]:
    """Breast cancer (569 × 30, standardised) when scikit-learn is installed, else random."""
    rng = np.random.default_rng(1)
    X = y = None
    if not quick:
        try:
            from sklearn.datasets import load_breast_cancer

            X, y = load_breast_cancer(return_X_y=True)
            X = (X - X.mean(0)) / X.std(0)
        except ImportError:  # pragma: no cover - optional
            X = None
    if X is None:
        m = 40 if quick else 569
        X = rng.standard_normal((m, 30))
        y = (X @ rng.standard_normal(30) > 0).astype(float)
    return {"X": np.ascontiguousarray(X, dtype=np.float64), "y": y.astype(np.float64),
            "w": rng.standard_normal(X.shape[1]) * 0.1, "b": 0.1}


def w5_symback(m: int, d: int) -> tuple[list[sb.Expr], sb.Expr, list[sb.Expr]]:
    """(args, L, wrt): L = −mean(y log p + (1 − y) log(1 − p)), p = σ(X w + b)."""
    X, y, w = sb.matrix("X", m, d), sb.vector("y", m), sb.vector("w", d)
    b = sb.symbols("b")
    p = sb.sigmoid(X @ w + b)
    L = -sb.mean(y * sb.log(p) + (1 - y) * sb.log(1 - p))
    return [X, y, w, b], L, [w, b]


def w5_hand(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float
            ) -> tuple[Any, np.ndarray, Any]:
    """p = σ(X w + b), L = −mean(y log p + (1 − y) log(1 − p)),  r = (p − y)/m,
    ∂L/∂w = Xᵀ r,  ∂L/∂b = Σ r."""
    z = X @ w
    z += b
    p = 1.0 / (1.0 + np.exp(-z))
    L = -np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p))
    r = p - y
    r *= 1.0 / len(y)
    return L, X.T @ r, r.sum()


def check_close(name: str, got: Any, want: Any, rtol: float, atol: float) -> float:
    """Largest error relative to the reference scale; raises AssertionError if not close."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {got.shape} != reference {want.shape}")
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    if not np.allclose(got, want, rtol=rtol, atol=atol * max(scale, 1.0)):
        raise AssertionError(f"{name}: max error {err:.3g} (reference scale {scale:.3g})")
    return err / max(scale, 1e-300)


Maker = Callable[[], Callable[[], Any]]
