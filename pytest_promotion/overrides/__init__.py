"""Environment-specific feature-flag and entitlement overrides: configuration, resolution, checks.

``config.py`` holds the shapes the four ``*_OVERRIDES_JSON`` variables are validated into,
``flags.py`` and ``entitlements.py`` the plain precedence rules (org > env > database or plan),
and ``commands.py`` the ``pytest-promotion overrides show`` command. This module imports nothing,
so ``settings.py`` can import ``config.py`` without pulling in pytest-facing code.
"""
