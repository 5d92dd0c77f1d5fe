"""Errors the plugin raises for bad input, kept free of pytest so plain functions can raise them.

The plugin turns a :class:`ConfigError` into ``pytest.UsageError``; its message is already the
one paragraph a user needs: what is wrong, where, and what to do.
"""

from __future__ import annotations


class ConfigError(Exception):
    """Bad configuration or input file: the message names it and says how to fix it."""
