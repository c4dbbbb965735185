"""Training helpers: several parameter tensors as one flat vector, for SciPy's optimizers.

``scipy.optimize.minimize(fun, x0, jac=True)`` wants ``fun(theta) -> (f, g)``
with ``theta`` and ``g`` flat 1-D arrays. :func:`flat_value_and_grad` compiles
a loss and its gradients once (one generated NumPy function computes the value
and every gradient) and wraps it so that ``theta`` is cut into the parameter
tensors (views, no copies) and the gradients are laid end to end in the same
order. Data symbols may have symbolic sizes (``sb.matrix("X", "n", 64)``), so
one compiled function takes batches of any size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .codegen import value_and_grad
from .errors import ShapeError, SymbackError
from .graph import Expr, as_expr, free_symbols
from .shapes import Shape, fmt


def _concrete_size(p: Expr) -> int:
    """The number of entries of a parameter symbol, whose shape must be all ints."""
    n = 1
    for d in p.shape:
        if not isinstance(d, int):
            raise ShapeError(
                f"flat_value_and_grad: parameter {p.name} has shape {fmt(p.shape)}; a flat "
                "parameter vector needs every parameter dimension to be a number, not a name",
                op="flat_value_and_grad", shapes=(p.shape,),
            )
        n *= d
    return n


class FlatValueAndGrad:
    """``f(theta, *data) -> (value, gradient)`` over one flat parameter vector ``theta``.

    ``theta`` is the parameters ``params`` raveled (C order) and laid end to
    end; the gradient has the same layout, so for parameters ``p_1 ... p_k``

        theta = [vec(p_1), ..., vec(p_k)],   g = [vec(∂L/∂p_1), ..., vec(∂L/∂p_k)].

    The value is a Python ``float`` and the gradient a 1-D array of ``theta``'s
    dtype (float64 for SciPy). :meth:`pack` and :meth:`unpack` convert
    between the tensors and ``theta``; ``.compiled`` is the underlying
    ``sb.value_and_grad`` function (arguments: params, then data) and
    ``.source`` its generated NumPy.
    """

    def __init__(self, loss: Expr, params: Sequence[Expr], data: Sequence[Expr],
                 check: bool = True, backend: str = "numpy", **options: Any) -> None:
        self.loss = loss
        self.params = tuple(params)
        self.data = tuple(data)
        self.shapes: tuple[Shape, ...] = tuple(p.shape for p in self.params)
        self.sizes = tuple(_concrete_size(p) for p in self.params)
        self.offsets = tuple(int(o) for o in np.cumsum((0,) + self.sizes))
        self.size = self.offsets[-1]
        self.backend = backend
        self.compiled = value_and_grad(loss, list(self.params),
                                       args=list(self.params) + list(self.data), check=check,
                                       backend=backend, **options)

    @property
    def source(self) -> str:
        """The generated NumPy source of the one compiled function."""
        return self.compiled.source

    # ---------------------------------------------------------------- packing

    def pack(self, values: Sequence[Any] | Mapping[Any, Any], dtype: Any = np.float64
             ) -> np.ndarray:
        """One flat vector from the parameter values (a list in ``params`` order, or a
        dict keyed by parameter symbol or name). Each value must have its parameter's shape.
        """
        if isinstance(values, Mapping):
            by_name = {(k.name if isinstance(k, Expr) else k): v for k, v in values.items()}
            missing = [p.name for p in self.params if p.name not in by_name]
            if missing:
                raise SymbackError(f"pack: no value for {', '.join(missing)}")
            extra = sorted(set(by_name) - {p.name for p in self.params})
            if extra:
                raise SymbackError(f"pack: {', '.join(map(str, extra))} are not parameters")
            items = [by_name[p.name] for p in self.params]
        else:
            items = list(values)
            if len(items) != len(self.params):
                raise SymbackError(
                    f"pack: expected {len(self.params)} values "
                    f"({', '.join(p.name for p in self.params)}), got {len(items)}"
                )
        theta = np.empty(self.size, dtype=dtype)
        for p, v, lo, hi in zip(self.params, items, self.offsets, self.offsets[1:]):
            a = np.asarray(v)
            if a.shape != p.shape:
                raise ShapeError(
                    f"pack: parameter {p.name} expects shape {fmt(p.shape)}, "
                    f"got {fmt(a.shape)}", op="pack", shapes=(p.shape, a.shape))
            theta[lo:hi] = a.ravel()
        return theta

    def unpack(self, theta: Any) -> list[np.ndarray]:
        """The parameter tensors cut out of ``theta`` (views into it, in ``params`` order)."""
        t = np.asarray(theta)
        if t.ndim != 1 or t.shape[0] != self.size:
            raise ShapeError(
                f"unpack: theta must be a 1-D array of {self.size} entries "
                f"({', '.join(f'{p.name} {fmt(p.shape)}' for p in self.params)}), "
                f"got shape {fmt(t.shape)}", op="unpack", shapes=((self.size,), t.shape))
        if t.dtype.kind != "f":
            t = t.astype(np.float64)
        return [t[lo:hi].reshape(shape)
                for lo, hi, shape in zip(self.offsets, self.offsets[1:], self.shapes)]

    def unpack_dict(self, theta: Any) -> dict[str, np.ndarray]:
        """Like :meth:`unpack`, keyed by parameter name."""
        return {p.name: a for p, a in zip(self.params, self.unpack(theta))}

    # ---------------------------------------------------------------- calling

    def __call__(self, theta: Any, *data: Any) -> tuple[float, np.ndarray]:
        """``(L(theta, *data), ∇_theta L)``: one call of the compiled function."""
        if len(data) != len(self.data):
            names = ", ".join(d.name for d in self.data) or "none"
            raise SymbackError(
                f"flat_value_and_grad: expected {len(self.data)} data argument(s) "
                f"({names}) after theta, got {len(data)}"
            )
        if self.backend in ("torch", "jax", "cupy"):
            return self._call_array(theta, data)
        parts = self.unpack(theta)
        value, grads = self.compiled(*parts, *data)
        flat = np.empty(self.size, dtype=parts[0].dtype if parts else np.float64)
        for g, lo, hi in zip(grads, self.offsets, self.offsets[1:]):
            flat[lo:hi] = np.ravel(g)
        return float(value), flat

    def _call_array(self, theta: Any, data: tuple[Any, ...]) -> tuple[float, Any]:
        """The torch/jax/cupy call: ``theta`` a NumPy vector (the gradient comes back as one,
        for SciPy) or the library's own array (the gradient stays there, on its device)."""
        native = not isinstance(theta, (np.ndarray, list, tuple))
        t = theta if native else np.asarray(theta, dtype=np.float64)
        if len(t.shape) != 1 or t.shape[0] != self.size:
            raise ShapeError(
                f"flat_value_and_grad: theta must be a 1-D array of {self.size} entries, got "
                f"shape {fmt(tuple(t.shape))}", op="flat_value_and_grad",
                shapes=((self.size,), tuple(t.shape)))
        parts = [t[lo:hi].reshape(shape)
                 for lo, hi, shape in zip(self.offsets, self.offsets[1:], self.shapes)]
        value, grads = self.compiled(*parts, *data)
        from .arrayapi import backend as array_backend

        xp = array_backend(self.backend).xp
        flat = xp.concat([xp.reshape(g, (-1,)) for g in grads]) if grads else xp.zeros(0)
        if not native:
            flat = np.asarray(flat.cpu() if hasattr(flat, "cpu") else
                              (flat.get() if hasattr(flat, "get") else flat), dtype=t.dtype)
        return float(value), flat

    def __repr__(self) -> str:
        ps = ", ".join(f"{p.name} {fmt(p.shape)}" for p in self.params)
        ds = ", ".join(d.name for d in self.data)
        return f"<symback flat value-and-grad: theta[{self.size}] = ({ps}); data ({ds})>"


