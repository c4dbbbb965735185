"""A plain node-by-node NumPy interpreter, independent of symback's code generator.

It walks the graph in topological order and evaluates every node with its own
NumPy formula from ``IMPL`` below, written here from the textbook definitions
(``softplus`` via ``np.logaddexp``, ``logsumexp`` via ``np.logaddexp.reduce``,
``sigmoid`` as ``1 / (1 + e^{-x})``): no op template, helper or generated
source of symback is used for ops listed in ``IMPL``. Ops added later that have
no entry here fall back to the op's own NumPy template (``TEMPLATE_FALLBACK``
records which), so the interpreter keeps working while the fuzzer still
flags them for an independent formula.

Everything is computed in float64 (inputs are cast), so the interpreter is the
oracle for both float64 and float32 compiled code.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from symback.graph import Expr, render_numpy, toposort

Impl = Callable[[list[Any], dict[str, Any]], Any]


def _axis(kw: Mapping[str, Any]) -> Any:
    return kw.get("axis")


def _sigmoid(x: Any) -> Any:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _lse(x: Any, axis: Any, keepdims: bool) -> Any:
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        axis = tuple(range(x.ndim))
    if axis == ():
        return x.copy()
    return np.logaddexp.reduce(x, axis=axis, keepdims=keepdims)


def _matmul(a: Any, b: Any) -> Any:
    return np.matmul(a, b)


def _index(index: Any) -> tuple[Any, ...]:
    """symback's normalised index (("i", k), ("s", start, stop, step), ("n",)) as a NumPy index."""
    out: list[Any] = []
    for e in index:
        if e[0] == "i":
            out.append(e[1])
        elif e[0] == "s":
            out.append(slice(e[1], e[2], e[3]))
        else:
            out.append(None)
    return tuple(out)


def _scatter(x: Any, shape: tuple[int, ...], index: Any) -> Any:
    out = np.zeros(shape)
    out[_index(index)] = x
    return out


def _ints(a: Any) -> Any:
    return np.asarray(a).astype(np.int64)


def _take(x: Any, idx: Any, axis: int) -> Any:
    return np.asarray(x)[(slice(None),) * axis + (_ints(idx),)]


def _scatter_add(v: Any, idx: Any, axis: int, size: int) -> Any:
    """np.add.at along ``axis`` (the generated code uses a bincount instead)."""
    v = np.asarray(v, dtype=np.float64)
    idx = _ints(idx)
    out = np.zeros(v.shape[:axis] + (size,) + v.shape[axis + idx.ndim:])
    np.add.at(out, (slice(None),) * axis + (idx,), v)
    return out


def _along_index(idx: Any, axis: int, shape: tuple[int, ...]) -> tuple[Any, ...]:
    idx = _ints(idx)
    full = np.broadcast_shapes(idx.shape, tuple(1 if i == axis else d
                                                for i, d in enumerate(shape)))
    out = []
    for d in range(len(shape)):
        if d == axis:
            out.append(np.broadcast_to(idx, full))
        else:
            grid = np.arange(full[d]) if shape[d] != 1 else np.zeros(full[d], dtype=np.int64)
            out.append(np.broadcast_to(grid.reshape((1,) * d + (-1,) + (1,) * (len(shape) - d - 1)),
                                       full))
    return tuple(out)


def _scatter_add_along(v: Any, idx: Any, axis: int, shape: tuple[int, ...]) -> Any:
    out = np.zeros(shape)
    np.add.at(out, _along_index(idx, axis, shape), np.asarray(v, dtype=np.float64))
    return out


