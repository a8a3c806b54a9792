"""The SMS emulator: a Twilio-style inbound webhook, and an outbox of the texts the user would receive.

One session per phone number (a new one after SESSION_END). The session's events become
texts: bot and live-agent messages as they are, handoff events as short notices; typing,
echoes and thinking are not sent. Each outbox entry is one message with its carrier
segments listed (`segments`: the parts, in order).
"""

from __future__ import annotations

import itertools
import logging
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from simulator.bodies import loads
from simulator.clock import Clock
from simulator.logs import kv
from simulator.relay.chat import MediaRef
from simulator.trace import Trace
from simulator.widget import protocol as p
from simulator.widget import sms_signature
from simulator.widget.dialog import HANDOFF_FAILED_TEXT, Dialog
from simulator.widget.persist import WidgetStore
from simulator.widget.segments import split
from simulator.widget.sessions import Session

log = logging.getLogger("simulator.widget.sms")

CONNECTING = "Connecting you to an agent…"
AGENT_JOINED = "{name} has joined"
SOMEONE_JOINED = "An agent has joined"
AGENT_LEFT = "The agent has left the chat"
QUEUE_POSITION = "You are #{position} in the queue."
HANDOFF_TIMEOUT_TEXT = "Sorry, no agent is available right now. Please try again later."
CONVERSATION_ENDED = "This conversation has ended. Text us again any time."
STOP_WORDS = frozenset({"STOP", "END", "QUIT", "CANCEL", "UNSUBSCRIBE", "STOPALL"})
DEFAULT_SERVICE_NUMBER = "+15550000000"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def render(event: dict[str, Any]) -> str | None:
    """The text a phone gets for one session event, or None when the event isn't sent over SMS."""
    type_, payload = event["type"], event.get("payload") or {}
    if type_ in (p.POLY_AGENT_MESSAGE, p.LIVE_AGENT_MESSAGE):
        lines = [payload.get("text") or ""]
        for card in payload.get("attachments") or []:
            lines.append(" ".join(str(v) for v in (card.get("title"), card.get("content_url")) if v))
        return "\n".join(line for line in lines if line) or None
    if type_ == p.POLY_AGENT_TRIGGERED_HANDOFF:
        return CONNECTING
    if type_ == p.HANDOFF_QUEUE_STATUS and payload.get("position_in_queue"):
        return QUEUE_POSITION.format(position=payload["position_in_queue"])
    if type_ == p.LIVE_AGENT_JOINED:
        name = (payload.get("agent") or {}).get("name")
        return AGENT_JOINED.format(name=name) if name else SOMEONE_JOINED
    if type_ == p.LIVE_AGENT_LEFT:
        return AGENT_LEFT
    if type_ == p.HANDOFF_FAILED:
        return HANDOFF_FAILED_TEXT
    if type_ == p.HANDOFF_TIMEOUT:
        return HANDOFF_TIMEOUT_TEXT
    if type_ == p.SYSTEM_MESSAGE:
        return payload.get("message") or None
    if type_ == p.SESSION_END and payload.get("reason") == p.REASON_NATURAL_END:
        return CONVERSATION_ENDED
    return None


class SmsFeed:
    """Listens on one SMS session and puts what the phone would receive in the outbox."""

    def __init__(self, outbox: SmsOutbox, phone: str, service_number: str, session_id: str) -> None:
        self.outbox = outbox
        self.phone = phone
        self.service_number = service_number
        self.session_id = session_id
        self._last: tuple[str, str] | None = None  # (event type, text) of the last text sent

    def push(self, event: dict[str, Any]) -> None:
        text = render(event)
        if text is None:
            return
        # The relay may send a failure event and a system message saying the same thing: one text.
        # Anything else said twice (the bot's fallback to two messages) is two texts.
        last, self._last = self._last, (event["type"], text)
        if last is not None and last[1] == text and _restates(last[0], event["type"]):
            return
        self.outbox.send(to=self.phone, from_=self.service_number, body=text, session_id=self.session_id)

    def close(self) -> None:
        pass


class SmsOutbox:
    """Every text sent to a phone, in order."""

    def __init__(self, clock: Clock, trace: Trace | None = None, persist: WidgetStore | None = None) -> None:
        self.clock = clock
        self.trace = trace
        self.persist = persist
        self.messages: list[dict[str, Any]] = persist.sms() if persist else []
        self._ids = itertools.count(len(self.messages) + 1)

    def send(self, *, to: str, from_: str, body: str, session_id: str) -> dict[str, Any]:
        segmented = split(body)
        message = {
            "id": f"SM{next(self._ids):032d}",
            "to": to,
            "from": from_,
            "body": body,
            "segments": list(segmented.parts),
            "segment_count": segmented.count,
            "encoding": segmented.encoding,
            "sent_at": p.iso(self.clock.now()),
            "session_id": session_id,
        }
        if self.persist is not None:
            self.persist.add_sms(message)
        self.messages.append(message)
        if self.trace is not None:
            self.trace.record(
                "sms.out",
                f"SMS to {to}: {body[:80]!r}",
                session=session_id,
                data={"to": to, "from": from_, "body": body, "segments": segmented.count},
            )
        log.info(kv("sms.sent", to=to, segments=segmented.count, encoding=segmented.encoding))
        return message

    def for_number(self, to: str | None) -> list[dict[str, Any]]:
        """The texts sent to `to` (all when None). An unencoded `+` in a query string arrives as a
        space, so `?to=+1555...` and `?to=%2B1555...` name the same number."""
        if to is None:
            return list(self.messages)
        wanted = _number(to)
        return [m for m in self.messages if _number(m["to"]) == wanted]

    def clear(self) -> None:
        self.messages.clear()


