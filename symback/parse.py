"""Text to expressions: symback's own tokenizer and an iterative precedence parser.

The text is never executed: no ``eval``, ``exec``, ``sympify`` or ``ast``.
A regular-expression tokenizer feeds a shunting-yard (Pratt-style) parser
whose only stacks are explicit lists, so 100,000 nested parentheses parse
without recursion. The grammar is the arithmetic subset of Python, with subscripts
and a whitelist of ndarray methods, and Python's precedences (``**`` right-associative
and tighter than a unary minus on its left); names become symbols (``shapes`` gives tensor shapes),
and calls resolve through one table of symback's public functions.
"""

from __future__ import annotations

import inspect
import keyword
import operator
import re
from itertools import accumulate, compress, islice
from typing import Any, Callable, NamedTuple

from .errors import ParseError, ShapeError, SymbackError
from .graph import CONST, Expr, Op, as_expr, const, symbol

# --------------------------------------------------------------------------- the function table

#: Function names the parser accepts, each resolved lazily by name when called:
#: ``"symback"`` through ``getattr(symback, name)`` (the public functions of the API),
#: ``"op"`` through the op registry (structural ops that appear in printed gradients).
FUNCTIONS: dict[str, str] = {
    **{name: "symback" for name in (
        "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus",
        "abs", "maximum", "minimum", "sum", "mean", "transpose", "softmax", "log_softmax",
        "logsumexp", "log1p", "expm1", "sign", "where", "outer", "matmul", "pow",
        "trace", "det", "logdet", "inv", "solve", "diag", "dot", "reshape", "stack",
        "concatenate",
    )},
    **{name: "op" for name in ("broadcast_to", "expand_dims", "squeeze", "vdot", "tensordot")},
    # arrays of a shape, as the text printer writes stretched constants and identities
    **{name: "shape" for name in ("ones", "zeros", "eye", "array")},
}

# Each family of the NumPy surface adds its public names here (resolved through symback's
# namespace as above; dotted names such as "linalg.norm" through the sub-namespace).
_NUMPY_SHAPE = (  # issue 11, shape and structure (functions that return one expression)
    "ravel", "squeeze", "expand_dims", "moveaxis", "swapaxes", "rollaxis", "flip", "flipud",
    "fliplr", "rot90", "roll", "repeat", "tile", "broadcast_to", "atleast_1d", "atleast_2d",
    "atleast_3d", "append", "vstack", "hstack", "dstack", "column_stack", "pad", "diff",
    "sort", "partition", "argsort", "argpartition", "select", "take", "take_along_axis",
    "astype", "zeros", "ones", "eye", "full", "zeros_like", "ones_like", "full_like",
    "arange", "linspace", "array",
)
# issue 11, the elementwise functions and reductions (symback/ops/ufuncs.py, ops/stats.py)
_NUMPY_UFUNCS = (
    "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "log2",
    "log10", "exp2", "square", "reciprocal", "power", "fabs", "clip", "floor", "ceil", "round",
    "around", "sinc", "deg2rad", "rad2deg", "radians", "degrees", "nan_to_num", "arctan2",
    "hypot", "logaddexp", "logaddexp2", "mod", "remainder", "fmax", "fmin",
)
_NUMPY_STATS = ("max", "min", "amax", "amin", "ptp", "prod", "cumsum", "cumprod", "var", "std",
                "average")
for _family in (_NUMPY_SHAPE, _NUMPY_UFUNCS, _NUMPY_STATS):
    FUNCTIONS.update(dict.fromkeys(_family, "symback"))
# the adjoints of the gathers appear in printed gradients: read through the op registry
FUNCTIONS.update(dict.fromkeys(("scatter_add", "scatter_add_along", "index_scatter"), "op"))

#: ``s_[...]`` (NumPy's ``np.s_``): an index as a value, for index_scatter's ``index=``.
_INDEX_MAKER = "s_"

#: The functions an unknown-function error names (the full table is too long for a message).
_COMMON = ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "softplus", "abs",
           "maximum", "minimum", "where", "sum", "mean", "softmax", "log_softmax",
           "logsumexp", "matmul", "dot", "transpose", "reshape", "concatenate", "stack")

#: Methods the parser reads after an expression (``x.sum(axis=0)``), each bound to the
#: Expr method of that name through this table only: no attribute of any other name is
#: ever looked up.
METHODS: dict[str, Callable[..., Any]] = {
    name: getattr(Expr, name) for name in (
        "sum", "mean", "reshape", "ravel", "flatten", "squeeze", "transpose", "swapaxes",
        "astype", "dot", "clip", "max", "min", "prod", "var", "std", "cumsum", "take",
        "repeat")
}

#: Issue 11, contractions and linear algebra (np-linalg): sb-level names, then sb.linalg's.
_NUMPY_CONTRACT = ("einsum", "tensordot", "inner", "kron", "cross", "diagonal", "tril", "triu")
_NUMPY_LINALG = (
    "cholesky", "cho_solve", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "logdet",
    "matmul", "matrix_norm", "matrix_power", "norm", "outer", "pinv", "qr", "slogdet", "solve",
    "solve_triangular", "svd", "svdvals", "tensordot", "trace", "tril", "triu", "vector_norm",
    "eigh_vectors", "logabsdet", "qr_q", "qr_r", "slogdet_sign", "svd_u", "svd_vh",
    "matrix_transpose", "multi_dot", "vecdot",
    "eigh_packed", "qr_packed", "slogdet_packed", "svd_packed",
)
for _family in (_NUMPY_CONTRACT,):
    FUNCTIONS.update(dict.fromkeys(_family, "symback"))
FUNCTIONS.update({f"linalg.{_name}": "linalg" for _name in _NUMPY_LINALG})
#: sb.nn's layers (issue 13), read as nn.gelu(x), nn.conv(x, w, ...)
_NN = ("conv", "conv1d", "conv2d", "conv3d", "max_pool", "avg_pool", "layer_norm", "batch_norm",
       "embedding", "dropout", "gelu", "silu", "leaky_relu", "elu", "cross_entropy",
       "scaled_dot_product_attention", "multi_head_attention", "linear")
