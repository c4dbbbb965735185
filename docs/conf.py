"""Sphinx configuration of symback's documentation (``pip install ".[docs]"``).

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors;
``tests/test_docs_build.py`` runs the same build into a temporary directory).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))  # the checkout's symback, not an installed one

project = "symback"
author = "the symback authors"
copyright = "symback authors, MIT licence"  # noqa: A001
release = version = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

master_doc = "index"
exclude_patterns = ["_build", "*.md"]
html_theme = "alabaster"
html_static_path: list[str] = []
html_theme_options = {"description": "symbolic-to-symbolic reverse-mode differentiation"}
suppress_warnings: list[str] = []
