"""Running a scenario against the whole simulator, and saying clearly what went wrong."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from simulator.scenarios.actors import ActorError, EndUser, event_text, short_type
from simulator.scenarios.harness import Harness
from simulator.scenarios.loader import line_of, read_scenario
from simulator.scenarios.matching import (
    describe_event,
    describe_match,
    event_matches,
    find_in_order,
    side_by_side,
)
from simulator.scenarios.model import (
    AgentStep,
    CountRange,
    CrashStep,
    EventMatch,
    Expectations,
    ExpectStep,
    FaultStep,
    RelaySettingsStep,
    RestartStep,
    Scenario,
    Step,
    TicketExpect,
    UserStep,
    WaitStep,
)

# Called before each step with its index, and once more with `None` after the last step (or the
# failure), while the harness still runs: the TUI's player shows the run and can pause between steps.
StepHook = Callable[[Harness, int, "Step | None"], Awaitable[None]]


class ScenarioFailed(AssertionError):
    """A scenario's expectation did not hold; the message is a readable report."""


@dataclass
class ScenarioResult:
    name: str
    source: str
    passed: bool
    report: str = ""
    real_seconds: float = 0.0
    virtual_seconds: float = 0.0
    actual: dict[str, Any] = field(default_factory=dict)


class _Run:
    """One run of one scenario: the harness, each user's match cursor, and the actual record."""

    def __init__(self, scenario: Scenario, harness: Harness, source: str, text: str | None) -> None:
        self.scenario = scenario
        self.harness = harness
        self.source = source
        self.text = text
        self.cursors: dict[str, int] = {}
        self.never: dict[str, list[EventMatch]] = {}
        self.first_user = next(iter(scenario.users))
        # The actual run, as a scenario: same steps, expectations rewritten to what happened.
        self.actual_steps: list[dict[str, Any]] = []

    def user(self, name: str | None) -> EndUser:
        name = name or self.first_user
        if name not in self.harness.users:
            raise ScenarioFailed(f"unknown user {name!r}; the scenario declares {sorted(self.scenario.users)}")
        return self.harness.users[name]

    def where(self, index: int) -> str:
        line = f":{line_of(self.text, ['steps', index])}" if self.text else ""
        return f"step {index + 1} ({self.source}{line})"

    async def start(self) -> None:
        for name, spec in self.scenario.users.items():
            profile = {k: v for k, v in (("name", spec.name), ("email", spec.email)) if v}
            await self.harness.user(name, channel=spec.channel, phone=spec.phone, profile=profile or None)
            self.cursors[name] = 0

    async def step(self, index: int, step: Step) -> None:
        dumped = step.model_dump(by_alias=True, exclude_defaults=True)
        try:
            if isinstance(step, UserStep):
                await self.user_step(step)
            elif isinstance(step, AgentStep):
                await self.agent_step(step)
            elif isinstance(step, WaitStep):
                await self.harness.advance(step.wait)
            elif isinstance(step, FaultStep):
                fault = step.fault
                await self.harness.fault(fault if isinstance(fault, str) else fault.model_dump(exclude_unset=True))
            elif isinstance(step, RestartStep):
                await self.harness.restart_relay()
            elif isinstance(step, CrashStep):
                await self.harness.crash_relay(step.when)
            elif isinstance(step, RelaySettingsStep):
                await self.harness.change_relay_settings(step.relay_settings)
            elif isinstance(step, ExpectStep):
                dumped = await self.expect(index, step)
        except ActorError as exc:
            raise ScenarioFailed(f"{self.where(index)}: {exc}") from None
        self.actual_steps.append(dumped)

    async def user_step(self, step: UserStep) -> None:
        user = self.user(step.as_)
        action = step.user
        if action == "connect":
            await user.connect()
        elif action == "join":
            await user.join()
        elif action == "say" and step.media:
            await user.say_with_media(step.text or "", [(m.url, m.content_type) for m in step.media])
        elif action == "say":
            await user.say(step.text or "")
        elif action in ("type", "stop_typing"):
            await user.typing(action == "type")
        elif action == "reconnect":
            await user.reconnect()
        elif action == "disconnect":
            await user.disconnect()
            if step.seconds is not None:
                await self.harness.advance(step.seconds)
                await user.reconnect()
        elif action == "end":
            await user.end()

    async def agent_step(self, step: AgentStep) -> None:
        agent = self.harness.agent(step.as_ or "Sarah")
        ticket = await self.harness.ticket_for(self.user(step.for_))
        ticket_id = int(ticket["id"])
        if step.agent == "accept":
            await agent.accept(ticket_id)
        elif step.agent == "say":
            await agent.say(ticket_id, step.text or "")
        elif step.agent in ("type", "stop_typing"):
            await agent.typing(ticket_id, step.agent == "type")
        elif step.agent == "set_status":
            # Any case in the file; the Support API takes it lower case (Zendesk's webhooks say SOLVED).
            await agent.set_status(ticket_id, (step.status or "").lower())
        elif step.agent == "send_image":
            await agent.send(ticket_id, _media("image", step.url or "", step.name, step.text))
        elif step.agent == "send_file":
            await agent.send(ticket_id, _media("file", step.url or "", step.name, step.text))
        elif step.agent == "send":
            await agent.send(ticket_id, dict(step.content or {}))

    async def expect(self, index: int, step: ExpectStep) -> dict[str, Any]:
        spec = step.expect
        name = spec.as_ or self.first_user
        user = self.user(name)
        self.never.setdefault(name, []).extend(spec.user_never_sees)
        problems: list[str] = []
        start = self.cursors.get(name, 0)
        after = start

        async def check() -> bool:
            nonlocal after
            problems.clear()
            after = self.check_user(name, user, spec, problems)
            await self.check_zendesk(user, spec, problems)
            return not problems

        passed = await self.harness.eventually(check, within=step.within)
        if passed:
            self.cursors[name] = after
        end = after if passed else len(user.seen)
        actual = self.actual_expectation(user, step, start, end)
        if not passed:
            self.actual_steps.append(actual)
            waited = f" within {step.within:g} virtual seconds" if step.within else ""
            raise ScenarioFailed(f"{self.where(index)}: expectation not met{waited}:\n" + "\n\n".join(problems))
        return actual

    def check_user(self, name: str, user: EndUser, spec: Expectations, problems: list[str]) -> int:
        """Check what the user has seen; returns where the next expectation's matching starts."""
        seen = user.seen
        start = after = self.cursors[name]
        if spec.user_sees:
            after, problem = _in_order(
                spec.user_sees,
                seen,
                start,
                f"{name} did not see, in order:",
                f"{name} saw (after what earlier steps matched)",
            )
            if problem:
                problems.append(problem)
            for match in spec.user_sees:
                count = sum(event_matches(match, event) for event in seen)
                if match.once and count != 1:
                    problems.append(f"{name} saw {describe_match(match)} {count} times, expected exactly once")
        for expected in spec.user_counts:
            count = sum(event_matches(expected, event) for event in seen)
            if count != expected.count:
                problems.append(f"{name} saw {describe_match(expected)} {count} times, expected {expected.count}")
        problems.extend(_unwanted(name, "must never see", spec.user_never_sees, seen))
        problems.extend(_unwanted(name, "must not have seen yet", spec.user_does_not_see, seen))
        return after

    async def check_zendesk(self, user: EndUser, spec: Expectations, problems: list[str]) -> None:
        if spec.relay_state is not None:
            session = await self.harness.relay_session(user)
            state = session["state"] if session else "bot (no relay session)"
            if state != spec.relay_state:
                problems.append(f"relay state for {user.name}: expected {spec.relay_state!r}, actual {state!r}")
        if spec.relay_event_ids is not None:
            problems.extend(await self.check_event_ids(spec.relay_event_ids))
        if spec.ticket is not None:
            await self.check_ticket(spec.ticket, problems)
        if spec.no_ticket or spec.tickets is not None:
            tickets = await self.harness.agent().tickets()
            if spec.no_ticket and tickets:
                problems.append(f"expected no Zendesk ticket, found {len(tickets)}")
            if spec.tickets is not None and len(tickets) != spec.tickets:
                problems.append(f"expected {spec.tickets} Zendesk tickets, found {len(tickets)}")
        for expected in spec.deliveries:
            log = await self.harness.deliveries(expected.kind)
            hits = [
                d
                for d in log
                if (expected.status is None or d.get("status") == expected.status)
                and (expected.event_type is None or expected.event_type in (d.get("event_types") or []))
                and (expected.batched is None or (len(d.get("event_types") or []) > 1) == expected.batched)
            ]
            found = len(hits)
            if expected.event_type is not None:  # count events: one POST may carry several
                found = sum((d.get("event_types") or []).count(expected.event_type) for d in hits)
            if found < expected.min or (expected.max is not None and found > expected.max):
                wanted = f"{expected.min}..{expected.max if expected.max is not None else 'any'}"
                seen = ", ".join(f"{d.get('kind')}:{d.get('status')}" for d in log[-10:]) or "none"
                problems.append(
                    f"deliveries kind={expected.kind} status={expected.status} event={expected.event_type}: "
                    f"expected {wanted}, found {found} (last: {seen})"
                )

    async def check_event_ids(self, bounds: CountRange) -> list[str]:
        """The relay's store keeps a bounded set of processed event ids (pruning works)."""
        kept = await self.harness.relay_event_ids()
        if (bounds.min is not None and kept < bounds.min) or (bounds.max is not None and kept > bounds.max):
            wanted = f"{bounds.min or 0}..{bounds.max if bounds.max is not None else 'any'}"
            return [f"the relay's store keeps {kept} processed event ids, expected {wanted}"]
        return []

    async def check_ticket(self, expected: TicketExpect, problems: list[str]) -> None:
        # One look per check, no waiting of its own: the expectation's `within` does the waiting
        # (in virtual time), so a ticket that needs two virtual-time jumps is not given up on.
        user = self.user(expected.for_)
        if expected.number is not None:
            ticket = await self.harness.ticket_number(expected.number)
            absent = f"no Zendesk ticket #{expected.number}"
        else:
            ticket = await self.harness.find_ticket(user)
            absent = f"no Zendesk ticket appeared for {user.name}'s handoff"
        if ticket is None:
            problems.append(absent)
            return
        label = f"ticket #{ticket.get('id')}"
        if expected.status is not None and str(ticket.get("status")).lower() != expected.status.lower():
            problems.append(f"{label} status: expected {expected.status!r}, actual {ticket.get('status')!r}")
        if expected.assignee is not None and ticket.get("assignee") != expected.assignee:
            problems.append(f"{label} assignee: expected {expected.assignee!r}, actual {ticket.get('assignee')!r}")
        missing = [tag for tag in expected.tags if tag not in (ticket.get("tags") or [])]
        if missing:
            problems.append(f"{label} tags: missing {missing}, actual {ticket.get('tags')}")
        requester = ticket.get("requester") or {}
        for key, value in expected.requester.items():
            if requester.get(key) != value:
                problems.append(f"{label} requester.{key}: expected {value!r}, actual {requester.get(key)!r}")
        if expected.transcript:
            lines = [_transcript_event(line) for line in ticket.get("transcript") or []]
            after, problem = _in_order(expected.transcript, lines, 0, f"{label} transcript:", "the agent sees")
            if problem:
                problems.append(problem)
            for match in expected.transcript:
                count = sum(event_matches(match, line) for line in lines)
                if match.once and count != 1:
                    problems.append(f"{label} transcript has {describe_match(match)} {count} times, expected once")
            if not problem and expected.nothing_after and after < len(lines):
                extra = ", ".join(describe_event(line) for line in lines[after:])
                problems.append(f"{label} transcript: expected nothing after the last line matched, found {extra}")

    def actual_expectation(self, user: EndUser, step: ExpectStep, start: int, end: int) -> dict[str, Any]:
        """The expect step rewritten to what the user actually saw in its window of events."""
        dumped = step.model_dump(by_alias=True, exclude_defaults=True)
        if step.expect.user_sees:
            dumped["expect"]["user_sees"] = [
                {"type": short_type(str(e.get("type"))), **({"text": event_text(e)} if event_text(e) else {})}
                for e in user.seen[start:end]
                if e.get("sequence") is not None or e.get("type") == "SMS"
            ]
        return dumped

    async def finish(self) -> None:
        """Re-check every 'never sees' over the whole run, after the last step's I/O settled."""
        await self.harness.advance(0)
        problems: list[str] = []
        for name, user in self.harness.users.items():
            problems.extend(_unwanted(name, "must never see", self.never.get(name, []), user.seen))
        if problems:
            raise ScenarioFailed(f"after the last step ({self.source}):\n" + "\n".join(problems))

    def actual_scenario(self) -> dict[str, Any]:
        data = self.scenario.model_dump(by_alias=True, exclude_defaults=True, exclude={"steps"})
        data["name"] = f"{self.scenario.name} (actual)"
        data["steps"] = self.actual_steps
        return data


