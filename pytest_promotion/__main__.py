"""``python -m pytest_promotion``: the same as the ``pytest-promotion`` console script."""

from __future__ import annotations

import sys

from pytest_promotion.cli import main

if __name__ == "__main__":
    sys.exit(main())
