"""Printers: plain text (``str(expr)``), LaTeX, and graph pictures."""