def _media(kind: str, url: str, name: str | None, text: str | None) -> dict[str, Any]:
    """SunCo content for an image or file message."""
    content: dict[str, Any] = {"type": kind, "mediaUrl": url}
    if name:
        content["altText"] = name
    if text:
        content["text"] = text
    return content


def _transcript_event(line: dict[str, Any]) -> dict[str, Any]:
    """A ticket transcript line in the shape the matchers read (author type as the event type)."""
    payload: dict[str, Any] = {"text": line.get("text", "")}
    if line.get("media_url"):
        payload["attachments"] = [{"content_url": line["media_url"], "title": line.get("text", "")}]
    return {"type": line.get("author_type", ""), "payload": payload}


def _unwanted(name: str, verb: str, matches: list[EventMatch], seen: list[dict[str, Any]]) -> list[str]:
    """One problem line per matcher that some seen event satisfies."""
    problems = []
    for match in matches:
        hits = [describe_event(e) for e in seen if event_matches(match, e)]
        if hits:
            problems.append(f"{name} {verb} {describe_match(match)}, but saw: {', '.join(hits)}")
    return problems


def _in_order(
    expected: list[EventMatch], events: list[dict[str, Any]], start: int, title: str, actual_title: str
) -> tuple[int, str | None]:
    """Match `expected` in order from `start`; returns (position after the match, problem report or None)."""
    matched, after = find_in_order(expected, events, start)
    if matched == len(expected):
        return after, None
    report = side_by_side(
        "expected (in order)",
        [describe_match(m) for m in expected],
        actual_title,
        [describe_event(e) for e in events[start:]],
        marker=matched,
    )
    return after, f"{title}\n{report}"


