"""The committed OpenAPI schema must match the API: a change to the API is a
deliberate act, reviewed as a diff of bounceback/api/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

from bounceback.config.api import api

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.json"


def test_the_api_matches_the_committed_schema() -> None:
    # Round-trip through JSON so the comparison sees what a client downloads.
    current = json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/")))
    committed = json.loads(COMMITTED.read_text())

    assert current == committed, (
        "The API changed. If that was intended, run `make openapi` and commit "
        "bounceback/api/openapi.json with your change."
    )


def test_the_schema_is_served_and_the_docs_page_renders(client, agent) -> None:
    client.force_login(agent)

    schema = client.get("/api/openapi.json")
    docs = client.get("/api/docs")

    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Bounceback API"
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
