"""Writes the app's OpenAPI document as JSON: the snapshot the web's generated types come from.

Run ``.venv/bin/python -m tests.openapi_dump`` after changing a route or a Struct the API returns;
it rewrites ``web/openapi.json`` (then ``cd web && npm run types`` regenerates ``lib/api-types.ts``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from careconnect.app import create_app
from careconnect.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "web" / "openapi.json"
REGENERATE = ".venv/bin/python -m tests.openapi_dump"


def openapi_document() -> dict[str, Any]:
    """The document of an app built with test settings, without the test-only routes."""
    with tempfile.TemporaryDirectory(prefix="careconnect-openapi-") as scratch:
        settings = Settings(
            environment="test",
            database_url=f"sqlite:///{Path(scratch) / 'unused.db'}",
            secret_key="openapi-dump-" + "k" * 32,
            cookie_secure=False,
            enable_test_routes=False,
        )
        app = create_app(settings)
        document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def render(document: dict[str, Any]) -> str:
    """Sorted keys and a trailing newline, so the snapshot diffs line by line."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else SNAPSHOT
    target.write_text(render(openapi_document()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