async def run_scenario(
    scenario: Scenario,
    *,
    source: str = "<scenario>",
    text: str | None = None,
    base_dir: Path | None = None,
    transport: Literal["asgi", "socket"] = "asgi",
    loose: bool = False,
    on_step: StepHook | None = None,
    trace: bool = True,
) -> ScenarioResult:
    """Run one scenario on a fresh simulator; never raises for a scenario failure (see the result).

    A recording's exchanges are checked too, unless `loose`. `trace=False` runs the simulator with
    its trace off (nothing a scenario checks reads it) unless the scenario is a recording or sets
    the trace up itself."""
    overrides = dict(scenario.settings)
    if not trace and scenario.recording is None and not {"sim_trace_size", "sim_trace_file"} & set(overrides):
        overrides["sim_trace_size"] = 0
    agent_file = None
    if scenario.agent_file:
        agent_file = (base_dir or Path.cwd()) / scenario.agent_file
    started = time.perf_counter()
    result = ScenarioResult(scenario.name, source, passed=False)
    async with Harness(
        overrides, agent_file=agent_file, transport=transport, relay_overrides=scenario.relay_settings
    ) as harness:
        run = _Run(scenario, harness, source, text)
        try:
            await run.start()
            for index, step in enumerate(scenario.steps):
                if on_step is not None:
                    await on_step(harness, index, step)
                await run.step(index, step)
            await run.finish()
            if scenario.recording is not None and not loose:
                from simulator.recordings.replay import exchange_problems

                problems = exchange_problems(scenario.recording, harness)
                if problems:
                    heading = f"the relay's exchanges ({source}), recorded vs replayed:\n"
                    raise ScenarioFailed(heading + "\n".join(problems))
            result.passed = True
        except ScenarioFailed as exc:
            result.report = f"scenario {scenario.name!r} failed at {exc}"
        if on_step is not None:
            await on_step(harness, len(scenario.steps), None)
        result.actual = run.actual_scenario()
        result.virtual_seconds = harness.clock.monotonic()
    result.real_seconds = time.perf_counter() - started
    return result


async def run_file(
    path: Path, *, transport: Literal["asgi", "socket"] = "asgi", loose: bool = False, trace: bool = True
) -> ScenarioResult:
    """Load, validate and run one scenario file (raises ScenarioFileError if it is invalid).

    `trace=False` (replay, the pytest plugin: runs nobody watches) turns the simulator's trace off
    unless the file is a recording: recording every boundary crossing was a tenth of a run's time."""
    scenario, text = read_scenario(path)
    return await run_scenario(
        scenario, source=str(path), text=text, base_dir=path.parent, transport=transport, loose=loose, trace=trace
    )


def write_actual(result: ScenarioResult, folder: Path) -> Path:
    """Write the actual run as a scenario file next to the others, for review."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(result.source).stem if result.source.endswith(".json") else "scenario"
    path = folder / f"{stem}.actual.json"
    path.write_text(json.dumps(result.actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
