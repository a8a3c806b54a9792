"""Widget authentication: connector token + registered host in, short-lived HS256 access tokens out."""

from __future__ import annotations

import hmac
import math
import secrets
import uuid
from collections import deque
from urllib.parse import urlsplit

import jwt

from simulator.clock import Clock

TOKEN_LIFETIME_SECONDS = 86400
ISSUER = "polyai-messaging-simulator"


class TokenError(Exception):
    """An access token that is missing, malformed, forged or expired."""


def normalise_host(value: str) -> str:
    """`https://Shop.example.com:443/x` and `shop.example.com` name the same registered host."""
    value = value.strip()
    host = urlsplit(value if "//" in value else f"//{value}").hostname
    return (host or "").lower()


class TokenService:
    """Checks connector credentials and issues and verifies access tokens.

    The signing key is given (kept in the state file, so tokens outlive a restart) or made per
    process (memory-only runs: a restart invalidates old tokens, as a rotated key would).
    Expiry is checked against the injected clock (virtual time in tests), so PyJWT's own
    wall-clock `exp` check is off.
    """

    def __init__(
        self, clock: Clock, connector_token: str, host: str, project_id: str, key: bytes | None = None
    ) -> None:
        self.clock = clock
        self._connector_token = connector_token
        self._host = normalise_host(host)
        self._project_id = project_id
        self._key = key or secrets.token_bytes(32)

    def connector_ok(self, token: str, host: str) -> bool:
        """Whether this connector token is registered for this host."""
        same_token = bool(self._connector_token) and hmac.compare_digest(token, self._connector_token)
        return same_token and normalise_host(host) == self._host

    def issue(self) -> str:
        """A signed access token valid for a day of clock time."""
        now = int(self.clock.now().timestamp())
        claims = {
            "iss": ISSUER,
            "sub": self._host,
            "project_id": self._project_id,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> dict[str, object]:
        """The token's claims; raises `TokenError` if it isn't one of ours or has expired."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"verify_exp": False, "require": ["exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from None
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= self.clock.now().timestamp():
            raise TokenError("expired")
        return claims


class RateLimiter:
    """A sliding-window limit per key (a token): `limit` requests per `window` seconds of clock time."""

    def __init__(self, clock: Clock, limit: int = 120, window: float = 60.0) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._next_sweep = 0.0

    def check(self, key: str) -> int | None:
        """Record one request; None if allowed, else the seconds to wait (for `Retry-After`)."""
        now = self.clock.monotonic()
        if now >= self._next_sweep:
            # Once a window: keys (tokens of finished sessions) with no hit in it leave memory.
            self._hits = {k: h for k, h in self._hits.items() if h and h[-1] > now - self.window}
            self._next_sweep = now + self.window
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()
