"""Secrets never reach logs or error bodies, whatever the code logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from simulator.logs import REDACTED
from simulator.scenarios.harness import Harness
from simulator.scenarios.runner import run_file

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


async def test_a_secret_logged_by_mistake_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    async with Harness() as sim:
        secret = sim.settings.zendesk_shared_secret.get_secret_value()
        with caplog.at_level(logging.INFO):
            logging.getLogger("simulator.test").info("oops, the secret is %s", secret)
            logging.getLogger("simulator.test").warning(f"and again: {secret}")
    assert secret not in caplog.text
    assert caplog.text.count(REDACTED) == 2


@pytest.mark.parametrize("name", ["happy_path", "wrong_shared_secret", "zendesk_down_at_handoff"])
async def test_no_secret_in_the_logs_of_a_whole_run(name: str, caplog: pytest.LogCaptureFixture) -> None:
    secrets: list[str] = []
    original = Harness._start

    async def remember_secrets(self: Harness) -> None:
        await original(self)
        secrets.extend(self.settings.secret_values())
        secrets.extend(self.sim.relay_settings.secret_values())

    with caplog.at_level(logging.DEBUG), pytest.MonkeyPatch.context() as patch:
        patch.setattr(Harness, "_start", remember_secrets)
        result = await run_file(SCENARIOS / f"{name}.json")
    assert result.passed, result.report
    assert len(secrets) >= 9
    leaked = [s for s in secrets if s in caplog.text]
    assert not leaked


async def test_rejected_webhooks_do_not_echo_the_secret() -> None:
    async with Harness() as sim:
        secret = sim.settings.zendesk_shared_secret.get_secret_value()
        response = await sim.client.post(
            sim.settings.events_webhook_path, headers={"X-API-Key": secret[:-1] + "x"}, json={"events": []}
        )
        assert response.status_code == 401
        assert secret not in response.text and secret[:-1] not in response.text


def test_per_session_credentials_are_redacted_by_shape() -> None:
    from simulator.logs import Redactor

    redact = Redactor()
    line = "WebSocket /widget/ws?session_id=abc&access_token=eyJhbGciOi.J9.x-y_z&cursor=0 [accepted]"
    assert redact(line) == "WebSocket /widget/ws?session_id=abc&access_token=[redacted]&cursor=0 [accepted]"
    assert redact("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer [redacted]"
    assert redact("headers={'authorization': 'Basic dXNlcjpwYXNz'}") == "headers={'authorization': 'Basic [redacted]'}"


def test_many_known_secrets_are_all_redacted_as_with_few() -> None:
    """A long test session knows thousands of secrets (a simulator per test): every one is still
    found, nested ones included, and percent-encoded ones in a query parameter too."""
    import secrets
    from urllib.parse import quote

    from simulator.logs import Redactor

    known = [secrets.token_urlsafe(24) for _ in range(300)]
    nested = "prefix-" + known[7] + "-suffix"  # a secret that contains another
    few, many = Redactor([known[3], known[7], nested]), Redactor([*known, nested])
    line = f"a={known[3]} b {nested} c {known[7]}{known[7]} d=x?key={quote(known[3] + '/+')} end"
    assert many(line) == few(line)
    assert not any(secret in many(line) for secret in known)
    assert many(f"k={known[299][:-1]}") == f"k={known[299][:-1]}"  # a near miss is not a secret


def test_a_secret_is_redacted_until_every_simulator_that_knows_it_has_stopped() -> None:
    """Secrets are counted: one two simulators share stays redacted until both are done; a process
    that runs simulators one after another (replay, bench, tests) checks lines against live ones only."""
    from simulator.logs import REDACTED, Redactor

    redact = Redactor()
    shared, own = "shared-secret-0123456789", "own-secret-abcdefghij"
    first = redact.add([shared, own])
    second = redact.add([shared])
    redact.discard(first)
    assert redact(f"a {shared} b {own}") == f"a {REDACTED} b {own}"
    redact.discard(second)
    assert redact(f"a {shared}") == f"a {shared}"


async def test_a_stopped_simulator_leaves_its_secrets_behind_and_a_running_one_keeps_them(tmp_path: Path) -> None:
    from simulator.app import SimulatorApp
    from simulator.config import Settings, load_settings
    from simulator.logs import REDACTED, redactor

    def settings(name: str) -> Settings:
        return load_settings({"sim_state_dir": tmp_path / name}, environ={}, persist_generated=False)

    stopped, running = SimulatorApp(settings("a")), SimulatorApp(settings("b"))
    gone = stopped.settings.zendesk_shared_secret.get_secret_value()
    kept = running.settings.zendesk_shared_secret.get_secret_value()
    async with running.running():
        async with stopped.running():
            assert redactor(gone) == REDACTED
        assert redactor(gone) == gone  # no longer looked for
        assert redactor(f"x {kept}") == f"x {REDACTED}"


def test_query_parameters_are_redacted_as_the_look_behind_pattern_did() -> None:
    # QUERY_PARAM matches the character before a name instead of looking behind at it (faster):
    # on any text it finds the same names and values.
    import random
    import re

    from simulator.logs import QUERY_PARAM

    looked_behind = re.compile(r"(?<=[?&;\s])([^=&;\s\"'?#]+)=([^&;\s\"'#]*)")
    rng = random.Random(12)
    alphabet = "ab=&;?# \"'\n%5Ft_token"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(3000)]
    texts += ["GET /x?token=abc&b=2;c==d e=f", "?a=b=c&token=1", "x token=1", "?=1&&a=", '\ttoken=s"k']
    for text in texts:
        assert [m.groups()[1:] for m in QUERY_PARAM.finditer(text)] == [
            m.groups() for m in looked_behind.finditer(text)
        ]
        assert [m.span(3) for m in QUERY_PARAM.finditer(text)] == [m.span(2) for m in looked_behind.finditer(text)]
    from simulator.logs import Redactor

    assert Redactor()("GET /x?a=1&access_token=abc;b=2 secret=x") == (
        f"GET /x?a=1&access_token={REDACTED};b=2 secret={REDACTED}"
    )
