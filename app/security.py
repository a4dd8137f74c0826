"""API token hashing. Only a keyed digest of a token is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def hash_token(raw_token: str, key: str) -> str:
    """Lowercase hex HMAC-SHA256 of the presented token."""
    return hmac.new(key.encode(), raw_token.encode(), hashlib.sha256).hexdigest()


def generate_token() -> str:
    """A new random token, URL-safe, shown to its owner once."""
    return secrets.token_urlsafe(24)


def parse_authorization(header: str | None) -> str | None:
    """Extract the token from `Bearer <t>`, `Token <t>` or `Token token="<t>"`."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return None
    value = rest.strip()
    if value.startswith("token="):
        value = value[len("token=") :]
    value = value.split(",")[0].strip().strip('"')
    return value or None


def bearer_matches(header: str | None, expected: str) -> bool:
    """The Authorization header carries `expected` (compared in constant time)."""
    presented = parse_authorization(header)
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())
