"""No public contract changes: the OpenAPI document may only grow.

tests/openapi_baseline.json is the document as it stood before issue 16's reshaping. Every path,
operation, parameter, response, schema and property in it must still be there with the same
type (and, for a property, the same required-ness); new ones are additions and pass. When a
contract change is intended (a new API version), say so in API.md and replace the baseline with
`.venv/bin/python -m tests.openapi_dump tests/openapi_baseline.json`.

Issue 21 took one thing out of the baseline: the 400 `{status_code, detail, extra}` Litestar
documented for every operation with input. The server never sent it (its errors are
problem+json, now documented per status), so it was a false promise, not a contract.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.openapi_dump import openapi_document

BASELINE = Path(__file__).with_name("openapi_baseline.json")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# What makes a schema's type; titles, descriptions and examples may change freely.
TYPE_KEYS = ("type", "$ref", "format", "enum", "const", "items", "oneOf", "anyOf", "allOf", "additionalProperties")


def type_of(schema: Any) -> Any:
    """The parts of a schema that say what type a value has, recursively."""
    if isinstance(schema, list):
        return [type_of(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    shape: dict[str, Any] = {key: type_of(schema[key]) for key in TYPE_KEYS if key in schema}
    if "properties" in schema:
        shape["properties"] = {name: type_of(value) for name, value in schema["properties"].items()}
        shape["required"] = sorted(schema.get("required", []))
    return shape


def _compare_schema(where: str, old: dict[str, Any], new: dict[str, Any], problems: list[str]) -> None:
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    if old_props or new_props:
        for name, old_prop in old_props.items():
            if name not in new_props:
                problems.append(f"{where}: property {name!r} removed")
            elif type_of(old_prop) != type_of(new_props[name]):
                problems.append(f"{where}: property {name!r} changed type")
            elif (name in old.get("required", [])) != (name in new.get("required", [])):
                problems.append(f"{where}: property {name!r} changed whether it is required")
        rest_old = {k: v for k, v in old.items() if k not in ("properties", "required")}
        rest_new = {k: v for k, v in new.items() if k not in ("properties", "required")}
        if type_of(rest_old) != type_of(rest_new):
            problems.append(f"{where}: changed type")
    elif type_of(old) != type_of(new):
        problems.append(f"{where}: changed type")


def _content_schemas(part: dict[str, Any]) -> dict[str, Any]:
    return {media: body.get("schema", {}) for media, body in part.get("content", {}).items()}


def _compare_operation(where: str, old: dict[str, Any], new: dict[str, Any], problems: list[str]) -> None:
    new_params = {(p["name"], p["in"]): p for p in new.get("parameters", [])}
    for param in old.get("parameters", []):
        key = (param["name"], param["in"])
        label = f"{where} {param['in']} parameter {param['name']!r}"
        if key not in new_params:
            problems.append(f"{label} removed")
            continue
        if type_of(param.get("schema", {})) != type_of(new_params[key].get("schema", {})):
            problems.append(f"{label} changed type")
        if bool(param.get("required")) != bool(new_params[key].get("required")):
            problems.append(f"{label} changed whether it is required")
    for key in [p for p in new_params if p not in {(q["name"], q["in"]) for q in old.get("parameters", [])}]:
        if new_params[key].get("required"):
            problems.append(f"{where} new {key[1]} parameter {key[0]!r} is required")
    if "requestBody" in old:
        if "requestBody" not in new:
            problems.append(f"{where} request body removed")
        else:
            _compare_content(f"{where} request body", old["requestBody"], new["requestBody"], problems)
    for status, response in old.get("responses", {}).items():
        if status not in new.get("responses", {}):
            problems.append(f"{where} response {status} removed")
        else:
            _compare_content(f"{where} response {status}", response, new["responses"][status], problems)


def _compare_content(where: str, old: dict[str, Any], new: dict[str, Any], problems: list[str]) -> None:
    old_media, new_media = _content_schemas(old), _content_schemas(new)
    for media, schema in old_media.items():
        if media not in new_media:
            problems.append(f"{where}: media type {media} removed")
        else:
            _compare_schema(f"{where} ({media})", schema, new_media[media], problems)


def contract_breaks(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every way ``new`` takes away from or changes what ``old`` promised; additions pass."""
    problems: list[str] = []
    for path, old_item in old.get("paths", {}).items():
        new_item = new.get("paths", {}).get(path)
        if new_item is None:
            problems.append(f"path {path} removed")
            continue
        for method in METHODS:
            if method not in old_item:
                continue
            if method not in new_item:
                problems.append(f"{method.upper()} {path} removed")
            else:
                _compare_operation(f"{method.upper()} {path}", old_item[method], new_item[method], problems)
    new_schemas = new.get("components", {}).get("schemas", {})
    for name, old_schema in old.get("components", {}).get("schemas", {}).items():
        if name not in new_schemas:
            problems.append(f"schema {name} removed")
        else:
            _compare_schema(f"schema {name}", old_schema, new_schemas[name], problems)
    return problems


def test_the_api_only_grew_since_the_baseline() -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    problems = contract_breaks(baseline, openapi_document())
    assert not problems, "the public API changed:\n" + "\n".join(problems)


def test_the_baseline_is_a_real_document() -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert len(baseline["paths"]) >= 40
    assert len(baseline["components"]["schemas"]) >= 50


SMALL: dict[str, Any] = {
    "paths": {
        "/things/{id}": {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
                },
            }
        }
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "size": {"type": "integer"}},
                "required": ["id"],
            }
        }
    },
}


def _changed(edit: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(SMALL))
    thing = document["components"]["schemas"]["Thing"]
    get = document["paths"]["/things/{id}"]["get"]
    if edit == "drop path":
        document["paths"] = {}
    elif edit == "drop operation":
        document["paths"]["/things/{id}"] = {"post": get}
    elif edit == "drop schema":
        document["components"]["schemas"] = {}
    elif edit == "drop property":
        del thing["properties"]["size"]
    elif edit == "retype property":
        thing["properties"]["size"] = {"type": "string"}
    elif edit == "unrequire property":
        thing["required"] = []
    elif edit == "retype parameter":
        get["parameters"][0]["schema"] = {"type": "integer"}
    elif edit == "drop response":
        get["responses"] = {"201": get["responses"]["200"]}
    elif edit == "add":
        thing["properties"]["colour"] = {"type": "string"}
        document["components"]["schemas"]["Other"] = {"type": "object", "properties": {}}
        document["paths"]["/things/{id}"]["delete"] = {"responses": {"204": {}}}
        document["paths"]["/others"] = {"get": {"responses": {"200": {}}}}
        get["parameters"].append({"name": "q", "in": "query", "required": False, "schema": {"type": "string"}})
        thing["properties"]["id"]["description"] = "now described"
    return document


def test_the_diff_refuses_removals_and_retyping_and_allows_additions() -> None:
    breaking = [
        "drop path",
        "drop operation",
        "drop schema",
        "drop property",
        "retype property",
        "unrequire property",
        "retype parameter",
        "drop response",
    ]
    for edit in breaking:
        assert contract_breaks(SMALL, _changed(edit)), f"{edit!r} was not caught"
    assert contract_breaks(SMALL, _changed("add")) == []
