"""symback: symbolic-to-symbolic reverse-mode differentiation with NumPy code generation.

The public surface (see the README): build expressions, differentiate them
symbol to symbol, print them, and compile them to NumPy.
"""

from __future__ import annotations

from . import ops as _ops  # registers every op
from .autodiff import backprop, grad, vjp
from .codegen import CompiledFunction, lambdify, value_and_grad
from .errors import ParseError, ShapeError, SymbackError
from .explain import explain
from .graph import Expr, Op, as_expr, const, free_symbols, matrix, substitute, symbols
from .graph import tensor, toposort, vector
from .higher import hessian, hvp, jacobian, jvp
from .ops.elementwise import abs_ as abs  # noqa: A001
from .ops.elementwise import (cos, equal, exp, expm1, greater, greater_equal, less, less_equal,
                              log, log1p, maximum, minimum, relu, sigmoid, sign, sin, softplus,
                              sqrt, tan, tanh, where)
from .ops.elementwise import pow_ as pow  # noqa: A001
from .ops.contract import cross, dot, inner, kron, matmul, tensordot
from .ops.contract import outer_fn as outer
from .ops.triangular import tril, triu
from .ops.einsum import einsum
from .ops.linalg import det, diagonal, inv, logdet, solve
from .ops.linalg import diag_fn as diag
from .ops.linalg import trace_fn as trace
from . import linalg
from .ops.shape import concatenate, reshape, stack
from .ops.shape import transpose_fn as transpose
from .ops.reduce import log_softmax_fn as log_softmax
from .ops.reduce import logsumexp_fn as logsumexp
from .ops.reduce import mean_fn as mean
from .ops.reduce import softmax_fn as softmax
from .ops.reduce import sum  # noqa: A001
from . import nn
from .parse import parse
from .printing.graphviz import render, to_dot, to_mermaid
from .printing.latex import latex
from .sympy_bridge import from_sympy, to_sympy
from .training import FlatValueAndGrad, flat_value_and_grad

__version__ = "0.1.0"


def serve(host: str = "127.0.0.1", port: int = 8000, **options: object) -> None:
    """Start the local web page and JSON API (``symback serve``); see :mod:`symback.web`.

    Needs the optional ``web`` extra (``pip install "symback[web]"``). Bound to
    127.0.0.1 by default; serves until interrupted.
    """
    from .web import serve as _serve

    _serve(host, port, **options)  # type: ignore[arg-type]


__all__ = [
    "Expr", "Op", "CompiledFunction", "SymbackError", "ParseError", "ShapeError",
    "symbols", "tensor", "matrix", "vector", "const", "as_expr", "free_symbols", "substitute",
    "toposort", "parse", "from_sympy", "to_sympy",
    "grad", "vjp", "backprop", "jacobian", "hessian", "hvp", "jvp",
    "latex", "explain", "to_dot", "to_mermaid", "render", "lambdify", "value_and_grad",
    "flat_value_and_grad", "FlatValueAndGrad", "nn", "serve",
    "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
    "softplus", "abs", "sign", "maximum", "minimum", "pow", "sum", "mean", "transpose",
    "softmax", "log_softmax", "logsumexp", "matmul", "outer", "where", "greater",
    "greater_equal", "less", "less_equal", "equal",
    "trace", "det", "logdet", "inv", "solve", "diag", "dot", "reshape", "stack", "concatenate",
    # issue 11: contractions and linear algebra
    "linalg", "einsum", "tensordot", "inner", "kron", "cross", "diagonal", "tril", "triu",
]

# The ops exposed above become plain functions with a signature, the maths and an
# example (help(sb.sigmoid) shows sigmoid(x)); each builds the same node its op builds.
from .api_functions import document_functions as _document_functions  # noqa: E402
from .api_functions import wrap_namespace as _wrap_namespace  # noqa: E402

_wrap_namespace(globals(), __all__)
_document_functions(globals(), __all__)
del _wrap_namespace, _document_functions


def __dir__() -> list[str]:
    """Only the public names (``dir(sb)``, tab completion): no internal modules or imports."""
    return sorted(set(__all__) | {"__version__"})
