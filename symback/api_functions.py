"""Public functions over registered ops: ``sb.sigmoid`` is a function, not an :class:`Op`.

An op (:class:`symback.graph.Op`) is the one place that knows an operation; the
package exposes some ops directly to users (``sb.exp``, ``sb.maximum``,
``sb.where``, ...). :func:`public_function` wraps such an op into an ordinary
Python function so that ``help(sb.sigmoid)`` shows ``sigmoid(x)``, the maths and
an example, and so that documentation tools see a function with a signature:

* calling the function costs one extra Python frame over calling the op and builds
  exactly the node ``op(x)`` builds (nodes are interned: the same object); keyword
  calls (``sb.where(condition=c, x=a, y=b)``) are bound to the signature first;
* its docstring is assembled from what the op stores (``doc``, the VJP in words,
  and the LaTeX notation, rendered on sample symbols) and from the API notes
  below: a summary, the derivative, parameter names and a doctest example;
* ``__module__`` is ``"symback"`` and ``__qualname__`` the public name, so the
  function pickles by reference and ``sb.parse`` finds it by name; ``.op`` is the
  wrapped op.

The API notes of an op are looked up first in ``op.extra["api"]`` (a dict with
the keys of :class:`ApiNotes`), so an op module may carry its own; the table
:data:`NOTES` here holds them for the ops that do not.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from .errors import SymbackError
from .graph import Op


class ApiNotes(NamedTuple):
    """What a public op function's docstring says beyond the op's own ``doc``.

    Fields:
        summary: one line, what the function is.
        math: the definition and the derivative, one formula a line (plain text, Unicode).
        params: the parameter names (default: ``x`` for one argument, ``x1, x2`` for two).
        args: what each parameter accepts (one line each; default: expressions or numbers).
        example: doctest lines (without the ``import symback as sb`` line).
        sample: the arguments of the docstring's LaTeX sample, from symbols named after
            the parameters (default: those symbols; ``where`` needs a comparison first).
    """

    summary: str
    math: tuple[str, ...]
    example: str
    params: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None
    sample: Callable[..., tuple[Any, ...]] | None = None


_ANY = "an expression, or a Python number or NumPy array (made a constant)"
_EW = "Elementwise with NumPy broadcasting; the result is a float expression."


def _ex1(fn: str, at: str, values: str, comment: str = "") -> str:
    """The usual one-argument example: the value and the derivative at one point."""
    note = f"  # {comment}" if comment else ""
    return (f">>> x = sb.symbols(\"x\")\n"
            f">>> f = sb.lambdify([x], [sb.{fn}(x), sb.grad(sb.{fn}(x), x)])\n"
            f">>> [float('%.6f' % v) for v in f({at})]{note}\n"
            f"{values}")


def _ex_cmp(fn: str, sym: str, a: str, b: str, result: str) -> str:
    return (f">>> x, y = sb.symbols(\"x y\")\n"
            f">>> sb.{fn}(x, y)\n"
            f"x {sym} y\n"
            f">>> bool(sb.lambdify([x, y], sb.{fn}(x, y))({a}, {b}))\n"
            f"{result}")


def _cmp(fn: str, word: str, sym: str, a: str, b: str, result: str) -> ApiNotes:
    return ApiNotes(
        f"x1 {sym} x2 entry by entry, as a boolean expression (the condition of "
        f":func:`where`).",
        (f"y = [x1 {sym} x2]   (true where x1 is {word} x2)",
         "dy/dx1 = dy/dx2 = 0   (a comparison carries no derivative)"),
        _ex_cmp(fn, sym, a, b, result))


#: API notes of the ops that ``symback`` exposes as functions, by op name.
NOTES: dict[str, ApiNotes] = {
    "exp": ApiNotes(
        "The exponential e^x, entry by entry.",
        ("y = e^x", "dy/dx = e^x = y   (the reverse pass reuses the forward value)"),
        _ex1("exp", "0.0", "[1.0, 1.0]")),
    "log": ApiNotes(
        "The natural logarithm, entry by entry (NaN below zero, -inf at zero, as NumPy).",
        ("y = log x   (x > 0)", "dy/dx = 1 / x"),
        _ex1("log", "2.0", "[0.693147, 0.5]")),
    "log1p": ApiNotes(
        "log(1 + x), accurate for x near zero.",
        ("y = log(1 + x)", "dy/dx = 1 / (1 + x)"),
        _ex1("log1p", "1e-10", "[0.0, 1.0]", "log1p(1e-10) = 1e-10 - 5e-21 + ...")),
    "expm1": ApiNotes(
        "e^x - 1, accurate for x near zero.",
        ("y = e^x - 1", "dy/dx = e^x = y + 1"),
        _ex1("expm1", "0.0", "[0.0, 1.0]")),
    "sqrt": ApiNotes(
        "The square root, entry by entry.",
        ("y = √x   (x ≥ 0)", "dy/dx = 1 / (2 √x)"),
        _ex1("sqrt", "4.0", "[2.0, 0.25]")),
    "sin": ApiNotes(
        "The sine (radians), entry by entry.",
        ("y = sin x", "dy/dx = cos x"),
        _ex1("sin", "0.0", "[0.0, 1.0]")),
    "cos": ApiNotes(
        "The cosine (radians), entry by entry.",
        ("y = cos x", "dy/dx = −sin x"),
        _ex1("cos", "0.0", "[1.0, -0.0]", "cos 0 = 1, −sin 0 = −0")),
    "tan": ApiNotes(
        "The tangent (radians), entry by entry.",
        ("y = tan x", "dy/dx = 1 + tan² x = 1 / cos² x"),
        _ex1("tan", "0.0", "[0.0, 1.0]")),
    "tanh": ApiNotes(
        "The hyperbolic tangent, entry by entry.",
        ("y = tanh x = (e^x − e^(−x)) / (e^x + e^(−x))", "dy/dx = 1 − tanh² x"),
        _ex1("tanh", "0.0", "[0.0, 1.0]")),
    "sigmoid": ApiNotes(
        "The logistic sigmoid σ, entry by entry, computed without overflow.",
        ("σ(x) = 1 / (1 + e^(−x))", "dσ/dx = σ(x) (1 − σ(x))"),
        _ex1("sigmoid", "0.0", "[0.5, 0.25]", "σ(0) = 1/2, σ'(0) = 1/2 · 1/2")),
    "relu": ApiNotes(
        "The rectifier max(x, 0), entry by entry.",
        ("y = max(x, 0)", "dy/dx = 1 where x > 0, else 0   (relu'(0) = 0 by convention)"),
        _ex1("relu", "-2.0", "[0.0, 0.0]")
        + "\n>>> [float('%.6f' % v) for v in f(3.0)]\n[3.0, 1.0]"),
    "softplus": ApiNotes(
        "softplus(x) = log(1 + e^x), entry by entry, computed without overflow.",
        ("y = log(1 + e^x)", "dy/dx = σ(x) = 1 / (1 + e^(−x))"),
        _ex1("softplus", "0.0", "[0.693147, 0.5]", "log 2, σ(0)")),
    "abs": ApiNotes(
        "The absolute value, entry by entry.",
        ("y = |x|", "dy/dx = sign(x)   (abs'(0) = 0 by convention)"),
        _ex1("abs", "-3.0", "[3.0, -1.0]")),
    "sign": ApiNotes(
        "The sign −1, 0 or 1, entry by entry (sign(0) = 0).",
        ("y = sign(x)", "dy/dx = 0   (a step function carries no derivative)"),
        _ex1("sign", "-3.0", "[-1.0, 0.0]")),
    "maximum": ApiNotes(
        "The larger of x1 and x2, entry by entry (NumPy broadcasting).",
        ("y = max(x1, x2)",
         "dy/dx1 = 1 where x1 > x2, dy/dx2 = 1 where x2 > x1; at ties each gets 1/2"),
        ">>> x, y = sb.symbols(\"x y\")\n"
        ">>> m = sb.maximum(x, y)\n"
        ">>> f = sb.lambdify([x, y], sb.grad(m, [x, y]))\n"
        ">>> [float(v) for v in f(2.0, 1.0)], [float(v) for v in f(1.0, 1.0)]\n"
        "([1.0, 0.0], [0.5, 0.5])"),
    "minimum": ApiNotes(
        "The smaller of x1 and x2, entry by entry (NumPy broadcasting).",
        ("y = min(x1, x2)",
         "dy/dx1 = 1 where x1 < x2, dy/dx2 = 1 where x2 < x1; at ties each gets 1/2"),
        ">>> x, y = sb.symbols(\"x y\")\n"
        ">>> f = sb.lambdify([x, y], sb.grad(sb.minimum(x, y), [x, y]))\n"
        ">>> [float(v) for v in f(2.0, 1.0)]\n"
        "[0.0, 1.0]"),
    "pow": ApiNotes(
        "x1 raised to the power x2, entry by entry (the same node as ``x1 ** x2``).",
        ("y = x1^x2",
         "dy/dx1 = x2 x1^(x2 − 1)",
         "dy/dx2 = x1^x2 log x1   (zero when the exponent is a constant)"),
        ">>> x, y = sb.symbols(\"x y\")\n"
        ">>> sb.pow(x, y) is x ** y\n"
        "True\n"
        ">>> f = sb.lambdify([x, y], sb.grad(x ** y, [x, y]))\n"
        ">>> [float('%.6f' % v) for v in f(2.0, 3.0)]  # 3 · 2², 2³ log 2\n"
        "[12.0, 5.545177]"),
    "matmul": ApiNotes(
        "The matrix product, NumPy's ``matmul`` (the same node as ``x1 @ x2``).",
        ("Y = X1 X2   (1-D arguments as in NumPy: vector · matrix, matrix · vector, dot)",
         "reverse mode: X̄1 = Ȳ X2ᵀ,  X̄2 = X1ᵀ Ȳ"),
        ">>> X, W = sb.matrix(\"X\", 4, 3), sb.matrix(\"W\", 3, 2)\n"
        ">>> sb.matmul(X, W) is X @ W\n"
        "True\n"
        ">>> sb.matmul(X, W).shape\n"
        "(4, 2)\n"
        ">>> sb.grad(sb.sum(X @ W), W).shape  # the gradient has W's shape\n"
        "(3, 2)"),
    "outer": ApiNotes(
        "The outer product of two vectors, NumPy's ``outer``.",
        ("Y = a bᵀ,  Yᵢⱼ = aᵢ bⱼ", "reverse mode: ā = Ȳ b,  b̄ = Ȳᵀ a"),
        ">>> import numpy as np\n"
        ">>> a, b = sb.vector(\"a\", 2), sb.vector(\"b\", 3)\n"
        ">>> sb.outer(a, b).shape\n"
        "(2, 3)\n"
        ">>> f = sb.lambdify([a, b], sb.grad(sb.sum(sb.outer(a, b)), a))\n"
        ">>> f(np.ones(2), np.array([1.0, 2.0, 3.0]))  # ∂/∂aᵢ Σᵢⱼ aᵢ bⱼ = Σⱼ bⱼ\n"
        "array([6., 6.])",
        params=("a", "b")),
    "where": ApiNotes(
        "x where the condition holds, else y, entry by entry (NumPy's ``where``).",
        ("out = x where condition else y   (condition a comparison such as a > 0)",
         "d out/dx = 1 where the condition holds, else 0;  d out/dy = the opposite",
         "the condition carries no derivative"),
        ">>> x = sb.symbols(\"x\")\n"
        ">>> y = sb.where(x > 0, x ** 2, -x)\n"
        ">>> f = sb.lambdify([x], sb.grad(y, x))\n"
        ">>> float(f(3.0)), float(f(-3.0))  # 2x on the right, −1 on the left\n"
        "(6.0, -1.0)",
        params=("condition", "x", "y"),
        args=("a boolean expression: a comparison such as ``x > 0``", _ANY, _ANY),
        sample=lambda condition, x, y: (x > 0, x, y)),
    "greater": _cmp("greater", "greater than", ">", "2.0", "1.0", "True"),
    "greater_equal": _cmp("greater_equal", "at least", ">=", "1.0", "1.0", "True"),
    "less": _cmp("less", "less than", "<", "2.0", "1.0", "False"),
    "less_equal": _cmp("less_equal", "at most", "<=", "1.0", "1.0", "True"),
    "equal": _cmp("equal", "equal to", "==", "1.0", "1.0", "True"),
}


def notes_for(op: Op) -> ApiNotes | None:
    """The op's API notes: ``op.extra["api"]`` if it has some, else :data:`NOTES`."""
    own = op.extra.get("api") if op.extra else None
    if own is not None:
        return own if isinstance(own, ApiNotes) else ApiNotes(**own)
    return NOTES.get(op.name)