IMPL: dict[str, Impl] = {
    # issue 11 (np-shape): gathers, their adjoints, sorting permutations, creation, casts
    "take": lambda a, kw: _take(a[0], a[1], kw["axis"]),
    "scatter_add": lambda a, kw: _scatter_add(a[0], a[1], kw["axis"], kw["size"]),
    "take_along_axis": lambda a, kw: np.asarray(a[0])[
        _along_index(a[1], kw["axis"], np.shape(a[0]))],
    "scatter_add_along": lambda a, kw: _scatter_add_along(a[0], a[1], kw["axis"], kw["shape"]),
    "argsort": lambda a, kw: np.argsort(a[0], axis=kw["axis"], kind="stable"),
    "argpartition": lambda a, kw: np.argpartition(a[0], kw["kth"], axis=kw["axis"]),
    "astype": lambda a, kw: np.asarray(a[0]).astype(kw["dtype"]),
    "full": lambda a, kw: np.full(kw["shape"], kw["fill_value"].value),
    "arange": lambda a, kw: np.arange(kw["start"], kw["stop"], kw["step"]),
    "linspace": lambda a, kw: np.linspace(kw["start"], kw["stop"], kw["num"],
                                          endpoint=kw["endpoint"]),
    # structural
    "broadcast_to": lambda a, kw: np.broadcast_to(a[0], kw["shape"]),
    "expand_dims": lambda a, kw: np.expand_dims(a[0], kw["axis"]),
    "squeeze": lambda a, kw: np.squeeze(a[0], kw["axis"]),
    "count": lambda a, kw: float(math.prod(kw["dims"])),
    # arithmetic
    "add": lambda a, kw: np.add(a[0], a[1]),
    "sub": lambda a, kw: np.subtract(a[0], a[1]),
    "mul": lambda a, kw: np.multiply(a[0], a[1]),
    "div": lambda a, kw: np.divide(a[0], a[1]),
    "neg": lambda a, kw: np.negative(a[0]),
    "pow": lambda a, kw: np.power(a[0], a[1]),
    # transcendental
    "exp": lambda a, kw: np.exp(a[0]),
    "log": lambda a, kw: np.log(a[0]),
    "log1p": lambda a, kw: np.log1p(a[0]),
    "expm1": lambda a, kw: np.expm1(a[0]),
    "sqrt": lambda a, kw: np.sqrt(a[0]),
    "sin": lambda a, kw: np.sin(a[0]),
    "cos": lambda a, kw: np.cos(a[0]),
    "tan": lambda a, kw: np.tan(a[0]),
    "tanh": lambda a, kw: np.tanh(a[0]),
    "sigmoid": lambda a, kw: _sigmoid(a[0]),
    "softplus": lambda a, kw: np.logaddexp(0.0, a[0]),
    # piecewise
    "greater": lambda a, kw: np.greater(a[0], a[1]),
    "greater_equal": lambda a, kw: np.greater_equal(a[0], a[1]),
    "less": lambda a, kw: np.less(a[0], a[1]),
    "less_equal": lambda a, kw: np.less_equal(a[0], a[1]),
    "equal": lambda a, kw: np.equal(a[0], a[1]),
    "where": lambda a, kw: np.where(a[0], a[1], a[2]),
    "relu": lambda a, kw: np.where(np.asarray(a[0]) > 0, a[0], 0.0),
    "sign": lambda a, kw: np.sign(a[0]),
    "abs": lambda a, kw: np.abs(a[0]),
    "maximum": lambda a, kw: np.maximum(a[0], a[1]),
    "minimum": lambda a, kw: np.minimum(a[0], a[1]),
    # reductions
    "sum": lambda a, kw: np.sum(a[0], axis=_axis(kw), keepdims=kw.get("keepdims", False)),
    "mean": lambda a, kw: np.mean(a[0], axis=_axis(kw), keepdims=kw.get("keepdims", False)),
    "logsumexp": lambda a, kw: _lse(a[0], _axis(kw), kw.get("keepdims", False)),
    "softmax": lambda a, kw: np.exp(a[0] - _lse(a[0], _axis(kw), True)),
    "log_softmax": lambda a, kw: a[0] - _lse(a[0], _axis(kw), True),
    # layer norm: (x − mean) / √(biased variance + ε) over the trailing axes
    "layer_norm": lambda a, kw: (a[0] - np.mean(a[0], axis=kw["axis"], keepdims=True))
    / np.sqrt(np.var(a[0], axis=kw["axis"], keepdims=True) + kw["eps"]),
    # linear algebra
    "transpose": lambda a, kw: np.transpose(a[0], kw["axes"]),
    "matmul": lambda a, kw: _matmul(a[0], a[1]),
    "outer": lambda a, kw: np.outer(a[0], a[1]),
    "vdot": lambda a, kw: np.sum(np.multiply(a[0], a[1])),
    # matrix functions
    "eye": lambda a, kw: np.eye(kw["n"]),
    "trace": lambda a, kw: np.trace(a[0]),
    "det": lambda a, kw: np.linalg.det(a[0]),
    "logdet": lambda a, kw: np.linalg.slogdet(a[0])[1],
    "inv": lambda a, kw: np.linalg.inv(a[0]).T if kw.get("transpose") else np.linalg.inv(a[0]),
    "solve": lambda a, kw: np.linalg.solve(a[0], a[1]) if np.ndim(a[1]) == 2
    else np.linalg.solve(a[0], a[1][:, None])[:, 0],
    "diag": lambda a, kw: np.diag(a[0]),
    "reshape": lambda a, kw: np.reshape(a[0], kw["shape"]),
    "stack": lambda a, kw: np.stack(a, axis=kw["axis"]),
    "concatenate": lambda a, kw: np.concatenate(a, axis=kw["axis"]),
    "getitem": lambda a, kw: a[0][_index(kw["index"])],
    "index_scatter": lambda a, kw: _scatter(a[0], kw["shape"], kw["index"]),
    "tensordot": lambda a, kw: np.tensordot(a[0], a[1], axes=(list(kw["axes"][0]),
                                                              list(kw["axes"][1]))),
    # --- issue 11: ufuncs, special, stats (textbook formulas; SciPy for special functions)
    **{n: (lambda f: lambda a, kw: f(a[0]))(getattr(np, n)) for n in (
        "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
        "floor", "ceil")},
    "log2": lambda a, kw: np.log(a[0]) / math.log(2.0),
    "log10": lambda a, kw: np.log(a[0]) / math.log(10.0),
    "exp2": lambda a, kw: np.power(2.0, a[0]),
    "round": lambda a, kw: np.round(a[0], kw["decimals"]),
    "sinc": lambda a, kw: np.where(np.asarray(a[0]) == 0, 1.0, np.sin(np.pi * np.where(
        np.asarray(a[0]) == 0, 1.0, a[0])) / (np.pi * np.where(np.asarray(a[0]) == 0, 1.0, a[0]))),
    "clip": lambda a, kw: np.minimum(np.maximum(a[0], a[1]), a[2]),
    "nan_to_num": lambda a, kw: np.nan_to_num(a[0], nan=kw["nan"], posinf=kw["posinf"],
                                              neginf=kw["neginf"]),
    "arctan2": lambda a, kw: np.arctan2(a[0], a[1]),
    "hypot": lambda a, kw: np.sqrt(np.square(a[0]) + np.square(a[1])),
    "logaddexp": lambda a, kw: np.logaddexp(a[0], a[1]),
    "logaddexp2": lambda a, kw: np.logaddexp(a[0] * math.log(2.0), a[1] * math.log(2.0))
    / math.log(2.0),
    "mod": lambda a, kw: a[0] - a[1] * np.floor(np.divide(a[0], a[1])),
    "fmax": lambda a, kw: np.fmax(a[0], a[1]),
    "fmin": lambda a, kw: np.fmin(a[0], a[1]),
    "erf": lambda a, kw: _scipy("erf")(a[0]),
    "erfc": lambda a, kw: _scipy("erfc")(a[0]),
    "gammaln": lambda a, kw: _scipy("gammaln")(a[0]),
    "digamma": lambda a, kw: _scipy("psi")(a[0]),
    "polygamma": lambda a, kw: _scipy("polygamma")(kw["n"], a[0]),
    "xlogy": lambda a, kw: np.where(np.asarray(a[0]) == 0, 0.0, a[0] * np.log(a[1])),
    "xlog1py": lambda a, kw: np.where(np.asarray(a[0]) == 0, 0.0, a[0] * np.log1p(a[1])),
    "logit": lambda a, kw: np.log(a[0] / (1.0 - np.asarray(a[0]))),
    "max": lambda a, kw: np.amax(a[0], axis=_axis(kw), keepdims=kw["keepdims"]),
    "min": lambda a, kw: np.amin(a[0], axis=_axis(kw), keepdims=kw["keepdims"]),
    "prod": lambda a, kw: np.prod(a[0], axis=kw["axis"], keepdims=kw["keepdims"]),
    "cumsum": lambda a, kw: np.cumsum(a[0], axis=kw["axis"]),
    "cumprod": lambda a, kw: np.cumprod(a[0], axis=kw["axis"]),
    "var": lambda a, kw: np.mean(np.square(a[0] - np.mean(a[0], axis=_axis(kw), keepdims=True)),
                                 axis=_axis(kw), keepdims=kw["keepdims"])
    * _ddof_factor(np.shape(a[0]), _axis(kw), kw["ddof"]),
    "std": lambda a, kw: np.sqrt(np.mean(np.square(a[0] - np.mean(
        a[0], axis=_axis(kw), keepdims=True)), axis=_axis(kw), keepdims=kw["keepdims"])
        * _ddof_factor(np.shape(a[0]), _axis(kw), kw["ddof"])),
}


