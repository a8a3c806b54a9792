"""Who may call the emulated APIs: SunCo (Basic key or HS256 JWT) and Zendesk Support (API token)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Principal:
    """Who a SunCo request acts as: its scope, and for integration scope the integration it is bound to."""

    scope: str  # app, account or integration
    key_id: str
    integration_id: str | None = None
    app_id: str | None = None  # the app an app key belongs to (None: the seeded app's own key)


@dataclass(frozen=True)
class Key:
    """A SunCo API key: the app key from settings, one made by CreateAppKey or CreateCustomIntegrationKey."""

    secret: str
    scope: str  # what Basic auth with this key grants
    integration_id: str | None = None
    app_id: str | None = None


def sunco_principal(header: str | None, keys: Mapping[str, Key]) -> Principal | None:
    """Basic `key id:secret` (the key's own scope) or a Bearer HS256 JWT signed by a key, header `kid` =
    key id; a JWT's `scope` claim (app, account, integration) is its scope, an integration key's JWT
    is integration-scoped whatever it claims. None when nothing valid is presented."""
    if not header:
        return None
    basic = _basic(header)
    if basic is not None:
        key = keys.get(basic[0])
        if key is None or not hmac.compare_digest(basic[1], key.secret):
            return None
        return Principal(key.scope, basic[0], key.integration_id, key.app_id)
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            return None
        claims = jwt.decode(token, key.secret, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.PyJWTError:
        return None
    scope = claims.get("scope")
    if scope not in JWT_SCOPES:
        return None
    if key.integration_id is not None:
        return Principal("integration", str(kid), key.integration_id, key.app_id)
    integration_id = claims.get("integrationId") if scope == "integration" else None
    return Principal(str(scope), str(kid), integration_id, key.app_id)


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
    """Zendesk API token auth: Basic `<email>/token:<api token>` (any agent's email address), or an OAuth access token
    (`Authorization: Bearer <token>`; the emulator's OAuth token is the API token)."""
    if header and header.lower().startswith("bearer "):
        return hmac.compare_digest(header[7:].strip(), settings.zendesk_api_token.get_secret_value())
    basic = _basic(header or "")
    if basic is None:
        return False
    user, token = basic
    # Zendesk looks the user up by email (any agent of the account here): no address, no user.
    email = user.removesuffix("/token")
    if not user.endswith("/token") or "@" not in email.strip("@"):
        return False
    return hmac.compare_digest(token, settings.zendesk_api_token.get_secret_value())


def zendesk_caller(header: str | None) -> str:
    """Who a (valid) Support API request acts as: the token user's email, or `oauth` for a bearer token."""
    basic = _basic(header or "")
    if basic is not None:
        return basic[0].removesuffix("/token")
    return "oauth"
