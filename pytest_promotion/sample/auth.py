"""Who is calling: an admin, a member, an anonymous caller, or one with a token nobody issued."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

from pydantic import SecretStr
from starlette.requests import Request


class Role(Enum):
    """The caller's role."""

    ADMIN = "admin"
    MEMBER = "member"
    ANONYMOUS = "anonymous"
    INVALID = "invalid"


@dataclass(frozen=True)
class Accepted:
    """The credentials the service accepts, from its settings."""

    admin: tuple[SecretStr, ...]
    member: tuple[SecretStr, ...]
    cookie_name: str


def _matches(given: str, accepted: tuple[SecretStr, ...]) -> bool:
    return any(hmac.compare_digest(given.encode(), token.get_secret_value().encode()) for token in accepted)


def role_of(request: Request, accepted: Accepted) -> Role:
    """The caller's role from ``Authorization: Bearer …`` or the session cookie."""
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(accepted.cookie_name)
    if header:
        scheme, _, token = header.partition(" ")
        given = token.strip() if scheme.lower() == "bearer" else ""
    elif cookie:
        given = cookie
    else:
        return Role.ANONYMOUS
    if given and _matches(given, accepted.admin):
        return Role.ADMIN
    if given and _matches(given, accepted.member):
        return Role.MEMBER
    return Role.INVALID
