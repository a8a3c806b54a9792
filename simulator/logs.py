"""Structured logging with secrets scrubbed from every record, whoever wrote it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

REDACTED = "[redacted]"

# Credentials that are minted per session (so no setting knows them) but still end up in text,
# e.g. the widget's access token in a WebSocket URL that uvicorn logs on every connect.
CREDENTIAL_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:basic|bearer)\s+)[A-Za-z0-9._~+/=-]+"),
]
# Query parameters whose value is a credential, compared on the percent-decoded, lower-cased name,
# so `access%5Ftoken=` or `ACCESS_TOKEN=` is redacted like `access_token=`.
CREDENTIAL_PARAMS = frozenset({"access_token", "token", "api_key", "apikey", "secret", "password", "signature"})
# The character before the name is matched, not looked behind at: a pattern that starts with a
# character set lets the regex engine skip to the candidates (twice as fast over a trace entry).
QUERY_PARAM = re.compile(r"([?&;\s])([^=&;\s\"'?#]+)=([^&;\s\"'#]*)")


# A value with whitespace (what str.isspace calls so) or "=" is repr'd: one regex pass, not a loop per character.
_NEEDS_REPR = re.compile(r"[\s=]")


def kv(event: str, **fields: Any) -> str:
    """Format one structured log line: `event key=value ...` (values that need it are repr'd)."""
    parts = [event]
    for key, value in fields.items():
        if value is None:
            continue
        text = str(value)
        if not text or _NEEDS_REPR.search(text):
            text = repr(text)
        parts.append(f"{key}={text}")
    return " ".join(parts)


# Secrets shorter than this would redact ordinary words; generated secrets are long.
MIN_SECRET = 8
# Beyond this many known secrets (a test session starts a simulator per test, each with its own),
# one substring search per secret costs more than one walk over the text looking up the
# MIN_SECRET characters each secret starts with: 2,000 secrets made a log line cost ~240 µs.
_INDEXED_FROM = 64


class Redactor:
    """Replaces known secret values in text. One instance is shared by logs, recordings and the TUI.

    Secrets are counted: each simulator adds its own when it is made and discards them when it has
    stopped (`discard`), so a process that runs many simulators one after another (a scenario replay,
    the bench, a test session) checks each line against the live ones, not every one it has seen;
    a secret two simulators share stays until both are done.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._counts: dict[str, int] = {}
        self._ordered: tuple[str, ...] = ()
        self._heads: dict[str, list[str]] = {}
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> list[str]:
        """Redact `secrets` from now on; returns those counted (what to `discard` later)."""
        kept = [s for s in dict.fromkeys(secrets) if s and len(s) >= MIN_SECRET]
        fresh = False
        for secret in kept:
            fresh |= secret not in self._counts
            self._counts[secret] = self._counts.get(secret, 0) + 1
        if fresh:
            self._index()
        return kept

    def discard(self, secrets: Iterable[str]) -> None:
        """Undo one `add` of `secrets`: a secret nobody else added is no longer looked for."""
        gone = False
        for secret in secrets:
            count = self._counts.get(secret)
            if count is None:
                continue
            if count > 1:
                self._counts[secret] = count - 1
            else:
                del self._counts[secret]
                gone = True
        if gone:
            self._index()

    def _index(self) -> None:
        # Longest first (one secret may contain another), sorted once here rather than per line.
        self._ordered = tuple(sorted(self._counts, key=len, reverse=True))
        self._heads = {}
        for secret in self._ordered:
            self._heads.setdefault(secret[:MIN_SECRET], []).append(secret)

    def _present(self, text: str) -> list[str]:
        """The known secrets in `text`, longest first."""
        if len(self._ordered) < _INDEXED_FROM:
            # A plain substring search is far cheaper than a regex alternation.
            return [secret for secret in self._ordered if secret in text]
        heads, found = self._heads, set[str]()
        for start in range(len(text) - MIN_SECRET + 1):
            candidates = heads.get(text[start : start + MIN_SECRET])
            if candidates:
                found.update(secret for secret in candidates if text.startswith(secret, start))
        return sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._present(text):
            text = text.replace(secret, REDACTED)  # one inside a longer one went with it: a no-op
        if "authorization" in text.lower():  # every credential pattern starts so: skip the scans without it
            for pattern in CREDENTIAL_PATTERNS:
                text = pattern.sub(rf"\g<1>{REDACTED}", text)
        if "=" in text:
            text = QUERY_PARAM.sub(self._param, text)
        return text

    def _param(self, match: re.Match[str]) -> str:
        before, name, value = match.group(1), match.group(2), match.group(3)
        if _decoded(name).lower() in CREDENTIAL_PARAMS:
            return f"{before}{name}={REDACTED}"
        plain = _decoded(value)
        if plain != value and self._present(plain):
            return f"{before}{name}={REDACTED}"  # a known secret, percent-encoded
        return match.group(0)


def _decoded(text: str) -> str:
    """Percent-decoded until it stops changing (a few rounds: double encoding is still one name)."""
    for _ in range(3):
        plain = unquote_plus(text)
        if plain == text:
            break
        text = plain
    return text


redactor = Redactor()
"""The process-wide redactor: each app adds its settings' secrets to it at start."""

_installed = False


def install_redaction() -> None:
    """Scrub secrets from every log record at creation, so every handler (pytest's too) sees clean text."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return record
        record.msg, record.args = redactor(message), None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class RefusedHandshakeFilter(logging.Filter):
    """Drops uvicorn's ERROR after a WebSocket handshake we refused on purpose with an HTTP answer.

    uvicorn's websockets-sansio protocol reports every denial response as "returned without
    completing handshake"; the widget already logs each refusal in one INFO line with its reason.
    """

    MESSAGE = "ASGI callable returned without completing handshake."

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.MESSAGE


_handshake_filter = RefusedHandshakeFilter()


def quiet_refused_handshakes() -> None:
    """Install `RefusedHandshakeFilter` on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _handshake_filter not in logger.filters:
        logger.addFilter(_handshake_filter)


def configure_logging(level: str = "INFO") -> None:
    """Set up console logging for the CLI."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # One line per outbound request drowns the story; the parts log their own calls.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_redaction()
