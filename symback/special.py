"""``sb.special``: scipy.special's functions, with SciPy's names and meanings.

``erf erfc gammaln digamma (psi) polygamma xlogy xlog1py expit logit``; each is
differentiable to every order (see :mod:`symback.ops.special` for the maths).
SciPy is needed only to *compute* ``erf`` … ``xlog1py`` (it is imported when code
is generated for them); building, differentiating and printing need none.

>>> import symback as sb
>>> x = sb.symbols("x")
>>> sb.latex(sb.special.erf(x))
'\\\\operatorname{erf}(x)'
"""

from __future__ import annotations

from .ops.special import (digamma, erf, erfc, expit, gammaln, logit, polygamma, psi, xlog1py,
                          xlogy)

__all__ = ["erf", "erfc", "gammaln", "digamma", "psi", "polygamma", "xlogy", "xlog1py", "expit",
           "logit"]
