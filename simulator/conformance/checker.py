"""Checks one HTTP exchange against the official spec: documented status, body valid for that status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import jsonschema

from simulator.zendesk.openapi import convert, operations

# Statuses the spec's introduction gives every operation (credentials, scope, method, size, rate).
GENERIC_ERRORS = frozenset({401, 403, 405, 413, 429})
Expect = Literal["ok", "error", "any"]  # a 2xx, a 4xx (with SunCo's error body), or either


@dataclass
class Outcome:
    """One call and what the check found."""

    operation: str
    label: str
    method: str
    path: str
    expect: Expect
    status: int
    problems: list[str] = field(default_factory=list)  # schema violations and unexpected statuses
    note: str | None = None  # a documented-status remark that is not a violation

    @property
    def server_error(self) -> bool:
        return self.status >= 500


class SpecChecker:
    """Validates responses against the spec given (parsed), independent of the repository's own copy."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.defs = {name: convert(schema) for name, schema in spec["components"]["schemas"].items()}
        self.ops = operations(spec)
        self._raw = {
            op["operationId"]: op
            for item in spec["paths"].values()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        }
        self.outcomes: list[Outcome] = []

    def event_types(self) -> set[str]:
        """Webhook event types the spec has a schema for (schemas titled like `conversation:create`)."""
        return {
            str(schema["title"])
            for schema in self.spec["components"]["schemas"].values()
            if isinstance(schema, dict) and ":" in str(schema.get("title", ""))
        }

    def request_examples(self, operation: str) -> dict[str, Any]:
        """The spec's named JSON request examples for an operation (`$ref`s into components resolved)."""
        media = self._raw[operation].get("requestBody", {}).get("content", {}).get("application/json", {})
        found: dict[str, Any] = {}
        for name, example in (media.get("examples") or {}).items():
            if "$ref" in example:
                example = self.spec["components"]["examples"][example["$ref"].rsplit("/", 1)[-1]]
            if "value" in example:
                found[name] = example["value"]
        return found

    def _validator(self, schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator({**schema, "$defs": self.defs})

    def check(self, operation: str, label: str, expect: Expect, response: httpx.Response) -> Outcome:
        """Record whether `response` is what the spec allows for `operation` and what was expected."""
        request = response.request
        outcome = Outcome(operation, label, request.method, request.url.path, expect, response.status_code)
        if operation not in self._raw:
            return outcome  # not in the spec given (an older or partial spec): not counted
        status = response.status_code
        if status >= 500:
            outcome.problems.append(f"server error {status}: {response.text[:200]}")
        elif expect == "ok" and not 200 <= status < 400:
            outcome.problems.append(f"expected success, got {status}: {response.text[:200]}")
        elif expect == "error" and not 400 <= status < 500:
            outcome.problems.append(f"expected a 4xx, got {status}")
        responses = self._raw[operation].get("responses", {})
        entry = responses.get(str(status)) or responses.get("default")
        if entry is None and status >= 400:
            if status not in GENERIC_ERRORS:
                outcome.note = f"status {status} not listed for {operation} (error body checked as errorResponse)"
            entry = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/errorResponse"}}}}
        elif entry is None:
            outcome.problems.append(f"success status {status} not documented for {operation}")
        media = (entry or {}).get("content", {}).get("application/json")
        if media and "schema" in media and status != 302:
            try:
                body = response.json()
            except ValueError:
                outcome.problems.append(f"body is not JSON: {response.text[:100]!r}")
            else:
                schema = convert(media["schema"])
                for error in self._validator(schema).iter_errors(body):
                    where = "/".join(str(p) for p in error.absolute_path) or "(body)"
                    outcome.problems.append(f"schema: {where}: {error.message[:160]}")
                if status >= 400 and not (isinstance(body, dict) and body.get("errors")):
                    outcome.problems.append("error body has no `errors` list")
        self.outcomes.append(outcome)
        return outcome

    def summary(self) -> dict[str, Any]:
        """Per-operation results and totals."""
        per_op: dict[str, dict[str, Any]] = {
            op: {"calls": 0, "ok_calls": 0, "problems": [], "notes": []} for op in self.ops
        }
        for outcome in self.outcomes:
            entry = per_op[outcome.operation]
            entry["calls"] += 1
            if outcome.expect == "ok" and 200 <= outcome.status < 400:
                entry["ok_calls"] += 1
            entry["problems"] += [f"{outcome.label}: {p}" for p in outcome.problems]
            if outcome.note:
                entry["notes"].append(f"{outcome.label}: {outcome.note}")
        implemented = [op for op, e in per_op.items() if e["ok_calls"] > 0]
        conformant = [op for op, e in per_op.items() if e["calls"] and not e["problems"]]
        return {
            "operations": len(per_op),
            "implemented": len(implemented),
            "conformant": len(conformant),
            "calls": len(self.outcomes),
            "server_errors": sum(1 for o in self.outcomes if o.server_error),
            "schema_violations": sum(1 for o in self.outcomes for p in o.problems if p.startswith("schema:")),
            "unexercised": [op for op, e in per_op.items() if e["calls"] == 0],
            "per_operation": per_op,
        }