FUNCTIONS.update({f"nn.{_name}": "nn" for _name in _NN})
#: sb.special (scipy.special's names, issue 11), read as special.erf(x)
_SPECIAL = ("erf", "erfc", "gammaln", "digamma", "psi", "polygamma", "xlogy", "xlog1py",
            "expit", "logit")
FUNCTIONS.update({f"special.{_name}": "special" for _name in _SPECIAL})

#: The sub-namespaces a dotted name may start with (``linalg.norm(x)``), each a module
#: ``symback.<name>``; a dotted name is read only if the whole of it is in FUNCTIONS.
NAMESPACES: frozenset[str] = frozenset({"linalg", "special", "nn"})

#: Names that stand for float constants (as the text printer writes them).
CONSTANTS: dict[str, float] = {"inf": float("inf"), "nan": float("nan")}

_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)

# Binary operators: symbol -> (precedence, right-associative, builder).
# Precedences follow Python: comparison < + - < * / @ < unary - < ** (< postfix .T).
_CMP, _ADD, _MUL, _UNARY, _POW = 1, 2, 3, 4, 5


def _equal(a: Any, b: Any) -> Expr:
    from .ops.elementwise import equal

    return equal(a, b)


_BINARY: dict[str, tuple[int, bool, Callable[[Any, Any], Any]]] = {
    ">": (_CMP, False, operator.gt), ">=": (_CMP, False, operator.ge),
    "<": (_CMP, False, operator.lt), "<=": (_CMP, False, operator.le),
    "==": (_CMP, False, _equal),
    "+": (_ADD, False, operator.add), "-": (_ADD, False, operator.sub),
    "*": (_MUL, False, operator.mul), "/": (_MUL, False, operator.truediv),
    "%": (_MUL, False, operator.mod),
    "@": (_MUL, False, operator.matmul),
    "**": (_POW, True, operator.pow),
}

_UNSUPPORTED_OPS: dict[str, str] = {
    "//": "floor division '//' is not supported",
    "^": "the operator '^' is not supported (write '**' for powers)",
    "&": "the operator '&' is not supported", "|": "the operator '|' is not supported",
    "~": "the operator '~' is not supported", "<<": "the operator '<<' is not supported",
    ">>": "the operator '>>' is not supported", "!=": "the operator '!=' is not supported",
    "!": "the character '!' is not supported", ":=": "assignment expressions are not supported",
    "->": "'->' is not supported",
    ";": "only one expression is allowed (no ';')",
    "{": "braces are not supported (no sets or dicts)",
    "}": "braces are not supported (no sets or dicts)",
    "#": "comments are not supported", "\\": "backslashes are not supported",
    "'": "strings are not supported", '"': "strings are not supported",
    "`": "the character '`' is not supported", "?": "the character '?' is not supported",
    "$": "the character '$' is not supported",
}

# --------------------------------------------------------------------------- tokenizer


class Token(NamedTuple):
    """One token: ``kind`` is NUM, NAME, OP, NEWLINE, ERROR or END; ``pos`` its offset."""

    kind: str
    text: str
    pos: int


# One pattern that matches every character of any text, so that ``findall`` splits the
# whole text in C: whitespace, a line break (with the blank space after it), a number,
# a name, an operator, and lastly any other single character (an error).
_SCAN_RE = re.compile(
    r"[ \t\r\f\v]+"
    r"|\n[ \t\r\f\v\n]*"
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|[^\W\d]\w*"
    r"|\*\*|//|>=|<=|==|!=|:=|->|<<|>>|[-+*/@()\[\],=.<>%^&|~!:;{}#?$\\`'\"]"
    r"|.",
    re.S,
)

