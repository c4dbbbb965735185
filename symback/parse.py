"""Text to expressions: symback's own tokenizer and an iterative precedence parser.

The text is never executed: no ``eval``, ``exec``, ``sympify`` or ``ast``.
A regular-expression tokenizer feeds a shunting-yard (Pratt-style) parser
whose only stacks are explicit lists, so 100,000 nested parentheses parse
without recursion. The grammar is the arithmetic subset of Python with
Python's precedences (``**`` right-associative and tighter than a unary
minus on its left); names become symbols (``shapes`` gives tensor shapes),
and calls resolve through one table of symback's public functions.
"""

from __future__ import annotations

import inspect
import keyword
import operator
import re
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
    **{name: "op" for name in ("broadcast_to", "expand_dims", "squeeze")},
}

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
    "@": (_MUL, False, operator.matmul),
    "**": (_POW, True, operator.pow),
}

_UNSUPPORTED_OPS: dict[str, str] = {
    "//": "floor division '//' is not supported",
    "%": "the operator '%' is not supported",
    "^": "the operator '^' is not supported (write '**' for powers)",
    "&": "the operator '&' is not supported", "|": "the operator '|' is not supported",
    "~": "the operator '~' is not supported", "<<": "the operator '<<' is not supported",
    ">>": "the operator '>>' is not supported", "!=": "the operator '!=' is not supported",
    "!": "the character '!' is not supported", ":=": "assignment expressions are not supported",
    "->": "'->' is not supported", ":": "':' is not supported (no slices, lambdas or dicts)",
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


_TOKEN_RE = re.compile(
    r"(?P<space>[ \t\r\f\v]+)"
    r"|(?P<newline>\n[ \t\r\f\v\n]*)"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<op>\*\*|//|>=|<=|==|!=|:=|->|<<|>>|[-+*/@()\[\],=.<>%^&|~!:;{}#?$\\`'\"])"
)


def tokenize(text: str, *, strict: bool = True) -> list[Token]:
    """Split ``text`` into tokens, the last one END.

    A character outside the grammar raises ``ParseError``; with ``strict=False``
    it becomes an ERROR token (the message in ``text``) that ends the list, so
    the parser reports the first fault in reading order.
    """
    tokens: list[Token] = []
    append = tokens.append
    new = tuple.__new__  # Token(...) without the Python-level __new__: tokens are hot
    depth = 0
    pos = 0
    n = len(text)
    error: tuple[str, int] | None = None
    for m in _TOKEN_RE.finditer(text):
        if m.start() != pos:  # finditer skipped a character no token starts with
            break
        kind = m.lastgroup
        s = m.group()
        if kind == "name":
            if not s.isidentifier():
                error = (f"{s!r} is not a valid name", pos)
                break
            append(new(Token, ("NAME", s, pos)))
        elif kind == "op":
            if s in _UNSUPPORTED_OPS:
                error = (_UNSUPPORTED_OPS[s], pos)
                break
            if s in "([":
                depth += 1
            elif s in ")]":
                depth = max(0, depth - 1)
            append(new(Token, ("OP", s, pos)))
        elif kind == "num":
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                error = ("malformed number (only decimal ints and floats such as 2, 0.5, 1e-3)",
                         pos)
                break
            append(new(Token, ("NUM", s, pos)))
        elif kind == "newline" and depth == 0 and tokens and m.end() < n:
            # a line break between two expressions (leading and trailing ones are blank)
            append(new(Token, ("NEWLINE", "\n", pos)))
        pos = m.end()
    if error is None and pos < n:
        error = (f"unexpected character {text[pos]!r}", pos)
    if error is not None:
        if strict:
            raise ParseError(error[0], text, error[1])
        append(Token("ERROR", error[0], error[1]))
    append(Token("END", "", n))
    return tokens


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

    __slots__ = ("kind", "pos", "base", "name", "closer", "args", "kwargs", "keyword", "commas")

    def __init__(self, kind: str, pos: int, base: int, name: str = "") -> None:
        self.kind = kind  # "group" | "list" | "call"
        self.pos = pos
        self.base = base  # len(values) when the frame opened
        self.name = name
        self.closer = "]" if kind == "list" else ")"
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
    def __init__(self, text: str, shapes: dict[str, Any] | None) -> None:
        self.text = text
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

    def end_item(self, frame: _Frame, tok: Token) -> None:
        """Move the value just parsed into ``frame``'s argument list."""
        v = self.values.pop()
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
        return _Val(self.call(frame), frame.pos)

    def call(self, frame: _Frame) -> Expr:
        name = frame.name
        fn = _resolve(name)
        args = [_arg(a) for a in frame.args]
        kwargs = {k: _arg(v) for k, v in frame.kwargs.items()}
        for v in frame.args:
            if isinstance(fn, Op) and not _is_operand(v.value):
                raise self.error(f"{name}: arguments must be expressions or numbers", v.pos)
        try:
            _check_signature(fn, args, kwargs)
        except TypeError as e:
            raise self.error(f"{name}(): {e}", frame.pos) from None
        return self.build(fn, tuple(args), frame.pos, f"{name}()", kwargs)

    # ----------------------------------------------------------------- main loop

    def parse(self) -> Expr:
        tokens = tokenize(self.text, strict=False)
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
                if nxt.kind != "NAME" or nxt.text != "T":
                    raise self.error("attribute access is not supported (only .T, the transpose)",
                                     nxt.pos if nxt.kind == "NAME" else tok.pos)
                v = self.values.pop()
                x = self.operand(v, "'.T'", tok.pos)
                self.values.append(
                    _Val(self.build(operator.attrgetter("T"), (as_expr(x),), tok.pos, ".T"),
                         v.pos))
                i += 1
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
                    and top.kind == "call" and top.keyword is None:
                if tok.text in top.kwargs:
                    raise self.error(f"keyword argument {tok.text!r} is repeated", tok.pos)
                top.keyword = tok.text
                self.expect_after = True
                return i + 2
            if nxt.kind == "OP" and nxt.text == "(" and tok.text not in self.shapes:
                if tok.text not in FUNCTIONS:
                    if keyword.iskeyword(tok.text) or tok.text.startswith("_"):
                        self.name(tok)  # raises the keyword / reserved-name error
                    raise self.error(
                        f"unknown function {tok.text!r}; known functions: "
                        + ", ".join(sorted(FUNCTIONS)), tok.pos)
                self.stack.append(_Frame("call", tok.pos, len(self.values), name=tok.text))
                self.expect_after = True
                return i + 2
            self.values.append(_Val(self.name(tok), tok.pos))
            return i + 1
        if tok.kind == "OP":
            if tok.text in "([":
                kind = "group" if tok.text == "(" else "list"
                self.stack.append(_Frame(kind, tok.pos, len(self.values)))
                self.expect_after = True
                return i + 1
            if tok.text in ("-", "+"):
                self.stack.append(_Operator(tok.text, _UNARY, tok.pos, unary=True))
                self.expect_after = True
                return i + 1
            if tok.text in ")]" and isinstance(top, _Frame) and top.keyword is None \
                    and tok.text == top.closer and (top.commas > 0 or not top.args) \
                    and len(self.values) == top.base:
                # an empty bracket, or a trailing comma: f(), (), [], f(a,)
                self.stack.pop()
                self.values.append(self.close(top, tok))
                return i + 1
            if tok.text == "=":
                raise self.error("'=' is allowed only for keyword arguments (name=value)",
                                 tok.pos)
        raise self.error(f"expected an expression, found {_describe(tok)}", tok.pos)

    def after_operand_message(self, tok: Token) -> str:
        if tok.kind == "NEWLINE":
            return "only one expression is allowed (several lines or statements)"
        if tok.kind == "OP" and tok.text == "(":
            return "only the functions of the table can be called (no calls of expressions)"
        if tok.kind == "OP" and tok.text == "[":
            return "subscripts (indexing and slicing) are not supported"
        if tok.kind == "OP" and tok.text == "=":
            return "assignments are not supported ('=' is only for keyword arguments)"
        if tok.kind == "NAME" and keyword.iskeyword(tok.text):
            return (f"the Python keyword {tok.text!r} is not allowed: a symback expression is "
                    "arithmetic and calls only")
        return f"expected an operator or the end of the text, found {_describe(tok)}"


# --------------------------------------------------------------------------- helpers


def _arg(v: _Val) -> Any:
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


def _resolve(name: str) -> Callable[..., Any]:
    """The callable behind a function name of the table (looked up when called)."""
    if FUNCTIONS[name] == "op":
        from .ops import REGISTRY

        return REGISTRY[name]
    import symback

    return getattr(symback, name)  # type: ignore[no-any-return]


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


def parse(text: str, shapes: dict[str, Any] | None = None) -> Expr:
    """Parse ``text`` (Python-like syntax) into an expression; the text is never executed.

    ``shapes`` maps names to tensor shapes (``{"X": (3, 4), "w": ("n",)}``);
    every other name is a scalar symbol. Operators ``+ - * / ** @``, unary
    minus, comparisons ``> >= < <= ==`` (for ``where``), ``.T`` and the
    functions of :data:`FUNCTIONS` with keyword arguments (``axis=1``,
    ``keepdims=True``). Ints stay ints and floats stay floats.

    Raises ``ParseError`` (with the position and a caret line) for text outside
    this grammar, and ``ShapeError`` (with the position) for shapes that do not fit.

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
    return _Parser(text, shapes).parse()