def _scipy(name: str) -> Any:
    import scipy.special

    return getattr(scipy.special, name)


def _ddof_factor(shape: tuple[int, ...], axis: Any, ddof: Any) -> float:
    """N / (N - ddof), N the number of entries reduced."""
    axes = range(len(shape)) if axis is None else axis
    n = math.prod(shape[i] for i in axes)
    return n / (n - ddof) if n != ddof else math.inf


# --- issue 11: contractions and linear algebra (np-linalg): textbook formulas


def _cross(a: Any, b: Any) -> Any:
    a, b = np.broadcast_arrays(a, b)
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def _solve_tri(a: Any, b: Any, kw: Mapping[str, Any]) -> Any:
    t = np.tril(a) if kw["lower"] else np.triu(a)
    if kw["unit_diagonal"]:
        t = t - np.diag(np.diag(t)) + np.eye(t.shape[-1])
    if kw["trans"]:
        t = np.swapaxes(t, -1, -2)
    b = np.asarray(b)
    return np.linalg.inv(t) @ b


def _vector_norm(x: Any, kw: Mapping[str, Any]) -> Any:
    p, axis, keep = kw["ord"], kw["axis"], kw["keepdims"]
    a = np.abs(x)
    if p == np.inf:
        return np.max(a, axis=axis, keepdims=keep)
    if p == -np.inf:
        return np.min(a, axis=axis, keepdims=keep)
    return np.sum(a ** p, axis=axis, keepdims=keep) ** (1.0 / p)


