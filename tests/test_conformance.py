"""The conformance command's machinery, on a small spec written here (the official one is never read by tests)."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.cli import main
from simulator.conformance.run import report, run

MINI_SPEC = {
    "openapi": "3.0.2",
    "info": {"title": "mini", "version": "1"},
    "paths": {
        "/v2/apps/{appId}/users": {
            "post": {
                "operationId": "CreateUser",
                "security": [{"basicAuth": ["app", "account", "integration"]}],
                "responses": {
                    "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/userResponse"}}}}
                },
            }
        },
        "/v2/apps/{appId}/users/{userIdOrExternalId}": {
            "get": {
                "operationId": "GetUser",
                "security": [{"basicAuth": ["app", "account", "integration"]}],
                "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/userResponse"}}}},
                    "404": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/errorResponse"}}}
                    },
                },
            }
        },
    },
    "components": {
        "schemas": {
            "userResponse": {
                "type": "object",
                "properties": {
                    "user": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
                },
            },
            "errorResponse": {"type": "object", "properties": {"errors": {"type": "array"}}},
        }
    },
}


async def test_conformance_run_checks_each_operation_of_the_given_spec(tmp_path: Path) -> None:
    spec = tmp_path / "mini.json"
    spec.write_text(json.dumps(MINI_SPEC))
    summary = await run(spec)
    assert summary["operations"] == 2 and summary["implemented"] == 2 and summary["conformant"] == 2
    assert summary["server_errors"] == 0 and summary["schema_violations"] == 0
    assert summary["per_operation"]["GetUser"]["calls"] >= 3  # valid, no credentials, unknown id
    assert "operations conformant:   2" in report(summary)


async def test_conformance_finds_a_response_that_breaks_the_spec(tmp_path: Path) -> None:
    broken = json.loads(json.dumps(MINI_SPEC))
    user = broken["components"]["schemas"]["userResponse"]["properties"]["user"]
    user["required"] = ["id", "favouriteColour"]  # the emulator never sends it
    spec = tmp_path / "broken.json"
    spec.write_text(json.dumps(broken))
    summary = await run(spec)
    assert summary["schema_violations"] >= 2 and summary["conformant"] == 0
    assert any("favouriteColour" in p for p in summary["per_operation"]["GetUser"]["problems"])


def test_conformance_command_needs_an_existing_spec(tmp_path: Path) -> None:
    assert main(["conformance", "--spec", str(tmp_path / "missing.yaml")]) == 2


def test_webhook_deliveries_are_checked_per_event_type() -> None:
    from simulator.conformance.webhooks import check_deliveries

    spec = {
        "components": {
            "schemas": {
                "userRemoveEvent": {
                    "title": "user:remove",
                    "type": "object",
                    "required": ["payload"],
                    "properties": {"payload": {"type": "object", "required": ["user"]}},
                }
            }
        }
    }
    good = {"events": [{"type": "user:remove", "payload": {"user": {"id": "u"}}}]}
    bad = {"events": [{"type": "user:remove", "payload": {}}, {"type": "user:sneeze", "payload": {}}]}
    result = check_deliveries(spec, [good, bad])
    assert result["deliveries"] == 2 and result["events"] == {"user:remove": 2, "user:sneeze": 1}
    assert len(result["problems"]) == 2
    assert any("'user' is a required property" in p for p in result["problems"])
    assert any("user:sneeze: not an event type the spec lists" in p for p in result["problems"])
