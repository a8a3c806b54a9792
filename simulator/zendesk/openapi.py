"""OpenAPI 3.0 -> JSON Schema (draft 2020-12), to bundle the SunCo spec's schemas into the repository.

Used by `scripts/sunco_schemas.py` (writes `simulator/zendesk/sunco-v2.schema.json` from the official
spec, given by path) and by the conformance check (validates live responses against the spec).
Nothing here reads the spec by itself: callers pass the parsed document.
"""

from __future__ import annotations

from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
DROP = frozenset({"description", "example", "examples", "x-resourceId", "xml", "externalDocs", "deprecated"})


def convert(node: Any, *, request: bool = False) -> Any:
    """One OpenAPI schema node as JSON Schema: `nullable`, `$ref`s into `$defs`, discriminators as if/then.

    With `request`, `readOnly` properties are not required (clients never send them).
    """
    if isinstance(node, list):
        return [convert(item, request=request) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROP or key in ("nullable", "discriminator", "readOnly", "writeOnly"):
            continue
        if key == "$ref" and isinstance(value, str):
            out["$ref"] = "#/$defs/" + value.rsplit("/", 1)[-1]
        elif key == "oneOf" and "discriminator" not in node:
            # The spec's plain oneOfs list overlapping shapes (no `required`), so "exactly one" would
            # refuse valid bodies: anyOf says what the spec means; handlers check the one-of-ness.
            out["anyOf"] = convert(value, request=request)
        elif key == "properties":
            out["properties"] = {name: convert(sub, request=request) for name, sub in value.items()}
        else:
            out[key] = convert(value, request=request)
    discriminator = node.get("discriminator")
    if discriminator and ("oneOf" in node or "anyOf" in node):
        out = _dispatch(out, discriminator)
    if node.get("nullable") is True:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _dispatch(schema: dict[str, Any], discriminator: dict[str, Any]) -> dict[str, Any]:
    """oneOf + discriminator -> `type` must be a known value, then that variant's schema (precise errors)."""
    prop = discriminator["propertyName"]
    variants = schema.pop("oneOf", None) or schema.pop("anyOf", None) or []
    mapping = discriminator.get("mapping") or {
        ref["$ref"].rsplit("/", 1)[-1]: ref["$ref"] for ref in variants if "$ref" in ref
    }
    rules = [
        {"if": {"properties": {prop: {"const": value}}, "required": [prop]}, "then": {"$ref": _local(target)}}
        for value, target in mapping.items()
    ]
    return {
        **schema,
        "type": "object",
        "required": [prop],
        "properties": {prop: {"type": "string", "enum": list(mapping)}},
        "allOf": rules,
    }


def _local(ref: str) -> str:
    return "#/$defs/" + ref.rsplit("/", 1)[-1]


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """operationId -> method, path, scopes (from `security`), request schema ref, response statuses."""
    found: dict[str, dict[str, Any]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            scopes: set[str] = set()
            for requirement in op.get("security", spec.get("security", [])):
                for names in requirement.values():
                    scopes.update(names)
            found[op["operationId"]] = {
                "method": method.upper(),
                "path": path,
                "scopes": sorted(scopes),
                "responses": sorted(op.get("responses", {})),
            }
    return found


def request_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON request body schema of an operation (a base class with a discriminator becomes a dispatch)."""
    content = op.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if not media or "schema" not in media:
        return None
    raw = media["schema"]
    if "$ref" in raw:
        target = spec["components"]["schemas"][raw["$ref"].rsplit("/", 1)[-1]]
        disc = target.get("discriminator")
        if disc and "mapping" in disc and "oneOf" not in target:
            return _dispatch({}, disc)
    converted: dict[str, Any] = convert(raw, request=True)
    return converted


def bundle(spec: dict[str, Any]) -> dict[str, Any]:
    """Every component schema under `$defs`, plus `<OperationId>Request` for each JSON request body, and
    `x-operations` (method, path, scopes, documented statuses)."""
    defs = {name: convert(schema) for name, schema in spec["components"]["schemas"].items()}
    ops = operations(spec)
    for item in spec["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            schema = request_schema(spec, op)
            if schema is not None:
                defs[op["operationId"] + "Request"] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "sunco-v2.schema.json",
        "title": "Sunshine Conversations v2 schemas",
        "description": f"Converted from the official SunCo OpenAPI spec {spec['info']['version']} "
        "by scripts/sunco_schemas.py (nullable -> null, discriminators -> if/then).",
        "x-operations": ops,
        "$defs": defs,
    }


def response_schema(spec: dict[str, Any], operation_id: str, status: int) -> tuple[bool, dict[str, Any] | None]:
    """(documented?, JSON schema of the body) for one operation's response status (`default` counts)."""
    for item in spec["paths"].values():
        for method, op in item.items():
            if method in METHODS and op.get("operationId") == operation_id:
                responses = op.get("responses", {})
                entry = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
                if entry is None:
                    return False, None
                media = entry.get("content", {}).get("application/json")
                return True, convert(media["schema"]) if media and "schema" in media else None
    raise KeyError(operation_id)