def _restates(previous_type: str, type_: str) -> bool:
    """Whether an event repeats the one before it in other words (a system message beside a notice)."""
    return previous_type != type_ and p.SYSTEM_MESSAGE in (previous_type, type_)


def _number(phone: str) -> str:
    """A phone number for comparison: no surrounding spaces, no leading `+`."""
    return phone.strip().removeprefix("+")


MAX_MEDIA = 10  # carriers allow up to 10 media items per MMS


def _media(form: dict[str, Any]) -> list[MediaRef]:
    """MMS media, Twilio-style: `NumMedia`, then `MediaUrl0..N-1` and `MediaContentType0..N-1`."""
    try:
        count = min(MAX_MEDIA, max(0, int(str(form.get("NumMedia") or 0))))
    except ValueError:
        count = 0
    media = []
    for index in range(max(count, 1) if form.get("MediaUrl0") else count):
        url = str(form.get(f"MediaUrl{index}") or "").strip()
        if url.startswith(("http://", "https://")):
            kind = str(form.get(f"MediaContentType{index}") or "").strip() or None
            media.append(MediaRef(url=url, content_type=kind))
    return media


def _fields(raw: bytes, content_type: str) -> list[tuple[str, str]] | dict[str, Any] | None:
    """The webhook's fields: form-encoded pairs as providers send them (a JSON object accepted too),
    None if unreadable."""
    # Parsed here rather than with request.form(), which would read the body a second time.
    if content_type.startswith("application/json"):
        try:
            data = loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None


class SmsChannel:
    """`POST /sms/inbound` (form fields From, To, Body) and `GET /_sim/sms/outbox[?to=+1555...]`."""

    def __init__(self, dialog: Dialog, clock: Clock, persist: WidgetStore | None = None) -> None:
        self.dialog = dialog
        self.auth_token = dialog.settings.sms_auth_token.get_secret_value()
        self.outbox = SmsOutbox(clock, dialog.store.trace, persist)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sms/inbound", self.inbound, methods=["POST"]),
            Route("/_sim/sms/outbox", self.read_outbox, methods=["GET"]),
        ]

    async def inbound(self, request: Request) -> Response:
        """A text from a phone, as a provider's webhook delivers it, signed with the provider's Auth
        Token (403 otherwise, as the provider's own libraries answer); answered with empty TwiML."""
        raw = await request.body()
        fields = _fields(raw, request.headers.get("content-type", ""))
        pairs = fields if isinstance(fields, list) else []
        if not sms_signature.valid(
            self.auth_token, request.headers.get(sms_signature.HEADER), str(request.url), raw, pairs
        ):
            log.warning(kv("sms.refused", reason="signature", signed=sms_signature.HEADER in request.headers))
            return JSONResponse({"error": f"{sms_signature.HEADER} is missing or does not match"}, status_code=403)
        form = dict(fields) if isinstance(fields, list) else fields
        if form is None:
            return JSONResponse({"error": "Error parsing request"}, status_code=400)
        values = [form.get(k) for k in ("From", "To", "Body")]
        if any(value is not None and not isinstance(value, str) for value in values):
            # JSON can carry numbers, lists or objects; a provider's fields are always text.
            return JSONResponse({"error": "From, To and Body must be strings"}, status_code=400)
        phone, service, body = ((value or "").strip() for value in values)
        media = _media(form)
        if not phone or not (body or media):
            return JSONResponse({"error": "From and Body (or MediaUrl0) are required"}, status_code=400)
        self.receive(phone, service or DEFAULT_SERVICE_NUMBER, body, media)
        return Response(EMPTY_TWIML, media_type="text/xml")

    def receive(
        self, phone: str, service_number: str, body: str, media: list[MediaRef] | None = None
    ) -> Session | None:
        """Route one inbound text (and any MMS media) to the number's session (opening one if needed)."""
        log.info(kv("sms.received", phone=phone, chars=len(body), media=len(media or [])))
        session = self.dialog.store.for_phone(phone)
        if session is None and body.upper() not in STOP_WORDS:
            session = self._open(phone, service_number)
            opened = True
        else:
            opened = False
        if (trace := self.dialog.store.trace) is not None:
            trace.record(
                "widget.in",
                f"SMS from {phone}: {body[:80]!r}",
                session=session.id if session else None,
                data={
                    "channel": "sms",
                    "event": {
                        "type": "SMS",
                        "payload": {
                            "from": phone,
                            "to": service_number,
                            "body": body,
                            **({"media": [m.model_dump(exclude_none=True) for m in media]} if media else {}),
                        },
                    },
                },
            )
        if body.upper() in STOP_WORDS:
            # Carrier opt-out words end the conversation; nothing is sent back.
            if session is not None:
                self.dialog.end(session)
            return session
        assert session is not None
        if opened:
            if not self.dialog.would_answer(body):
                # A first "hi" gets the greeting alone, not the greeting plus "didn't catch that".
                self.dialog.note(session, body)
                self.dialog.join(session, echo=False)
                return session
            self.dialog.join(session, echo=False)
        self.dialog.say(session, body, media=media)
        return session

    def _open(self, phone: str, service_number: str) -> Session:
        session = self.dialog.open("sms", phone=phone)
        session.service_number = service_number
        self.listen(session)
        return session

    def listen(self, session: Session) -> None:
        """Texts for the session's phone go to the outbox (also for a session restored after a restart)."""
        phone = session.user.phone or ""
        session.subscribe(SmsFeed(self.outbox, phone, session.service_number or DEFAULT_SERVICE_NUMBER, session.id))

    async def read_outbox(self, request: Request) -> Response:
        to = request.query_params.get("to")
        return JSONResponse({"messages": self.outbox.for_number(to)})

    def reset(self) -> None:
        self.outbox.clear()
