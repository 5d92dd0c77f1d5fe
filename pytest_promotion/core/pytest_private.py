"""The one module that touches pytest's private API (``_pytest``), so a pytest upgrade breaks in one place.

What it takes: the terminal repr and file-location types a report's ``longrepr`` needs and the
terminal writer type (core/failures.py), and the ``-m`` grammar, so that whether a run asks for
a stage is decided by the same parser that selects the items (stages.py).
``tests/unit/test_architecture.py`` pins every name used here and fails when another module
imports ``_pytest``.
"""

from __future__ import annotations

from _pytest._code.code import ReprFileLocation, TerminalRepr
from _pytest._io import TerminalWriter
from _pytest.mark.expression import Expression

__all__ = ["Expression", "ReprFileLocation", "TerminalRepr", "TerminalWriter"]
