"""The secret scrubber every report channel passes through.

Tokens and URL passwords are ``SecretStr`` from the moment settings read them; this module is the
only one that asks for their values, and only to take them out of text: failure messages, captured
output and logs, JUnit properties, report headers. A secret is also scrubbed in the forms a
service is likely to echo it back in: percent-encoded, and inside an HTTP Basic credential.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

from pydantic import SecretStr

MASK = "***"


@dataclass(frozen=True)
class Redactor:
    """Replaces every known secret value in a text with ``***``."""

    pattern: re.Pattern[str] | None = None

    @classmethod
    def of(cls, secrets: Iterable[SecretStr | str | None]) -> Redactor:
        """A redactor for these secrets and their encoded forms; empty values are ignored."""
        needles: set[str] = set()
        for secret in secrets:
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if value:
                needles |= {value, quote(value, safe=""), quote_plus(value)}
        if not needles:
            return cls()
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(needles, key=lambda needle: (-len(needle), needle))
        return cls(re.compile("|".join(re.escape(needle) for needle in ordered)))

    def __bool__(self) -> bool:
        return self.pattern is not None

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(MASK, text)

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
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(
        (parts.scheme, f"{userinfo}:{MASK}@{netloc[1]}", parts.path, parts.query, parts.fragment)
    )
