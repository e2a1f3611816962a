"""The committed OpenAPI snapshot (web/openapi.json) is the document the current app serves.

The web's types are generated from that snapshot (`npm run types:check` in `make test` checks
web/lib/api-types.ts against it), so a route or Struct change that is not re-dumped would let
the web drift from the server unnoticed.
"""

from __future__ import annotations

from tests.openapi_dump import REGENERATE, SNAPSHOT, openapi_document, render


def test_the_snapshot_is_the_document_the_app_serves() -> None:
    current = render(openapi_document())
    committed = SNAPSHOT.read_text(encoding="utf-8")
    assert current == committed, (
        f"{SNAPSHOT.relative_to(SNAPSHOT.parents[1])} is out of date: run `{REGENERATE}`, "
        "then `cd web && npm run types` to regenerate lib/api-types.ts, and commit both"
    )
