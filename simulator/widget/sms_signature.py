"""The SMS provider's request signature (Twilio's `X-Twilio-Signature`), made and checked.

The provider signs each webhook with the account's Auth Token: HMAC-SHA1 over the full URL it
called followed by every POST parameter, sorted by name, as name + value with no separators,
base64-encoded. A JSON body is signed through the URL instead: its hex SHA-256 rides in the
`bodySHA256` query parameter, and the parameters part is empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Generator, Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

HEADER = "X-Twilio-Signature"
BODY_HASH_PARAM = "bodySHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """The signature the provider sends for a request to `url` with these form parameters."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def body_hash(body: bytes) -> str:
    """The `bodySHA256` query value for a JSON body."""
    return hashlib.sha256(body).hexdigest()


def signed_json_url(url: str, body: bytes) -> str:
    """`url` with the body's hash appended, as the provider calls it for a JSON webhook."""
    return f"{url}{'&' if '?' in url else '?'}{BODY_HASH_PARAM}={body_hash(body)}"


def valid(auth_token: str, header: str | None, url: str, body: bytes, params: Iterable[tuple[str, str]]) -> bool:
    """Whether `header` signs this request. `params` are the form fields (ignored for a JSON body,
    which is checked against the URL's `bodySHA256` instead). The URL is tried with and without an
    explicit default port, because proxies between the provider and us add or drop it."""
    if not header or not auth_token:
        return False
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if BODY_HASH_PARAM in query:
        if not hmac.compare_digest(query[BODY_HASH_PARAM], body_hash(body)):
            return False
        params = ()
    fields = list(params)
    return any(hmac.compare_digest(signature(auth_token, candidate, fields), header) for candidate in _spellings(url))


def _spellings(url: str) -> list[str]:
    """The URL as called, and the same with its default port added or removed."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if parts.hostname is None or default is None:
        return [url]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port is None:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return [url]
    return [url, urlunsplit(other)]


class ProviderSigning(httpx.Auth):
    """httpx auth that signs requests to `/sms/inbound` as the provider does (for clients playing it:
    the scenario actors, the TUI, tests). A request already carrying a signature is left alone."""

    requires_request_body = True

    def __init__(self, auth_token: str) -> None:
        self.auth_token = auth_token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.path.endswith("/sms/inbound") and HEADER not in request.headers:
            body = request.content
            if request.headers.get("content-type", "").startswith("application/json"):
                request.url = httpx.URL(signed_json_url(str(request.url), body))
                params: list[tuple[str, str]] = []
            else:
                params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            request.headers[HEADER] = signature(self.auth_token, str(request.url), params)
        yield request