def _params(op: Op, notes: ApiNotes | None) -> tuple[list[str], list[str]]:
    """Positional parameter names and keyword-only attribute names of ``op``."""
    arity = op.arity
    if notes is not None and notes.params is not None:
        pos = list(notes.params)
    elif arity == 1:
        pos = ["x"]
    elif arity is None:
        pos = []
    else:
        pos = [f"x{i}" for i in range(1, arity + 1)]
    if arity is not None and len(pos) != arity:
        raise ValueError(f"{op.name}: {len(pos)} parameter names for {arity} arguments")
    kw: list[str] = []
    if not op.elementwise:
        try:
            sig = inspect.signature(op.shape)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            sig = None
        if sig is not None:
            kw = [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]
    for name in pos + kw:
        if not name.isidentifier():
            raise ValueError(f"{op.name}: {name!r} is not a parameter name")
    return pos, kw


class _Unset:
    """The default of an op attribute the caller did not give (the op picks its own)."""

    def __repr__(self) -> str:
        return "<op default>"


UNSET = _Unset()


def _latex_sample(op: Op, pos: list[str], notes: ApiNotes | None) -> str | None:
    """The op's LaTeX on sample symbols named after the parameters (None if it has none),
    or on the arguments ``notes.sample`` makes of them."""
    if op.latex is None or op.arity is None:
        return None
    try:
        from .graph import symbols
        from .printing.latex import latex

        syms = [symbols(p) for p in pos]
        if notes is not None and notes.sample is not None:
            syms = list(notes.sample(*syms))
        return latex(op(*syms))
    except Exception:  # noqa: BLE001 - a notation that cannot show itself is left out
        return None


