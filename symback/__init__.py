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
from .ops.creation import arange, array, full, full_like, linspace, ones, ones_like
from .ops.creation import zeros, zeros_like
from .ops.creation import eye_fn as eye
from .ops.gather import (argpartition, argsort, partition, sort, take,  # noqa: F401
                        take_along_axis)
from .ops.join import (append, array_split, column_stack, diff, dsplit, dstack, hsplit,
                       hstack, pad, select, split, vsplit, vstack)
from .ops.layout import (atleast_1d, atleast_2d, atleast_3d, broadcast_to, expand_dims, flip,
                         fliplr, flipud, moveaxis, ravel, repeat, rollaxis, roll, rot90,
                         squeeze, swapaxes, tile)
from .ops.shape import astype
from . import nn
from .ops.ufuncs import (arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, around,
                         ceil, clip, cosh, deg2rad, degrees, exp2, fabs, floor, fmax, fmin,
                         hypot, log2, log10, logaddexp, logaddexp2, mod, nan_to_num, power,
                         rad2deg, radians, reciprocal, remainder, sinc, sinh, square)
from .ops.ufuncs import round  # noqa: A001
from .ops.stats import amax, amin, average, cumprod, cumsum, prod, ptp, std, var
from .ops.stats import max, min  # noqa: A001
from . import special
from .parse import parse
from .printing.graphviz import render, to_dot, to_mermaid
from .printing.latex import latex
from .printing.text import to_text
from .sympy_bridge import from_sympy, to_sympy
from .training import FlatValueAndGrad, flat_value_and_grad

__version__ = "0.1.0"


def serve(host: str = "127.0.0.1", port: int = 8000, **options: object) -> None:
    """Start the local web page and JSON API (``symback serve``); see :mod:`symback.web`.

    Needs the optional ``web`` extra (``pip install "symback[web]"``). Bound to
    127.0.0.1 by default; serves until interrupted.

    >>> import symback as sb
    >>> sb.serve(port=8000)  # doctest: +SKIP
    """
    from .web import serve as _serve

    _serve(host, port, **options)  # type: ignore[arg-type]


__all__ = [
    "Expr", "Op", "CompiledFunction", "SymbackError", "ParseError", "ShapeError",
    "symbols", "tensor", "matrix", "vector", "const", "as_expr", "free_symbols", "substitute",
    "toposort", "parse", "from_sympy", "to_sympy",
    "grad", "vjp", "backprop", "jacobian", "hessian", "hvp", "jvp",
    "latex", "to_text", "explain", "to_dot", "to_mermaid", "render", "lambdify", "value_and_grad",
    "flat_value_and_grad", "FlatValueAndGrad", "nn", "serve",
    "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
    "softplus", "abs", "sign", "maximum", "minimum", "pow", "sum", "mean", "transpose",
    "softmax", "log_softmax", "logsumexp", "matmul", "outer", "where", "greater",
    "greater_equal", "less", "less_equal", "equal",
    "trace", "det", "logdet", "inv", "solve", "diag", "dot", "reshape", "stack", "concatenate",
    # issue 11: shape and structure, indexing, array creation
    "ravel", "squeeze", "expand_dims", "moveaxis", "swapaxes", "rollaxis", "flip", "flipud",
    "fliplr", "rot90", "roll", "repeat", "tile", "broadcast_to", "atleast_1d", "atleast_2d",
    "atleast_3d", "append", "vstack", "hstack", "dstack", "column_stack", "split",
    "array_split", "hsplit", "vsplit", "dsplit", "pad", "diff", "sort", "partition",
    "argsort", "argpartition", "select", "take", "take_along_axis", "astype",
    "zeros", "ones", "eye", "full", "zeros_like", "ones_like", "full_like", "arange",
    "linspace", "array",
    # issue 11: elementwise (symback/ops/ufuncs.py), reductions (ops/stats.py), sb.special
    "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "log2",
    "log10", "exp2", "square", "reciprocal", "power", "fabs", "clip", "floor", "ceil", "round",
    "around", "sinc", "deg2rad", "rad2deg", "radians", "degrees", "nan_to_num", "arctan2",
    "hypot", "logaddexp", "logaddexp2", "mod", "remainder", "fmax", "fmin",
    "max", "min", "amax", "amin", "ptp", "prod", "cumsum", "cumprod", "var", "std", "average",
    "special",
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