def flat_value_and_grad(loss: Any, params: Sequence[Expr], data: Sequence[Expr] | None = None,
                        *, check: bool = True, backend: str = "numpy",
                        **options: Any) -> FlatValueAndGrad:
    """Compile ``loss`` for SciPy: ``f(theta, *data) -> (float, 1-D gradient)``.

    ``params`` are the symbols trained (concrete shapes); ``data`` the other
    symbols, passed after ``theta`` in this order (default: every other free
    symbol of ``loss``, by name). Value and gradients come from one compiled
    call; ``f.pack([...])`` and ``f.unpack(theta)`` convert to and from the
    tensors. ``backend`` (and ``options``) as for :func:`symback.lambdify`: with
    ``"dask"`` the data may be chunked ``dask.array``s; with ``"torch"``/``"jax"``/``"cupy"``
    a NumPy ``theta`` gives a NumPy gradient, a library array ``theta`` the library's.

    >>> import numpy as np, symback as sb
    >>> w, b = sb.vector("w", 2), sb.symbols("b")
    >>> X, y = sb.matrix("X", "n", 2), sb.vector("y", "n")
    >>> f = sb.flat_value_and_grad(sb.sum((X @ w + b - y) ** 2), [w, b], data=[X, y])
    >>> theta = f.pack([np.zeros(2), 0.0])
    >>> value, g = f(theta, np.eye(2), np.array([1.0, 2.0]))
    >>> value, g.tolist()
    (5.0, [-2.0, -4.0, -6.0])
    """
    loss = as_expr(loss)
    if loss.shape != ():
        raise SymbackError(
            f"flat_value_and_grad: the loss must be a scalar, but it has shape {fmt(loss.shape)}"
        )
    plist = [params] if isinstance(params, Expr) else list(params)
    for i, p in enumerate(plist):
        if not isinstance(p, Expr) or not p.is_symbol:
            raise SymbackError(f"flat_value_and_grad: params[{i}] is not a symbol: {p!r:.80}")
    if data is None:
        chosen = set(plist)
        dlist = [s for s in free_symbols(loss) if s not in chosen]
    else:
        dlist = [data] if isinstance(data, Expr) else list(data)
    return FlatValueAndGrad(loss, plist, dlist, check=check, backend=backend, **options)