def _docstring(op: Op, name: str, notes: ApiNotes | None, pos: list[str], kw: list[str],
               latex_text: str | None) -> str:
    """The docstring: summary, maths, arguments, returns, notes (op doc, LaTeX), example."""
    lines: list[str] = []
    if notes is not None:
        lines += [notes.summary, "", "Math::", ""]
        lines += [f"    {m}" for m in notes.math]
    else:
        lines += [f"The op ``{op.name}``."]
    lines.append("")
    if op.elementwise:
        lines += [_EW, ""]
    if pos or kw:
        lines.append("Args:")
        descr = list(notes.args) if notes is not None and notes.args else [_ANY] * len(pos)
        for p, d in zip(pos, descr):
            lines.append(f"    {p}: {d}")
        for k in kw:
            lines.append(f"    {k}: the op's ``{k}`` attribute (default: the op's own)")
        lines.append("")
    lines += ["Returns:", "    Expr: a new node (or the existing one: nodes are interned).", ""]
    lines += ["Note:", f"    Built by the registered op ``{op.name}``"
              f" (``sb.{name}.op``).", ""]
    if op.doc:
        lines += ["    Reverse mode, with ȳ the gradient arriving at the result::", "",
                  "        " + " ".join(op.doc.split()), ""]
    if latex_text:
        lines += ["    LaTeX::", "", "        " + latex_text, ""]
    if notes is not None:
        lines += ["Example:", "    >>> import symback as sb"]
        lines += ["    " + line if line else "" for line in notes.example.splitlines()]
    return "\n".join(lines).rstrip() + "\n"