# One code per piece, by its first character: s space, l line break, 0 number, n ASCII
# name, o operator (with brackets and '.' under their own character), x a character or
# operator outside the grammar, ? a non-ASCII start (a Unicode name or an error).
_CODE: dict[str, str] = {c: "x" for c in map(chr, range(128))}
_CODE.update({c: "s" for c in " \t\r\f\v"})
_CODE.update({"\n": "l", "_": "n"})
_CODE.update({c: "0" for c in "0123456789"})
_CODE.update({c: "n" for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_CODE.update({c: "o" for c in "*/@<>%"})
_CODE.update({c: c for c in "+-,="})
_CODE.update({c: c for c in "()[].:"})
_CODE.update({s: "o" for s in ("**", ">=", "<=", "==")})
_CODE.update({s: "x" for s in ("//", "!=", ":=", "->", "<<", ">>")})
_KIND = {"n": "NAME", "?": "NAME", "0": "NUM", "L": "NEWLINE",
         **{c: "OP" for c in "o()[].+-,=:"}}
_NAME_RE = re.compile(r"[^\W\d]\w*")
# where a fault may be: a piece outside the grammar, a non-ASCII piece, or a number
# touching a name, a number or a '.' (such as 0x10, 1_000, 1.2.3, 2e, 1²)
_FAULT_RE = re.compile(r"[x?]|0(?=[0n.?])")
_N_RE = re.compile("n")
_SIGNS_RE = re.compile("[+-]+")
# the tokens that count towards max_nodes (see _Parser.check_size)
_COUNTED_RE = re.compile(r"[+-]+|[o,=.]|[n?]\(|\(\)|\[\]")
_L_RE = re.compile("l")


def _piece_error(piece: str, code: str, after_number: bool) -> str | None:
    """The error of one piece, or None (``after_number``: it touches a number on its left)."""
    if code == "x":
        if piece in _UNSUPPORTED_OPS:
            return _UNSUPPORTED_OPS[piece]
        return f"unexpected character {piece!r}"
    if code == "?":
        if after_number and piece[0].isalnum():
            return None  # reported as a malformed number
        if _NAME_RE.fullmatch(piece) is None:
            return f"unexpected character {piece[0]!r}"
    if not piece.isidentifier():
        return f"{piece!r} is not a valid name"
    return None


class _Scan(NamedTuple):
    """A text split into tokens, blank space dropped: one code character per token
    (``codes``, see ``_CODE``), the token texts and their offsets; ``error`` is the
    first fault (message, offset) where the tokens stop early, else None."""

    codes: str
    texts: list[str]
    starts: list[int]
    error: tuple[str, int] | None


def _scan(text: str) -> _Scan:
    """Split ``text`` in C (one ``findall``); Python touches only the pieces that need a
    look: non-ASCII ones, line breaks and the first fault."""
    n = len(text)
    pieces = _SCAN_RE.findall(text)
    starts = [0, *accumulate(map(len, pieces))]
    code = _CODE.get
    codes = "".join([code(p) or ("0" if p[0] == "." else code(p[0], "?")) for p in pieces])
    error: tuple[str, int] | None = None
    stop = len(pieces)
    for m in _FAULT_RE.finditer(codes):
        k = m.start()
        c = codes[k]
        if c == "0":
            if codes[k + 1] == "?" and not pieces[k + 1][0].isalnum():
                continue
            error, stop = ("malformed number (only decimal ints and floats such as 2, 0.5, "
                           "1e-3)", starts[k]), k
            break
        msg = _piece_error(pieces[k], c, k > 0 and codes[k - 1] == "0")
        if msg is not None:
            error, stop = (msg, starts[k]), k
            break
    if not text.isascii():  # an ASCII start with non-ASCII letters after it ("a²")
        for m in _N_RE.finditer(codes, 0, stop):
            k = m.start()
            if not pieces[k].isascii() and not pieces[k].isidentifier():
                error, stop = (f"{pieces[k]!r} is not a valid name", starts[k]), k
                break
    if stop < len(pieces):
        codes, pieces, starts = codes[:stop], pieces[:stop], starts[:stop]
    if "l" in codes:
        codes = _newlines(codes, starts, n)
    if "s" in codes:  # drop blank space (in C: compress with a mask)
        keep = list(map("s".__ne__, codes))
        pieces = list(compress(pieces, keep))
        starts = list(compress(starts, keep))
        codes = codes.replace("s", "")
    else:
        del pieces[len(codes):], starts[len(codes):]
    return _Scan(codes, pieces, starts, error)


def _newlines(codes: str, starts: list[int], n: int) -> str:
    """Codes with each line break turned into a NEWLINE token ('L') where it separates two
    tokens outside brackets, else into blank space ('s')."""
    out = list(codes)
    depth = 0
    last = 0
    seen_token = False
    for m in _L_RE.finditer(codes):
        k = m.start()
        depth += (codes.count("(", last, k) + codes.count("[", last, k)
                  - codes.count(")", last, k) - codes.count("]", last, k))
        seen_token = seen_token or any(c != "s" and c != "l" for c in codes[last:k])
        last = k
        end = starts[k + 1] if k + 1 < len(starts) else n
        newline = depth <= 0 and seen_token and end < n
        out[k] = "L" if newline else "s"
        if newline:  # the parser stops there: one expression per text
            return "".join(out[:k + 1])
    return "".join(out)


def tokenize(text: str, *, strict: bool = True) -> list[Token]:
    """Split ``text`` into tokens, the last one END.

    A character outside the grammar raises ``ParseError``; with ``strict=False``
    it becomes an ERROR token (the message in ``text``) that ends the list, so
    the parser reports the first fault in reading order.
    """
    s = _scan(text)
    if s.error is not None and strict:
        raise ParseError(s.error[0], text, s.error[1])
    return list(_Tokens(s, len(text)))


class _Tokens:
    """The tokens of a scan, each built when the parser reads it (a megabyte of text
    that fails at its third token builds three tokens), then ERROR (if any) and END."""

    __slots__ = ("codes", "texts", "starts", "n", "tail")

    def __init__(self, s: _Scan, n: int) -> None:
        self.codes, self.texts, self.starts, self.n = s.codes, s.texts, s.starts, n
        self.tail = ([Token("ERROR", s.error[0], s.error[1])] if s.error else []) \
            + [Token("END", "", n)]

    def __len__(self) -> int:
        return len(self.codes) + len(self.tail)

    def __getitem__(self, i: int) -> Token:
        m = len(self.codes)
        if i >= m:
            return self.tail[min(i - m, len(self.tail) - 1)]
        return tuple.__new__(Token, (_KIND[self.codes[i]], self.texts[i], self.starts[i]))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(len(self)))


# --------------------------------------------------------------------------- parser state


class _Val(NamedTuple):
    """A parsed value and where it starts: an Expr, a Python number, None/True/False,
    or a tuple/list (allowed only as a function argument)."""

    value: Any
    pos: int


class _Operator(NamedTuple):
    """A pending binary or unary operator."""

    symbol: str
    prec: int
    pos: int
    unary: bool = False


class _Frame:
    """An open bracket: a group ``( )``, a list ``[ ]`` or a call ``name( )``."""

    __slots__ = ("kind", "pos", "base", "name", "closer", "args", "kwargs", "keyword", "commas",
                 "receiver", "parts")

    def __init__(self, kind: str, pos: int, base: int, name: str = "",
                 receiver: Any = None) -> None:
        self.kind = kind  # "group" | "list" | "call" | "index" (x[...]) | "method" (x.f(...))
        self.receiver = receiver  # the expression subscripted, or whose method is called
        self.parts: list[Any] | None = None  # the bounds of a slice being read (a:b:c)
        self.pos = pos
        self.base = base  # len(values) when the frame opened
        self.name = name
        self.closer = "]" if kind in ("list", "index") else ")"
        self.args: list[_Val] = []
        self.kwargs: dict[str, _Val] = {}
        self.keyword: str | None = None
        self.commas = 0


def _describe(tok: Token) -> str:
    if tok.kind == "END":
        return "the end of the text"
    if tok.kind == "NEWLINE":
        return "a new line"
    if tok.kind == "NAME":
        return f"name {tok.text!r}"
    if tok.kind == "NUM":
        return f"number {tok.text}"
    return f"{tok.text!r}"


class _Parser:
    def __init__(self, text: str, shapes: dict[str, Any] | None,
                 max_nodes: int | None = None, max_depth: int | None = None) -> None:
        self.text = text
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.depth = 0
        self.shapes = dict(shapes or {})
        self.values: list[_Val] = []
        self.stack: list[_Operator | _Frame] = []
        self.expect_after = False
        self.names: dict[str, Any] = {}

    # ----------------------------------------------------------------- errors

    def error(self, message: str, pos: int) -> ParseError:
        return ParseError(message, self.text, pos)

    def located(self, err: ShapeError, pos: int) -> ShapeError:
        """A ShapeError with the position in the text appended (one line)."""
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        new = ShapeError(f"{first} (at position {pos})", op=err.op, shapes=err.shapes)
        new.text = self.text  # type: ignore[attr-defined]
        new.position = pos  # type: ignore[attr-defined]
        return new

    # ----------------------------------------------------------------- values

    def number(self, tok: Token) -> int | float:
        s = tok.text
        if any(c in s for c in ".eE"):
            return float(s)
        if len(s) > 19 or int(s) > _INT64_MAX:
            raise self.error(
                "integer literal does not fit in 64 bits (write it as a float, e.g. 1e30)",
                tok.pos)
        return int(s)

    def name(self, tok: Token) -> Any:
        """The value of a name: a symbol (scalar, or shaped by ``shapes``) or a constant."""
        s = tok.text
        if s in self.names:
            return self.names[s]
        value = self._name(tok)
        self.names[s] = value
        return value

    def _name(self, tok: Token) -> Any:
        s = tok.text
        if s in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[s]
        if keyword.iskeyword(s):
            raise self.error(
                f"the Python keyword {s!r} is not allowed: a symback expression is arithmetic "
                "and calls only (no lambdas, comprehensions, conditionals or statements)",
                tok.pos)
        if s.startswith("_"):
            raise self.error(f"names starting with '_' are reserved ({s!r})", tok.pos)
        if s in self.shapes:
            spec = self.shapes[s]
            if isinstance(spec, Expr) and spec.is_symbol and spec.name == s:
                return spec  # a symbol given as is (an int64 index input, a float32 tensor)
            try:
                return symbol(s, _shape_of(self.shapes[s]))
            except ShapeError:
                raise
            except SymbackError as e:
                raise self.error(f"shape of {s!r}: {e}", tok.pos) from None
        if s in CONSTANTS:
            return const(CONSTANTS[s])
        if s in FUNCTIONS:
            raise self.error(f"{s!r} is a function: call it, as in {s}(x)", tok.pos)
        return symbol(s)

    def operand(self, v: _Val, what: str, pos: int) -> Any:
        """A value usable by an operator: an Expr or a Python number."""
        x = v.value
        if isinstance(x, bool):  # the printer writes folded comparisons as True / False
            return const(x)
        if isinstance(x, (Expr, int, float)):
            return x
        if isinstance(x, (tuple, list)):
            kind = "a list" if isinstance(x, list) else "a tuple"
            raise self.error(f"{kind} is allowed only as a function argument, not as an "
                             f"operand of {what}", v.pos)
        raise self.error(f"{x!r} is allowed only as a function argument (such as "
                         f"axis=None), not as an operand of {what}", v.pos)

    # ----------------------------------------------------------------- reductions

    def apply_top(self) -> None:
        """Apply the operator on top of the stack to its operands."""
        op = self.stack.pop()
        assert isinstance(op, _Operator)
        if op.unary:
            v = self.values.pop()
            x = self.operand(v, f"unary {op.symbol!r}", op.pos)
            if isinstance(x, (int, float)):  # a literal stays a literal: axis=-1
                result: Any = -x if op.symbol == "-" else x
            elif op.symbol == "-":
                result = self.build(operator.neg, (x,), op.pos, "unary '-'")
            else:
                result = x
            self.values.append(_Val(result, op.pos))
            return
        rv = self.values.pop()
        lv = self.values.pop()
        what = f"{op.symbol!r}"
        a = self.operand(lv, what, op.pos)
        b = self.operand(rv, what, op.pos)
        if op.symbol == "**":
            self.check_int_power(a, b, op.pos)
        fn = _BINARY[op.symbol][2]
        self.values.append(_Val(self.build(fn, (as_expr(a), as_expr(b)), op.pos, what), lv.pos))

    def build(self, fn: Callable[..., Any], args: tuple[Any, ...], pos: int, what: str,
              kwargs: dict[str, Any] | None = None) -> Expr:
        """Call a builder; its errors become positioned ParseErrors (ShapeErrors stay)."""
        try:
            out = fn(*args, **(kwargs or {}))
        except ShapeError as e:
            raise self.located(e, pos) from None
        except NotImplementedError as e:
            raise self.error(f"{what}: {e}", pos) from None
        except (SymbackError, TypeError, ValueError, IndexError, KeyError, OverflowError,
                ZeroDivisionError) as e:
            raise self.error(f"{what}: {e}", pos) from None
        if not isinstance(out, Expr):
            out = as_expr(out)
        v = out.value if out.op is CONST and out.weak else None
        if isinstance(v, float) and v != v and what in _REAL_DOMAIN and not any(
                isinstance(a, (float, Expr)) and _is_nan(a) for a in args):
            # numbers outside a real function's domain ((-2) ** 0.5, sqrt(-1.0), log(-1)):
            # not a real number, and a silent NaN would flow into every value and gradient.
            # (Indeterminate forms such as 0/0 and inf - inf keep IEEE's NaN.)
            raise self.error(f"{what}: the numbers give NaN (not a real number; symback "
                             "computes with real numbers)", pos)
        if isinstance(v, int) and not isinstance(v, bool) and not _INT64_MIN <= v <= _INT64_MAX:
            raise self.error("integer constant does not fit in 64 bits (use floats)", pos)
        return out

    def check_int_power(self, a: Any, b: Any, pos: int) -> None:
        """Refuse integer powers whose exact value would not fit in 64 bits (``10 ** 10 ** 10``)."""
        ia, ib = _int_value(a), _int_value(b)
        if ia is None or ib is None or ib <= 0 or abs(ia) <= 1:
            return
        if ib * (abs(ia).bit_length() - 1) > 63:
            raise self.error(
                f"integer power {ia} ** {ib} does not fit in 64 bits (use floats, e.g. "
                f"{ia}.0 ** {ib})", pos)

    def reduce_to_frame(self) -> None:
        """Apply pending operators down to the innermost open bracket."""
        while self.stack and isinstance(self.stack[-1], _Operator):
            self.apply_top()

    def push_binary(self, tok: Token) -> None:
        prec, right, _ = _BINARY[tok.text]
        chained = False
        while self.stack and isinstance(self.stack[-1], _Operator):
            top = self.stack[-1]
            assert isinstance(top, _Operator)
            if top.prec > prec or (top.prec == prec and not right):
                if prec == _CMP and top.prec == _CMP and not top.unary:
                    chained = True
                self.apply_top()
            else:
                break
        if chained:
            raise self.error("chained comparisons such as a < b < c are not supported; "
                             "add parentheses", tok.pos)
        self.stack.append(_Operator(tok.text, prec, tok.pos))

    # ----------------------------------------------------------------- brackets

    def slice_frame(self, tok: Token) -> _Frame:
        """The subscript a ':' belongs to (an error anywhere else)."""
        top = self.stack[-1] if self.stack else None
        if not isinstance(top, _Frame) or top.kind != "index":
            raise self.error("':' is allowed only in a subscript, as in x[1:3] (no lambdas, "
                             "dicts or annotations)", tok.pos)
        return top

    def add_part(self, frame: _Frame, value: Any, tok: Token) -> None:
        """One bound of a slice ``a:b:c`` read (``None``: left out)."""
        parts = (frame.parts or []) + [value]
        if len(parts) > 2:
            raise self.error("a slice has at most three parts (start:stop:step)", tok.pos)
        frame.parts = parts

    def end_item(self, frame: _Frame, tok: Token) -> None:
        """Move the value just parsed into ``frame``'s argument list."""
        v = self.values.pop()
        if frame.parts is not None:  # the last bound of a slice
            v = _Val(slice(*frame.parts, v.value), v.pos)
            frame.parts = None
        if frame.keyword is not None:
            frame.kwargs[frame.keyword] = v
            frame.keyword = None
        else:
            if frame.kwargs:
                raise self.error("a positional argument follows a keyword argument", v.pos)
            frame.args.append(v)

    def close(self, frame: _Frame, tok: Token) -> _Val:
        """The value of a closed bracket."""
        if frame.kind == "group":
            if len(frame.args) == 1 and frame.commas == 0:
                return _Val(frame.args[0].value, frame.pos)
            return _Val(tuple(_arg(a) for a in frame.args), frame.pos)
        if frame.kind == "list":
            return _Val([_arg(a) for a in frame.args], frame.pos)
        if frame.kind == "index":
            x, pos = frame.receiver
            if not frame.args:
                raise self.error("an empty subscript x[] is not allowed", frame.pos)
            items = [_arg(a) for a in frame.args]
            index = items[0] if len(items) == 1 and frame.commas == 0 else tuple(items)
            if x is None:  # s_[...]: the index itself, a value for a function argument
                return _Val(_IndexValue(index), pos)
            return _Val(self.build(operator.getitem, (x, index), frame.pos, "subscript"), pos)
        if frame.kind == "method":
            x, pos = frame.receiver
            fn = METHODS[frame.name]
            args = [_arg(a) for a in frame.args]
            kwargs = {k: _arg(v) for k, v in frame.kwargs.items()}
            try:
                inspect.signature(fn).bind(x, *args, **kwargs)
            except TypeError as e:
                raise self.error(f".{frame.name}(): {e}", frame.pos) from None
            return _Val(self.build(fn, (x, *args), frame.pos, f".{frame.name}()", kwargs), pos)
        return _Val(self.call(frame), frame.pos)

    def call(self, frame: _Frame) -> Expr:
        name = frame.name
        fn = _resolve(name)
        args = [_arg(a) for a in frame.args]
        kwargs = {k: _arg(v) for k, v in frame.kwargs.items()}
        if "shape" in kwargs and isinstance(fn, Op):  # broadcast_to(x, shape=(n, 3))
            kwargs["shape"] = _dims(kwargs["shape"])
        for v in frame.args:
            if isinstance(fn, Op) and not _is_operand(v.value):
                raise self.error(f"{name}: arguments must be expressions or numbers", v.pos)
        try:
            _check_signature(fn, args, kwargs)
        except TypeError as e:
            raise self.error(f"{name}(): {e}", frame.pos) from None
        return self.build(fn, tuple(args), frame.pos, f"{name}()", kwargs)

    # ----------------------------------------------------------------- limits

    def check_size(self, scan: _Scan) -> None:
        """Refuse, before building anything, a text with more than ``max_nodes`` operators.

        Counted: binary operators, each run of signs (``- - -x`` counts once: it folds to
        at most two nodes), commas, ``=``, ``.``, calls and empty brackets; names, numbers
        and brackets are not (each sits next to a counted token, or brackets nest, which
        ``max_depth`` bounds). Each counted token builds at most a node or two, so the
        limit bounds the work; the error names the token where the limit is passed.
        """
        if self.max_nodes is None or len(scan.codes) <= self.max_nodes:
            return
        over = next(islice(_COUNTED_RE.finditer(scan.codes), self.max_nodes, None), None)
        if over is not None:
            raise self.error(
                f"expression too large: more than {self.max_nodes:,} operators (pass "
                f"max_nodes=... to parse to allow more, or None for no limit)",
                scan.starts[over.start()])

    def open_frame(self, frame: _Frame) -> None:
        if self.max_depth is not None and self.depth >= self.max_depth:
            raise self.error(f"brackets nested too deeply: more than {self.max_depth:,} "
                             f"open at once (pass max_depth=... to parse to allow more)",
                             frame.pos)
        self.depth += 1
        self.stack.append(frame)

    # ----------------------------------------------------------------- main loop

    def parse(self) -> Expr:
        scan = _scan(self.text)
        self.check_size(scan)
        tokens = _Tokens(scan, len(self.text))
        self.tokens = tokens
        if tokens[0].kind == "END":
            raise self.error("empty expression", 0)
        expect_operand = True
        i = 0
        while True:
            tok = tokens[i]
            if tok.kind == "ERROR":
                raise self.error(tok.text, tok.pos)
            if expect_operand:
                i = self.operand_token(tokens, i)
                expect_operand = self.expect_after
                continue
            if tok.kind == "OP" and tok.text in _BINARY:
                self.push_binary(tok)
                expect_operand = True
            elif tok.kind == "OP" and tok.text == ".":
                nxt = tokens[i + 1]
                if nxt.kind == "NAME" and nxt.text in METHODS and tokens[i + 2].text == "(" \
                        and tokens[i + 2].kind == "OP":
                    v = self.values.pop()
                    x = self.operand(v, f"'.{nxt.text}()'", tok.pos)
                    self.open_frame(_Frame("method", nxt.pos, len(self.values), name=nxt.text,
                                           receiver=(as_expr(x), v.pos)))
                    expect_operand = True
                    i += 3
                    continue
                if nxt.kind != "NAME" or nxt.text != "T":
                    raise self.error("attribute access is not supported (only .T, the transpose, "
                                     "and the methods " + ", ".join(f".{m}()" for m in METHODS)
                                     + ")", nxt.pos if nxt.kind == "NAME" else tok.pos)
                v = self.values.pop()
                x = self.operand(v, "'.T'", tok.pos)
                self.values.append(
                    _Val(self.build(operator.attrgetter("T"), (as_expr(x),), tok.pos, ".T"),
                         v.pos))
                i += 1
            elif tok.kind == "OP" and tok.text == "[":
                v = self.values.pop()
                x = self.operand(v, "a subscript", tok.pos)
                self.open_frame(_Frame("index", tok.pos, len(self.values),
                                       receiver=(as_expr(x), v.pos)))
                expect_operand = True
            elif tok.kind == "OP" and tok.text == ":":
                self.reduce_to_frame()
                frame = self.slice_frame(tok)
                v = self.values.pop()
                self.add_part(frame, v.value, tok)
                expect_operand = True
            elif tok.kind == "OP" and tok.text in ",)]":
                self.reduce_to_frame()
                if not self.stack:
                    if tok.text == ",":
                        raise self.error("a tuple is allowed only as a function argument",
                                         tok.pos)
                    raise self.error(f"unmatched {tok.text!r}", tok.pos)
                frame = self.stack[-1]
                assert isinstance(frame, _Frame)
                if tok.text != "," and tok.text != frame.closer:
                    raise self.error(f"{tok.text!r} does not match the "
                                     f"{'[' if frame.kind == 'list' else '('!r} at position "
                                     f"{frame.pos}", tok.pos)
                self.end_item(frame, tok)
                if tok.text == ",":
                    frame.commas += 1
                    expect_operand = True
                else:
                    self.stack.pop()
                    self.depth -= 1
                    self.values.append(self.close(frame, tok))
            elif tok.kind == "END":
                self.reduce_to_frame()
                if self.stack:
                    frame = self.stack[-1]
                    assert isinstance(frame, _Frame)
                    opener = "[" if frame.kind == "list" else "("
                    raise self.error(f"{opener!r} was never closed", frame.pos + len(frame.name))
                v = self.values.pop()
                if isinstance(v.value, (tuple, list)):
                    raise self.error("the text must be one expression, not a tuple or list",
                                     v.pos)
                return as_expr(self.operand(v, "the result", v.pos))
            else:
                raise self.error(self.after_operand_message(tok), tok.pos)
            i += 1

    def operand_token(self, tokens: list[Token], i: int) -> int:
        """Handle a token where an operand is expected; returns the next index.

        Sets ``self.expect_after`` to whether an operand is still expected.
        """
        tok = tokens[i]
        self.expect_after = False
        top = self.stack[-1] if self.stack else None
        if tok.kind == "NUM":
            self.values.append(_Val(self.number(tok), tok.pos))
            return i + 1
        if tok.kind == "NAME":
            nxt = tokens[i + 1]
            if nxt.kind == "OP" and nxt.text == "=" and isinstance(top, _Frame) \
                    and top.kind in ("call", "method") and top.keyword is None:
                if tok.text in top.kwargs:
                    raise self.error(f"keyword argument {tok.text!r} is repeated", tok.pos)
                top.keyword = tok.text
                self.expect_after = True
                return i + 2
            if nxt.kind == "OP" and nxt.text == "[" and tok.text == _INDEX_MAKER \
                    and tok.text not in self.shapes:
                self.open_frame(_Frame("index", nxt.pos, len(self.values),
                                       receiver=(None, tok.pos)))
                self.expect_after = True
                return i + 2
            if nxt.kind == "OP" and nxt.text == "." and tok.text in NAMESPACES \
                    and tok.text not in self.shapes:
                # a function of a sub-namespace: linalg.norm( — read only from the table
                attr, paren = tokens[i + 2], tokens[i + 3]
                if attr.kind == "NAME" and paren.kind == "OP" and paren.text == "(":
                    dotted = f"{tok.text}.{attr.text}"
                    if dotted not in FUNCTIONS:
                        raise self.error(
                            f"unknown function {dotted!r}{_did_you_mean(dotted)}; known "
                            "functions: symback.parse.FUNCTIONS", tok.pos)
                    self.open_frame(_Frame("call", tok.pos, len(self.values), name=dotted))
                    self.expect_after = True
                    return i + 4
            if nxt.kind == "OP" and nxt.text == "(" and tok.text not in self.shapes:
                if tok.text not in FUNCTIONS:
                    if keyword.iskeyword(tok.text) or tok.text.startswith("_"):
                        self.name(tok)  # raises the keyword / reserved-name error
                    raise self.error(
                        f"unknown function {tok.text!r}{_did_you_mean(tok.text)}; known "
                        "functions: " + ", ".join(_COMMON) + f", … ({len(FUNCTIONS)} in all: "
                        "symback.parse.FUNCTIONS)", tok.pos)
                self.open_frame(_Frame("call", tok.pos, len(self.values), name=tok.text))
                self.expect_after = True
                return i + 2
            self.values.append(_Val(self.name(tok), tok.pos))
            return i + 1
        if tok.kind == "OP":
            if tok.text == ":":  # a slice with its start left out: x[:3], x[::2]
                self.add_part(self.slice_frame(tok), None, tok)
                self.expect_after = True
                return i + 1
            if tok.text in ",]" and isinstance(top, _Frame) and top.parts is not None \
                    and len(self.values) == top.base:
                self.values.append(_Val(None, tok.pos))  # a slice's last part left out: x[1:]
                return i
            if tok.text == "." and isinstance(top, _Frame) and top.kind == "index" \
                    and tokens[i + 1].text == "." and tokens[i + 2].text == "." \
                    and tokens[i + 1].pos == tok.pos + 1 and tokens[i + 2].pos == tok.pos + 2:
                self.values.append(_Val(Ellipsis, tok.pos))
                return i + 3
            if tok.text in "([":
                kind = "group" if tok.text == "(" else "list"
                self.open_frame(_Frame(kind, tok.pos, len(self.values)))
                self.expect_after = True
                return i + 1
            if tok.text in ("-", "+"):
                return self.signs(tokens, i)
            if tok.text in ")]" and isinstance(top, _Frame) and top.keyword is None \
                    and tok.text == top.closer and (top.commas > 0 or not top.args) \
                    and len(self.values) == top.base:
                # an empty bracket, or a trailing comma: f(), (), [], f(a,)
                self.stack.pop()
                self.depth -= 1
                self.values.append(self.close(top, tok))
                return i + 1
            if tok.text == "=":
                raise self.error("'=' is allowed only for keyword arguments (name=value)",
                                 tok.pos)
        raise self.error(f"expected an expression, found {_describe(tok)}", tok.pos)

    def signs(self, tokens: _Tokens, i: int) -> int:
        """Push a run of unary signs (``- + - x``), folded: ``-(-y)`` is ``y`` for every
        expression after the first negation, so a run keeps its last one or two minus
        signs, which give the same node as the whole run; returns the next index."""
        self.expect_after = True
        j = _SIGNS_RE.match(tokens.codes, i).end()  # type: ignore[union-attr]
        pos = tokens.starts[i]
        if j - i == 1:
            self.stack.append(_Operator(tokens.texts[i], _UNARY, pos, unary=True))
            return j
        minus = tokens.codes.count("-", i, j)
        kept = "-" if minus % 2 else ("--" if minus else "+")
        for s in kept:
            self.stack.append(_Operator(s, _UNARY, pos, unary=True))
        return j

    def after_operand_message(self, tok: Token) -> str:
        if tok.kind == "NEWLINE":
            return "only one expression is allowed (several lines or statements)"
        if tok.kind == "OP" and tok.text == "(":
            return "only the functions of the table can be called (no calls of expressions)"
        if tok.kind == "OP" and tok.text == "=":
            return "assignments are not supported ('=' is only for keyword arguments)"
        if tok.kind == "NAME" and keyword.iskeyword(tok.text):
            return (f"the Python keyword {tok.text!r} is not allowed: a symback expression is "
                    "arithmetic and calls only")
        return f"expected an operator or the end of the text, found {_describe(tok)}"


# --------------------------------------------------------------------------- helpers


#: Operations whose NaN on numbers means "not a real number" (a complex result).
_REAL_DOMAIN = {"'**'", "pow()", "sqrt()", "log()", "log1p()"}


def _is_nan(a: Any) -> bool:
    if isinstance(a, Expr):
        return a.op is CONST and a.weak and isinstance(a.value, float) and a.value != a.value
    return a != a


class _IndexValue(tuple):  # type: ignore[type-arg]
    """The value of ``s_[...]``: an index (a tuple of ints, slices, None, ...)."""

    def __new__(cls, index: Any) -> "_IndexValue":
        return super().__new__(cls, index if isinstance(index, tuple) else (index,))


def _arg(v: _Val) -> Any:
    if isinstance(v.value, _IndexValue):
        return tuple(v.value)
    return v.value


def _is_operand(x: Any) -> bool:
    return isinstance(x, (Expr, int, float))


def _int_value(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, Expr) and x.op is CONST and x.weak and isinstance(x.value, int) \
            and not isinstance(x.value, bool):
        return int(x.value)
    return None


def _shape_of(shape: Any) -> tuple[Any, ...]:
    if isinstance(shape, (int, str)):
        return (shape,)
    return tuple(shape)


def _did_you_mean(name: str) -> str:
    """`` (did you mean 'sigmoid'?)`` for a close function name, else ``''``."""
    import difflib

    close = difflib.get_close_matches(name, FUNCTIONS, n=1, cutoff=0.6) or \
        difflib.get_close_matches(name.lower(), FUNCTIONS, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _dim(d: Any) -> Any:
    """A dimension as written in text: an int, or a bare name (``n``) for a symbolic size."""
    if isinstance(d, Expr) and d.is_symbol and d.shape == ():
        return d.name
    if isinstance(d, Expr) and d.op is CONST and d.weak and isinstance(d.value, int):
        return d.value
    return d


def _dims(shape: Any) -> Any:
    """A shape as written in text (``3``, ``n``, ``(3, n)``) as a tuple of dimensions."""
    if isinstance(shape, (tuple, list)):
        return tuple(_dim(d) for d in shape)
    return (_dim(shape),)


def _filled(value: float) -> Callable[..., Expr]:
    def build(shape: Any) -> Expr:
        from .graph import broadcast_to

        return broadcast_to(const(value), _dims(shape))
    return build


def _eye(n: Any) -> Expr:
    from .ops.creation import eye

    return eye(_dim(n))


def _array(rows: Any) -> Expr:
    """A constant array from nested lists of numbers (how the printer writes one)."""
    import numpy as np

    def plain(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [plain(u) for u in v]
        if isinstance(v, Expr) and v.op is CONST and v.weak:
            return v.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
        raise SymbackError("array: the entries must be numbers")

    arr = np.array(plain(rows), dtype=np.float64)
    return const(arr)


#: The functions of kind "shape": ones(shape), zeros(shape), eye(n), with symbolic sizes
#: written as bare names (what the printer writes for a broadcast 1.0 and an identity),
#: and array([[...]]) for a constant array.
_SHAPE_FUNCTIONS: dict[str, Callable[..., Expr]] = {
    "ones": _filled(1.0), "zeros": _filled(0.0), "eye": _eye, "array": _array,
}


def _resolve(name: str) -> Callable[..., Any]:
    """The callable behind a function name of the table (looked up when called)."""
    if FUNCTIONS[name] == "shape":
        return _SHAPE_FUNCTIONS[name]
    if FUNCTIONS[name] == "op":
        from .ops import REGISTRY

        return REGISTRY[name]
    if "." in name:  # a whitelisted sub-namespace and a name of the table, nothing else
        import importlib

        space, attr = name.split(".", 1)
        if space not in NAMESPACES:
            raise SymbackError(f"parse: unknown namespace {space!r}")
        return getattr(importlib.import_module(f"symback.{space}"), attr)  # type: ignore
    import symback

    from .api_functions import op_of

    fn = getattr(symback, name)
    return op_of(fn) or fn  # a public op function: its op (arity and operand checks)


def _op_keywords(op: Op) -> set[str] | None:
    """The attributes an op takes: the keyword-only parameters of its shape rule.

    Elementwise ops take none; ``None`` means unknown (anything is passed on).
    """
    if op.elementwise:
        return set()
    try:
        params = inspect.signature(op.shape).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind is p.KEYWORD_ONLY}


def _check_signature(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """``TypeError`` for a wrong number of arguments or an unknown keyword."""
    if isinstance(fn, Op):
        if fn.arity is not None and len(args) != fn.arity:
            raise TypeError(f"takes {fn.arity} positional argument(s) but {len(args)} "
                            f"were given")
        allowed = _op_keywords(fn)
        if allowed is not None:
            for k in kwargs:
                if k not in allowed:
                    raise TypeError(f"got an unexpected keyword argument {k!r}")
        return
    inspect.signature(fn).bind(*args, **kwargs)


# --------------------------------------------------------------------------- public


#: Default limits of :func:`parse`: operators in one text, brackets open at once.
MAX_NODES = 50_000
MAX_DEPTH = 100_000


def parse(text: str, shapes: dict[str, Any] | None = None, *,
          max_nodes: int | None = MAX_NODES, max_depth: int | None = MAX_DEPTH) -> Expr:
    """Parse ``text`` (Python-like syntax) into an expression; the text is never executed.

    ``shapes`` maps names to tensor shapes (``{"X": (3, 4), "w": ("n",)}``) or to the
    symbol itself (``{"i": sb.tensor("i", (4,), dtype="int64")}``, for other dtypes);
    every other name is a scalar symbol. Operators ``+ - * / ** @``, unary
    minus, comparisons ``> >= < <= ==`` (for ``where``), ``.T``, subscripts with
    ints, slices, ``None``, ``...`` and index lists (``x[1:, 0]``, ``x[:, [0, 2]]``), the
    methods of :data:`METHODS` (``x.sum(axis=0)``) and the functions of
    :data:`FUNCTIONS` with keyword arguments (``axis=1``, ``keepdims=True``). Ints stay
    ints and floats stay floats.

    Raises ``ParseError`` (with the position and a caret line) for text outside
    this grammar, and ``ShapeError`` (with the position) for shapes that do not fit.

    Limits keep hostile text cheap (any megabyte answers within about a second):
    ``max_nodes`` bounds the operators, commas and calls (each builds a node or two;
    a run of signs counts once), ``max_depth`` the brackets open at once; past either,
    a ``ParseError`` says so before anything is built. ``None`` lifts a limit.

    >>> import symback as sb
    >>> sb.parse("3 * (a + b * c)") is 3 * (sb.symbols("a") + sb.symbols("b") * sb.symbols("c"))
    True
    >>> sb.parse("sum(sigmoid(X @ W))", {"X": (3, 3), "W": (3, 2)}).shape
    ()
    """
    if not isinstance(text, str):
        raise ParseError(f"parse expects a str, not {type(text).__name__}")
    if shapes is not None and not hasattr(shapes, "items"):
        raise SymbackError(f"parse: shapes must be a dict of name -> shape, not "
                           f"{type(shapes).__name__}")
    for name, limit in (("max_nodes", max_nodes), ("max_depth", max_depth)):
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or limit < 1):
            raise SymbackError(f"parse: {name} must be a positive int or None, not {limit!r}")
    return _Parser(text, shapes, max_nodes, max_depth).parse()
