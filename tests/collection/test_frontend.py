"""The public website: the list of published works and a page per work."""

from __future__ import annotations

import pytest

from tests.factories import ArtistFactory, ArtworkFactory, CreditFactory, artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db


def test_the_home_page_lists_published_works_with_thumbnails_and_links(client):
    shown = artwork_with_image(image_bytes("JPEG"), accession_number="1880.1", title="Haystacks at Sunset")
    ArtworkFactory(accession_number="1881.2", title="Poplars")
    ArtworkFactory(accession_number="1999.9", title="Secret Sketch", published=False)

    response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Haystacks at Sunset" in page and "Poplars" in page
    assert "Secret Sketch" not in page
    assert 'href="/works/1880.1/"' in page and 'href="/works/1881.2/"' in page
    assert f'src="{shown.image.url("thumb")}"' in page
    assert "2 works" in page


def test_the_home_page_searches_published_works(client):
    ArtworkFactory(title="Haystacks at Sunset")
    ArtworkFactory(title="Poplars")
    ArtworkFactory(title="Haystacks in Secret", published=False)

    page = client.get("/?q=haystacks").content.decode()

    assert "Haystacks at Sunset" in page
    assert "Poplars" not in page
    assert "Haystacks in Secret" not in page


def test_the_home_page_says_how_to_import_when_the_collection_is_empty(client):
    page = client.get("/").content.decode()

    assert "python manage.py import_collection FILE" in page


def test_the_home_page_is_paginated(client):
    ArtworkFactory.create_batch(61)

    first = client.get("/").content.decode()
    second = client.get("/?page=2").content.decode()

    assert "Page 1 of 2" in first and "?page=2" in first
    assert "Page 2 of 2" in second
    assert second.count('href="/works/') == 1


def test_a_work_page_shows_its_metadata_and_large_image(client):
    work = artwork_with_image(
        image_bytes("JPEG"),
        accession_number="1630.7",
        title="Portrait of a Lady",
        artist_display="Attributed to Anthony van Dyck (Flemish, 1599–1641)",
        date_display="c. 1631",
        medium="Oil on canvas",
        dimensions="104 × 84 cm",
        credit_line="Gift of a friend",
        rights="Public domain",
        source_url="https://museum.example/artworks/1630.7",
    )
    CreditFactory(
        artwork=work,
        qualifier="Attributed to",
        artist=ArtistFactory(name="Anthony van Dyck", nationality="Flemish", birth_year=1599, death_year=1641),
    )

    response = client.get("/works/1630.7/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Portrait of a Lady</h1>" in page
    assert "Attributed to Anthony van Dyck (Flemish, 1599–1641)" in page
    for text in ("c. 1631", "Oil on canvas", "104 × 84 cm", "Gift of a friend", "Public domain", "1630.7"):
        assert text in page
    assert 'href="https://museum.example/artworks/1630.7"' in page
    assert f'src="{work.image.url("large")}"' in page


def test_an_unpublished_work_is_not_found_for_visitors_but_shown_to_curators(client, curator):
    ArtworkFactory(accession_number="1999.9", title="Secret Sketch", published=False)

    assert client.get("/works/1999.9/").status_code == 404
    assert client.get("/works/no-such-work/").status_code == 404

    client.force_login(curator)
    response = client.get("/works/1999.9/")
    assert response.status_code == 200
    assert "Secret Sketch" in response.content.decode()


def test_text_from_the_collection_is_escaped(client):
    ArtworkFactory(accession_number="X1", title="<script>alert(1)</script>")

    page = client.get("/works/X1/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_site_speaks_norwegian_when_asked(client):
    ArtworkFactory()

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="nb").content.decode()

    assert '<html lang="nb">' in page
    assert "Samlingen" in page
