"""Unpublished works never show, in any window of time, and nothing the public reads is derived from them.

A map build takes minutes: works are unpublished, processed and placed while it runs, and its
texture atlases, cluster names and counts must all agree with publication at the moment it goes
live. Cluster names, sizes and counts are refreshed when publication changes, as atlases are.
Writing through the API says nothing about works the caller cannot read.
"""

from __future__ import annotations

import pytest

from collection.models import Artwork, PartnerToken
from tests.factories import ArtworkFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/artworks/"


@pytest.fixture
def writer(api_client):
    """A partner app with the write scope: it may create and edit works, and never reads unpublished ones."""
    _, key = PartnerToken.issue("Registrar", scope="write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


def _answer(response) -> tuple[int, str]:
    return response.status_code, response.content.decode().replace("HIDDEN.1", "#").replace("SHOWN.1", "#").replace("FREE.1", "#")


def test_creating_a_work_with_the_number_of_one_the_token_cannot_read_answers_as_for_a_readable_one(writer):
    ArtworkFactory(accession_number="HIDDEN.1", title="Secret sketch", published=False)
    ArtworkFactory(accession_number="SHOWN.1", title="Haystacks")

    hidden = writer.post(LIST, {"accession_number": "HIDDEN.1", "title": "Probe"}, format="json")
    shown = writer.post(LIST, {"accession_number": "SHOWN.1", "title": "Probe"}, format="json")

    assert hidden.status_code == 400
    assert _answer(hidden) == _answer(shown), "the answer must not tell a hidden holder from a readable one"
    assert "exists" not in hidden.content.decode() and "Secret" not in hidden.content.decode()
    assert Artwork.objects.get(accession_number="HIDDEN.1").title == "Secret sketch"  # nothing overwritten


@pytest.mark.parametrize(
    "method, suffix, body, fmt",
    [
        pytest.param("patch", "", {"title": "Probe"}, "json", id="patch"),
        pytest.param("put", "", {"accession_number": "{n}", "title": "Probe"}, "json", id="put"),
        pytest.param("post", "image/", {}, "multipart", id="image-upload"),
        pytest.param("delete", "", None, None, id="delete"),
    ],
)
def test_every_write_to_a_work_the_token_cannot_read_answers_as_for_one_that_does_not_exist(writer, method, suffix, body, fmt):
    ArtworkFactory(accession_number="HIDDEN.1", title="Secret sketch", published=False)

    def send(number: str):
        data = {k: (v.format(n=number) if isinstance(v, str) else v) for k, v in (body or {}).items()}
        kwargs = {"format": fmt} if fmt else {}
        return getattr(writer, method)(f"{LIST}{number}/{suffix}", data, **kwargs) if body is not None else getattr(writer, method)(f"{LIST}{number}/{suffix}")

    hidden, missing = send("HIDDEN.1"), send("FREE.1")

    assert hidden.status_code in (404, 405)
    assert _answer(hidden) == _answer(missing)
    assert Artwork.objects.get(accession_number="HIDDEN.1").title == "Secret sketch"
    assert not Artwork.objects.filter(accession_number="FREE.1").exists()