def _eigh_packed(x: Any) -> Any:
    w, v = np.linalg.eigh(x)
    return np.concatenate((w[..., None, :], v), axis=-2)


def _svd_packed(x: Any) -> Any:
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return np.concatenate((u, s[..., None, :], np.swapaxes(vh, -1, -2)), axis=-2)


def _qr_packed(x: Any) -> Any:
    q, r = np.linalg.qr(x)
    return np.concatenate((q, np.swapaxes(r, -1, -2)), axis=-2)


IMPL.update({
    "einsum": lambda a, kw: np.einsum(kw["subscripts"], *a),
    "cross": lambda a, kw: _cross(a[0], a[1]),
    "tril": lambda a, kw: np.tril(a[0], kw["k"]),
    "triu": lambda a, kw: np.triu(a[0], kw["k"]),
    "solve_triangular": lambda a, kw: _solve_tri(a[0], a[1], kw),
    "cholesky": lambda a, kw: np.linalg.cholesky(a[0]),
    "slogdet": lambda a, kw: np.stack(np.linalg.slogdet(a[0])),
    "linalg_part": lambda a, kw: np.asarray(a[0])[_index(kw["index"])],
    "eigh": lambda a, kw: _eigh_packed(a[0]),
    "svd": lambda a, kw: _svd_packed(a[0]),
    "qr": lambda a, kw: _qr_packed(a[0]),
    "vector_norm": lambda a, kw: _vector_norm(a[0], kw),
    "pinv": lambda a, kw: np.linalg.pinv(a[0]),
})

