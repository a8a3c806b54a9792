"""`python -m simulator sms`: text the running simulator as a phone would, signed as the provider signs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from simulator.config import load_settings


def cmd_sms(args: argparse.Namespace) -> int:
    """POST one text (and any media) to `/sms/inbound`; exit 1 if the simulator refuses it."""
    import httpx

    from simulator.widget.sms import DEFAULT_SERVICE_NUMBER
    from simulator.widget.sms_signature import ProviderSigning

    overrides: dict[str, Any] = {k: v for k, v in (("sim_host", args.host), ("sim_port", args.port)) if v is not None}
    settings = load_settings(overrides, config_file=args.config)
    base = (args.url or settings.public_base_url).rstrip("/")
    form = {"From": args.phone, "To": args.to or DEFAULT_SERVICE_NUMBER, "Body": args.text}
    if args.media:
        form["NumMedia"] = str(len(args.media))
        form.update({f"MediaUrl{i}": url for i, url in enumerate(args.media)})
    signing = ProviderSigning(settings.sms_auth_token.get_secret_value())
    try:
        response = httpx.post(f"{base}/sms/inbound", data=form, auth=signing, timeout=10)
    except httpx.HTTPError as exc:
        print(f"error: {base} did not answer: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if not response.is_success:
        print(f"error: {response.status_code} {response.text.strip()}", file=sys.stderr)
        return 1
    print(f"sent; replies: curl -s '{base}/_sim/sms/outbox?to={args.phone.replace('+', '%2B')}'")
    return 0


def add_sms_command(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `sms` on the CLI's subparsers."""
    sms = sub.add_parser("sms", help="text the running simulator from a phone number (signed as the provider does)")
    sms.add_argument("text", help="the message body")
    sms.add_argument("--from", dest="phone", default="+15550100001", help="the phone number texting")
    sms.add_argument("--to", help="the service number texted (default +15550000000)")
    sms.add_argument("--media", action="append", metavar="URL", help="an MMS media URL (repeatable)")
    sms.add_argument("--url", help="the simulator's base URL (default from SIM_HOST and SIM_PORT)")
    sms.add_argument("--host", help="interface the simulator listens on (SIM_HOST)")
    sms.add_argument("--port", type=int, help="port the simulator listens on (SIM_PORT)")
    common(sms)
    sms.set_defaults(run=cmd_sms)
