"""SymPy counterparts of symback's neural-network functions: ``sigmoid``, ``softplus``, ``relu``.

SymPy has no such functions; these :class:`sympy.Function` subclasses give
them names that print well (LaTeX ``\\sigma``, ``\\operatorname{softplus}``,
``\\operatorname{relu}``), derivatives for ``sympy.diff``, rewrites to their
definitions and numeric evaluation. Imported lazily: ``import symback`` does
not load SymPy.

    σ(x) = 1 / (1 + e^{-x}),          σ'(x) = σ(x) (1 - σ(x))
    softplus(x) = log(1 + e^{x}),     softplus'(x) = σ(x)
    relu(x) = max(x, 0),              relu'(x) = H(x) with H(0) = 0 (symback's convention)
"""

from __future__ import annotations

from typing import Any

import sympy


class sigmoid(sympy.Function):
    """The logistic function σ(x) = 1 / (1 + e^{-x}).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> sympy.diff(sigmoid(x), x)
    (1 - sigmoid(x))*sigmoid(x)
    >>> sigmoid(x).rewrite(sympy.exp)
    1/(1 + exp(-x))
    """

    nargs = 1

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_zero:
            return sympy.S.Half
        if x is sympy.S.Infinity:
            return sympy.S.One
        if x is sympy.S.NegativeInfinity:
            return sympy.S.Zero
        if x.is_Float:
            return 1 / (1 + sympy.exp(-x))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        if argindex != 1:
            raise sympy.ArgumentIndexError(self, argindex)
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sympy.exp(-x))

    def _eval_rewrite_as_tanh(self, x: Any, **kwargs: Any) -> Any:
        return (1 + sympy.tanh(x / 2)) / 2

    def _eval_evalf(self, prec: int) -> Any:
        return self.rewrite(sympy.exp)._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real

    def _eval_is_positive(self) -> Any:
        return True if self.args[0].is_extended_real else None

    def _latex(self, printer: Any, exp: Any = None) -> str:
        arg = printer._print(self.args[0])
        head = r"\sigma" if exp is None else rf"\sigma^{{{exp}}}"
        return rf"{head}\left({arg}\right)"

    def _numpycode(self, printer: Any) -> str:
        return str(printer._print(self.rewrite(sympy.exp)))


class softplus(sympy.Function):
    """softplus(x) = log(1 + e^{x}), a smooth relu; its derivative is σ(x).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> sympy.diff(softplus(x), x)
    sigmoid(x)
    """

    nargs = 1

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_zero:
            return sympy.log(2)
        if x is sympy.S.Infinity:
            return sympy.S.Infinity
        if x is sympy.S.NegativeInfinity:
            return sympy.S.Zero
        if x.is_Float:
            return sympy.log(1 + sympy.exp(x))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        if argindex != 1:
            raise sympy.ArgumentIndexError(self, argindex)
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, x: Any, **kwargs: Any) -> Any:
        return sympy.log(1 + sympy.exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_evalf(self, prec: int) -> Any:
        return self.rewrite(sympy.exp)._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real

    def _latex(self, printer: Any, exp: Any = None) -> str:
        arg = printer._print(self.args[0])
        head = r"\operatorname{softplus}" if exp is None else \
            rf"\operatorname{{softplus}}^{{{exp}}}"
        return rf"{head}\left({arg}\right)"

    def _numpycode(self, printer: Any) -> str:
        return str(printer._print(self.rewrite(sympy.exp)))


class relu(sympy.Function):
    """relu(x) = max(x, 0); its derivative is the step H(x) with H(0) = 0.

    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> relu(x).rewrite(sympy.Max)
    Max(0, x)
    >>> sympy.diff(relu(x), x)
    Heaviside(x, 0)
    """

    nargs = 1

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_Number:
            return sympy.Max(x, 0)
        if x.is_nonnegative:
            return x
        if x.is_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        if argindex != 1:
            raise sympy.ArgumentIndexError(self, argindex)
        return sympy.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, x: Any, **kwargs: Any) -> Any:
        return sympy.Max(x, 0)

    def _eval_rewrite_as_Piecewise(self, x: Any, **kwargs: Any) -> Any:
        return sympy.Piecewise((x, x > 0), (0, True))

    def _eval_rewrite_as_Heaviside(self, x: Any, **kwargs: Any) -> Any:
        return x * sympy.Heaviside(x, 0)

    # rewrite(sympy.exp) has no exp form to offer; give the definition instead
    _eval_rewrite_as_exp = _eval_rewrite_as_Max

    def _eval_evalf(self, prec: int) -> Any:
        return sympy.Max(self.args[0], 0)._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real

    def _eval_is_nonnegative(self) -> Any:
        return True if self.args[0].is_extended_real else None

    def _latex(self, printer: Any, exp: Any = None) -> str:
        arg = printer._print(self.args[0])
        head = r"\operatorname{relu}" if exp is None else rf"\operatorname{{relu}}^{{{exp}}}"
        return rf"{head}\left({arg}\right)"

    def _numpycode(self, printer: Any) -> str:
        return str(printer._print(sympy.Max(self.args[0], 0)))


__all__ = ["sigmoid", "softplus", "relu"]
