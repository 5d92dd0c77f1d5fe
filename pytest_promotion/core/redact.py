"""The secret scrubber every report channel passes through.

Tokens and URL passwords are ``SecretStr`` from the moment settings read them; this module is the
only one that asks for their values, and only to take them out of text: failure messages, captured
output and logs, JUnit properties, report headers. A secret is also scrubbed in every form it can
come back in: percent-encoded (either hex case, with or without ``/`` kept), Python-repr and JSON
escaped, base64 (alone, or inside a longer base64 text at any alignment), and inside an HTTP
Basic credential. A text cut for display never ends in the first characters of a secret.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

from pydantic import SecretStr

MASK = "***"


SHORTEST_FRAGMENT = 4
"""A cut text ending in this many or more of a secret's first characters has that tail masked."""
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _base64_cores(raw: bytes) -> set[str]:
    """Base64 of ``raw`` alone, and the part of it that any longer base64 text containing it shows."""
    found = set()
    for alphabet in (base64.b64encode, base64.urlsafe_b64encode):
        found.add(alphabet(raw).decode("ascii"))
        for offset in range(3):
            encoded = alphabet(b"\0" * offset + raw).decode("ascii")
            core = encoded[-(-4 * offset // 3) : ((offset + len(raw)) // 3) * 4]
            if len(core) >= 8:
                found.add(core)
    return found


def forms(value: str) -> set[str]:
    """Every form of a secret that can reach a report: raw, escaped, percent-encoded, base64."""
    percent = {quote(value, safe=""), quote(value), quote_plus(value)}
    percent |= {_PERCENT.sub(lambda m: m.group().lower(), form) for form in percent}
    escaped = {repr(value)[1:-1], json.dumps(value)[1:-1], value.encode("unicode_escape").decode("ascii")}
    return {value, *percent, *escaped, *_base64_cores(value.encode("utf-8"))} - {""}


@dataclass(frozen=True)
class Redactor:
    """Replaces every known secret value in a text with ``***``. Its repr shows no secret."""

    pattern: re.Pattern[str] | None = field(default=None, repr=False)
    needles: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, secrets: Iterable[SecretStr | str | None]) -> Redactor:
        """A redactor for these secrets and their encoded forms; empty values are ignored."""
        needles: set[str] = set()
        for secret in secrets:
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if value:
                needles |= forms(value)
        if not needles:
            return cls()
        # Longest first, so a secret that contains another is replaced whole.
        ordered = tuple(sorted(needles, key=lambda needle: (-len(needle), needle)))
        return cls(re.compile("|".join(re.escape(needle) for needle in ordered)), ordered)

    def __repr__(self) -> str:
        return f"Redactor({len(self.needles)} secret forms)"

    def __bool__(self) -> bool:
        return self.pattern is not None

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(MASK, text)

    def cut(self, text: str, limit: int) -> str:
        """``text`` scrubbed, then cut to ``limit`` characters, never ending in part of a secret."""
        scrubbed = self.scrub(text)
        if len(scrubbed) <= limit:
            return scrubbed
        head = scrubbed[:limit]
        for needle in self.needles:
            for size in range(min(len(needle) - 1, len(head)), SHORTEST_FRAGMENT - 1, -1):
                if head.endswith(needle[:size]):
                    return head[:-size] + MASK
        return head

    def holds_secret(self, text: str) -> bool:
        """True when ``text`` contains a secret."""
        return self.pattern is not None and self.pattern.search(text) is not None


def url_secrets(url: str | None) -> list[str]:
    """The secrets embedded in a URL: its password, and the Basic credential it turns into."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    if parts.password is None:
        return []
    user, password = unquote(parts.username or ""), unquote(parts.password)
    basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return [password, parts.password, basic]


def without_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@`` part, and that part as (user, password) for Basic auth."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def mask_url(url: str) -> str:
    """``url`` with its password shown as ``***``, for messages that must name the target."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable (``[bad``): hide everything before the last @, the password with it
        scheme, sep, rest = url.partition("://")
        return f"{scheme}{sep}{MASK}@{rest.rpartition('@')[2]}" if "@" in rest else url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(
        (parts.scheme, f"{userinfo}:{MASK}@{netloc[1]}", parts.path, parts.query, parts.fragment)
    )
