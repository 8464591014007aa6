"""Error answers under /api/v1/: documented in the schema, and JSON in the documented shape even when
Django, not a DRF view, answers (an unknown URL, a body over the limit, a server error)."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from collection.models import Artwork, PartnerToken

pytestmark = pytest.mark.django_db

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema(tmp_path) -> dict:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    return yaml.safe_load(target.read_text())


def test_every_operation_documents_its_client_errors_in_the_error_shape(schema):
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            expected = {"400", "401", "429"}
            if "{" in path:
                expected.add("404")
            if method in ("post", "put", "patch"):
                expected |= {"403", "413", "415"}
            missing = expected - set(responses)
            assert not missing, f"{method.upper()} {path} does not document {sorted(missing)}"
            for code in expected:
                assert responses[code]["content"]["application/json"]["schema"] == ERROR, (method, path, code)


def test_the_answers_views_give_themselves_are_documented(schema):
    paths = schema["paths"]

    assert "409" in paths["/api/v1/artworks/{accession_number}/similar/"]["get"]["responses"]
    assert "404" in paths["/api/v1/decades/"]["get"]["responses"]
    assert {"422", "503"} <= set(paths["/api/v1/search/face/"]["post"]["responses"])
    assert "503" in paths["/api/v1/search/image/"]["post"]["responses"]
    assert list(paths["/api/v1/maps/{slug}/works/"]["post"]["responses"]["200"]["content"]) == ["text/csv"]


@pytest.mark.parametrize("path", ["/api/v1/nowhere/", "/api/v1/artworks/1986/23/", "/api/v1/artworks/../../admin/"])
def test_an_unknown_url_under_the_api_is_a_json_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}  # the Error shape, whichever route (or none) matched


def test_an_unknown_url_outside_the_api_is_still_a_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_json_body_over_the_upload_limit_is_a_413_naming_the_limit_and_stores_nothing(client, settings):
    _, key = PartnerToken.issue("writer", scope=PartnerToken.Scope.WRITE)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    body = {"accession_number": "BIG.1", "title": "x" * 200_000}

    response = client.post(
        "/api/v1/artworks/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
    )

    assert response.status_code == 413
    assert "at most 0.1 MB" in response.json()["detail"]
    assert not Artwork.objects.exists()


def test_a_server_error_under_the_api_is_json_in_the_error_shape(monkeypatch):
    from collection.api.views import ArtworkViewSet

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ArtworkViewSet, "list", explode)

    response = Client(raise_request_exception=False).get("/api/v1/artworks/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}