def public_function(op: Op, name: str | None = None) -> Callable[..., Any]:
    """A plain function ``name(params...)`` that builds ``op(params...)``.

    Positional parameters follow :class:`ApiNotes` (or ``x`` / ``x1, x2, ...``);
    an op with attributes (keyword-only parameters of its shape rule) takes them as
    keyword-only parameters, passed on only when given. The usual call (positional
    arguments) goes straight to the op, whose own checks name the function in a
    :class:`~symback.errors.SymbackError` (``sin: takes 1 argument(s), got 2``);
    keyword calls are bound to the signature first.
    """
    name = name or op.name
    if not name.isidentifier():
        raise ValueError(f"{name!r} is not a function name")
    notes = notes_for(op)
    pos, kw = _params(op, notes)
    params = [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in pos]
    if op.arity is None:
        params = [inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL)]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=UNSET) for k in kw]
    signature = inspect.Signature(params)

    def call_with_keywords(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise SymbackError(f"{name}: {e}") from None
        attrs = {k: v for k, v in bound.kwargs.items() if v is not UNSET}
        return op(*bound.args, **attrs)

    def fn(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            return call_with_keywords(args, kwargs)
        return op(*args)  # the hot path: one extra frame over calling the op

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__module__ = "symback"
    fn.__doc__ = _docstring(op, name, notes, pos, kw, _latex_sample(op, pos, notes))
    fn.__signature__ = signature  # type: ignore[attr-defined]
    fn.op = op  # type: ignore[attr-defined]
    return fn


def op_of(fn: Any) -> Op | None:
    """The op behind a public function (or the op itself); None for other callables."""
    if isinstance(fn, Op):
        return fn
    op = getattr(fn, "op", None)
    return op if isinstance(op, Op) else None


def wrap_namespace(namespace: dict[str, Any], names: list[str]) -> None:
    """Replace every op among ``names`` in ``namespace`` by its public function."""
    for n in names:
        obj = namespace.get(n)
        if isinstance(obj, Op):
            namespace[n] = public_function(obj, n)


# --------------------------------------------------------------------------- plain functions

class FunctionNotes(NamedTuple):
    """Maths and an example for a public function whose own docstring has none."""

    math: tuple[str, ...]
    example: str


#: The maths and examples of the public functions written in the op modules (the op
#: modules stay as they are; a function whose docstring gains an example keeps its own).
FUNCTION_NOTES: dict[str, FunctionNotes] = {
    "sum": FunctionNotes(
        ("y = Σ x over the axes in axis (every axis by default)",
         "∂y/∂xᵢ = 1: the gradient ȳ is broadcast back over the summed axes"),
        ">>> import numpy as np\n"
        ">>> X = sb.matrix(\"X\", 2, 3)\n"
        ">>> sb.sum(X, axis=0).shape, sb.sum(X, axis=1, keepdims=True).shape\n"
        "((3,), (2, 1))\n"
        ">>> f = sb.lambdify([X], sb.grad(sb.sum(X ** 2), X))  # ∂(Σ X²)/∂X = 2 X\n"
        ">>> f(np.arange(6.0).reshape(2, 3))\n"
        "array([[ 0.,  2.,  4.],\n"
        "       [ 6.,  8., 10.]])"),
    "mean": FunctionNotes(
        ("y = (1/N) Σ x over the axes in axis, N the number of entries averaged",
         "∂y/∂xᵢ = 1/N   (N may be a symbolic size such as n)"),
        ">>> import numpy as np\n"
        ">>> v = sb.vector(\"v\", 4)\n"
        ">>> sb.lambdify([v], sb.grad(sb.mean(v), v))(np.zeros(4))\n"
        "array([0.25, 0.25, 0.25, 0.25])"),
    "transpose": FunctionNotes(
        ("Yᵢⱼ = Xⱼᵢ (all axes reversed, as X.T), or the axes permuted by axes",
         "X̄ = Ȳ permuted back"),
        ">>> X = sb.matrix(\"X\", 2, 3)\n"
        ">>> sb.transpose(X) is X.T\n"
        "True\n"
        ">>> sb.transpose(sb.tensor(\"A\", (2, 3, 4)), axes=(1, 0, 2)).shape\n"
        "(3, 2, 4)"),
    "softmax": FunctionNotes(
        ("softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ)   (over axis; shifted by the max, no overflow)",
         "∂softmax(x)ᵢ/∂xⱼ = sᵢ (δᵢⱼ − sⱼ), s = softmax(x)"),
        ">>> import numpy as np\n"
        ">>> x = sb.vector(\"x\", 3)\n"
        ">>> sb.lambdify([x], sb.softmax(x))(np.zeros(3))\n"
        "array([0.33333333, 0.33333333, 0.33333333])\n"
        ">>> J = sb.lambdify([x], sb.jacobian(sb.softmax(x), x))(np.zeros(3))\n"
        ">>> np.round(J * 9, 6)  # 9 (diag(s) − s sᵀ) with s = 1/3\n"
        "array([[ 2., -1., -1.],\n"
        "       [-1.,  2., -1.],\n"
        "       [-1., -1.,  2.]])"),
    "log_softmax": FunctionNotes(
        ("log_softmax(x)ᵢ = xᵢ − log Σⱼ e^(xⱼ)   (over axis; stable)",
         "∂log_softmax(x)ᵢ/∂xⱼ = δᵢⱼ − softmax(x)ⱼ"),
        ">>> import numpy as np\n"
        ">>> x = sb.vector(\"x\", 2)\n"
        ">>> sb.lambdify([x], sb.log_softmax(x))(np.array([1000.0, 0.0]))  # no overflow\n"
        "array([    0., -1000.])"),
    "logsumexp": FunctionNotes(
        ("y = log Σᵢ e^(xᵢ)   (over axis; shifted by the max, no overflow)",
         "∂y/∂xᵢ = e^(xᵢ − y) = softmax(x)ᵢ"),
        ">>> import numpy as np\n"
        ">>> x = sb.vector(\"x\", 2)\n"
        ">>> f = sb.lambdify([x], [sb.logsumexp(x), sb.grad(sb.logsumexp(x), x)])\n"
        ">>> value, gradient = f(np.array([1000.0, 1000.0]))  # 1000 + log 2, softmax\n"
        ">>> round(float(value), 6), gradient\n"
        "(1000.693147, array([0.5, 0.5]))"),
    "trace": FunctionNotes(
        ("tr X = Σᵢ Xᵢᵢ", "∂ tr X / ∂X = I"),
        ">>> import numpy as np\n"
        ">>> X = sb.matrix(\"X\", 2, 2)\n"
        ">>> sb.lambdify([X], sb.grad(sb.trace(X), X))(np.ones((2, 2)))\n"
        "array([[1., 0.],\n"
        "       [0., 1.]])"),
    "det": FunctionNotes(
        ("y = det X", "∂ det X / ∂X = det X · X⁻ᵀ   (Jacobi's formula)"),
        ">>> import numpy as np\n"
        ">>> X = sb.matrix(\"X\", 2, 2)\n"
        ">>> f = sb.lambdify([X], [sb.det(X), sb.grad(sb.det(X), X)])\n"
        ">>> d, g = f(np.array([[2.0, 1.0], [1.0, 3.0]]))\n"
        ">>> round(float(d), 6), np.round(g, 6)  # 2·3 − 1·1; the cofactors\n"
        "(5.0, array([[ 3., -1.],\n"
        "       [-1.,  2.]]))"),
    "logdet": FunctionNotes(
        ("y = log det X   (computed with slogdet: no overflow)", "∂ log det X / ∂X = X⁻ᵀ"),
        ">>> import numpy as np\n"
        ">>> X = sb.matrix(\"X\", 2, 2)\n"
        ">>> f = sb.lambdify([X], sb.grad(sb.logdet(X), X))\n"
        ">>> f(np.array([[2.0, 0.0], [0.0, 4.0]]))\n"
        "array([[0.5 , 0.  ],\n"
        "       [0.  , 0.25]])"),
    "inv": FunctionNotes(
        ("Y = X⁻¹", "dY = −Y dX Y;  reverse mode: X̄ = −Yᵀ Ȳ Yᵀ"),
        ">>> import numpy as np\n"
        ">>> X = sb.matrix(\"X\", 2, 2)\n"
        ">>> sb.latex(sb.inv(X).T)\n"
        "'X^{-T}'\n"
        ">>> sb.lambdify([X], sb.grad(sb.sum(sb.inv(X)), X))(np.eye(2))  # −Iᵀ 1 Iᵀ\n"
        "array([[-1., -1.],\n"
        "       [-1., -1.]])"),
    "solve": FunctionNotes(
        ("x = A⁻¹ b   (A square; b a vector or a matrix of right-hand sides)",
         "reverse mode: b̄ = A⁻ᵀ x̄,  Ā = −b̄ xᵀ"),
        ">>> import numpy as np\n"
        ">>> A, b = sb.matrix(\"A\", 2, 2), sb.vector(\"b\", 2)\n"
        ">>> f = sb.lambdify([A, b], sb.solve(A, b))\n"
        ">>> f(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 4.0]))\n"
        "array([1., 1.])"),
    "diag": FunctionNotes(
        ("a vector v gives the matrix with diag(v)ᵢⱼ = vᵢ δᵢⱼ; a matrix M gives (Mᵢᵢ)ᵢ",
         "the gradient of each is the other: entries move between a vector and a diagonal"),
        ">>> sb.diag(sb.vector(\"v\", 3)).shape, sb.diag(sb.matrix(\"M\", 3, 3)).shape\n"
        "((3, 3), (3,))"),
    "dot": FunctionNotes(
        ("a · b = Σᵢ aᵢ bᵢ for vectors; the matrix product for matrices",
         "∂(a · b)/∂a = b,  ∂(a · b)/∂b = a"),
        ">>> a, b = sb.vector(\"a\", 3), sb.vector(\"b\", 3)\n"
        ">>> sb.dot(a, b) is a @ b\n"
        "True\n"
        ">>> sb.grad(sb.dot(a, b), a) is b\n"
        "True"),
    "reshape": FunctionNotes(
        ("y = the entries of x in C order, laid out in shape", "x̄ = ȳ reshaped back"),
        ">>> sb.reshape(sb.vector(\"v\", 6), (2, -1)).shape\n"
        "(2, 3)"),
    "stack": FunctionNotes(
        ("y[…, i, …] = xsᵢ along a new axis", "x̄ᵢ = ȳ[…, i, …]"),
        ">>> a, b = sb.vector(\"a\", 3), sb.vector(\"b\", 3)\n"
        ">>> sb.stack([a, b]).shape, sb.stack([a, b], axis=1).shape\n"
        "((2, 3), (3, 2))"),
    "concatenate": FunctionNotes(
        ("y = the xs joined end to end along axis", "x̄ᵢ = the slice of ȳ where xᵢ sits"),
        ">>> a, b = sb.vector(\"a\", 3), sb.vector(\"b\", 2)\n"
        ">>> sb.concatenate([a, b]).shape\n"
        "(5,)"),
}


def document_functions(namespace: dict[str, Any], names: list[str]) -> None:
    """Give the public functions of ``FUNCTION_NOTES`` their maths and example.

    A function whose docstring already shows an example keeps it unchanged.
    """
    for n in names:
        fn = namespace.get(n)
        notes = FUNCTION_NOTES.get(n)
        if notes is None or not inspect.isfunction(fn) or ">>>" in (fn.__doc__ or ""):
            continue
        lines = [inspect.cleandoc(fn.__doc__ or ""), "", "Math::", ""]
        lines += [f"    {m}" for m in notes.math]
        lines += ["", "Example:", "    >>> import symback as sb"]
        lines += ["    " + line if line else "" for line in notes.example.splitlines()]
        fn.__doc__ = "\n".join(lines) + "\n"
