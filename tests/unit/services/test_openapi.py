"""Every route of every API declares what it answers, so OpenAPI (`/docs`) shows clients the
shape before they call: a model for JSON, a media type for pages, streams and feeds."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

APIS = ["ingest", "search_api", "monitor"]


def operations(service: str) -> list[tuple[str, str, dict[str, Any]]]:
    app = importlib.import_module(f"services.{service}.app").create_app()
    return [(method.upper(), path, op) for path, ops in app.openapi()["paths"].items()
            for method, op in ops.items()]


def undeclared(op: dict[str, Any]) -> list[str]:
    """What is missing from an operation's success answers (empty: all declared)."""
    success = {code: answer for code, answer in op["responses"].items() if code.startswith("2")}
    if not success:
        return ["no 2xx answer"]
    missing = []
    for code, answer in success.items():
        content = answer.get("content", {})
        if code == "204":
            missing += [f"{code} has a body"] if content else []
        elif not content:
            missing.append(f"{code} has no content")
        for media, described in content.items():
            schema = described.get("schema") or {}
            # JSON needs a real model; FastAPI writes an untyped `Any` answer as `{}` or a bare title
            if media == "application/json" and not ({"$ref", "anyOf", "type"} & set(schema)):
                missing.append(f"{code} {media} has no model")
    return missing


@pytest.mark.parametrize("service", APIS)
def test_every_route_declares_its_answer(service: str) -> None:
    found = operations(service)
    assert len(found) >= 5
    assert {f"{method} {path}": undeclared(op) for method, path, op in found if undeclared(op)} == {}


def test_the_check_catches_an_untyped_route() -> None:
    untyped = {"responses": {"200": {"content": {"application/json": {"schema": {"title": "Response"}}}}}}
    typed = {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/x"}}}}}}
    assert undeclared(untyped) == ["200 application/json has no model"]
    assert undeclared(typed) == []
