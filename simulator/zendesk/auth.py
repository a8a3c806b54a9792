"""Who may call the emulated APIs: SunCo (Basic key or HS256 JWT) and Zendesk Support (API token)."""

from __future__ import annotations

import base64
import binascii
import hmac

import jwt

from simulator.config import Settings

JWT_SCOPES = frozenset({"app", "account", "integration"})


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def sunco_authorized(header: str | None, settings: Settings) -> bool:
    """True for Basic `key id:secret`, or a Bearer HS256 JWT with `kid` = key id and a valid `scope`."""
    if not header:
        return False
    key_id = settings.zendesk_key_id
    secret = settings.zendesk_key_secret.get_secret_value()
    basic = _basic(header)
    if basic is not None:
        return hmac.compare_digest(basic[0], key_id) and hmac.compare_digest(basic[1], secret)
    if not header.lower().startswith("bearer "):
        return False
    token = header[7:].strip()
    try:
        if jwt.get_unverified_header(token).get("kid") != key_id:
            return False
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.PyJWTError:
        return False
    return claims.get("scope") in JWT_SCOPES


def zendesk_authorized(header: str | None, settings: Settings) -> bool:
    """Zendesk API token auth: Basic `<email>/token:<api token>` (any email)."""
    basic = _basic(header or "")
    if basic is None:
        return False
    user, token = basic
    if not user.endswith("/token") or len(user) <= len("/token"):
        return False
    return hmac.compare_digest(token, settings.zendesk_api_token.get_secret_value())