# ops evaluated through their own NumPy template (no independent formula yet)
TEMPLATE_FALLBACK: set[str] = set()


def _template(node: Expr, args: list[Any], sizes: Mapping[str, int]) -> Any:
    from symback import numeric

    names = [f"_a{i}" for i in range(len(args))]
    ns: dict[str, Any] = {"np": np, **dict(zip(names, args))}
    for h, fn in numeric.HELPERS.items():
        ns[h] = fn
    src = render_numpy(node.op, names, node.kw, lambda d: str(sizes[d]))
    return eval(src, ns)  # noqa: S307 - an op template over local names, test-only


def _resolve(shape: tuple[Any, ...], sizes: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else sizes[d] for d in shape)


def bind_sizes(env: Mapping[Expr, Any]) -> dict[str, int]:
    """Symbolic dimension -> size, read off the symbols' values."""
    sizes: dict[str, int] = {}
    for s, v in env.items():
        for d, n in zip(s.shape, np.shape(v)):
            if isinstance(d, str):
                sizes.setdefault(d, int(n))
    return sizes


def eval_node(node: Expr, args: list[Any], sizes: Mapping[str, int] | None = None) -> Any:
    """The value of one non-symbol node from its arguments' values (float64)."""
    sizes = sizes or {}
    if node.is_const:
        v = node.value
        return np.asarray(v, dtype=np.float64) if np.asarray(v).dtype.kind != "b" \
            else np.asarray(v)
    kw = node.kw
    if "shape" in kw:
        kw["shape"] = _resolve(kw["shape"], sizes)
    if "n" in kw and isinstance(kw["n"], str):
        kw["n"] = sizes[kw["n"]]
    for k in ("size", "num", "stop"):  # symbolic sizes of scatter_add, linspace, arange
        if isinstance(kw.get(k), str):
            kw[k] = sizes[kw[k]]
    if "dims" in kw:
        kw["dims"] = tuple(d if isinstance(d, int) else sizes[d] for d in kw["dims"])
    impl = IMPL.get(node.op.name)
    with np.errstate(all="ignore"):
        if impl is None:
            TEMPLATE_FALLBACK.add(node.op.name)
            out = _template(node, args, sizes)
        else:
            out = impl(args, kw)
    out = np.asarray(out)
    if out.dtype.kind in "iuf":
        out = out.astype(np.float64)
    return out


def evaluate(roots: Iterable[Expr], env: Mapping[Expr, Any],
             cache: dict[Expr, Any] | None = None, check_shapes: bool = True
             ) -> list[np.ndarray]:
    """Values of ``roots`` given ``env`` (symbol -> value); ``cache`` is filled and reused.

    With ``check_shapes`` every node's value must have the shape its op's shape
    rule declared (symbolic sizes resolved from ``env``): an ``AssertionError``
    names the node otherwise.
    """
    roots = list(roots)
    cache = {} if cache is None else cache
    sizes = bind_sizes(env)
    for node in toposort(roots):
        if node in cache:
            continue
        if node.is_symbol:
            if node not in env:
                raise KeyError(f"no value for symbol {node.name}")
            cache[node] = np.asarray(env[node], dtype=np.float64)
            continue
        value = eval_node(node, [cache[a] for a in node.args], sizes)
        if check_shapes and value.shape != _resolve(node.shape, sizes):
            raise AssertionError(
                f"shape rule of {node.op.name} says {node.shape}, NumPy gives {value.shape}: "
                f"{str(node)[:300]}")
        cache[node] = value
    return [cache[r] for r in roots]
