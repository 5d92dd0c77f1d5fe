"""Sizes and ages as a person reads them in plans and messages."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_size(size: float) -> str:
    """``512 B``, ``36.3 KiB``, ``1.2 MiB``, ``3.40 GiB``: never ``0.0 MiB`` for a small file."""
    if size < 1024:
        return f"{size:.0f} B"
    for unit in _UNITS:
        size /= 1024
        if size < 1024 or unit == _UNITS[-1]:
            return f"{size:.2f} {unit}" if unit in {"GiB", "TiB"} else f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def human_age(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``40 s``."""
    seconds = max(seconds, 0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
