"""The website's pages and the map page's API additions, through Django's test client."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from tests.factories import ArtworkFactory


@pytest.fixture
def synthetic(db):
    from tests.frontend.synthetic import make_synthetic_map

    return make_synthetic_map()


def _config(response, element_id):
    html = response.content.decode()
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


# --- Pages ---------------------------------------------------------------------------------------


def test_home_without_a_map_build_lists_the_works(client, db):
    ArtworkFactory(title="Before any map")
    response = client.get("/")
    assert response.status_code == 200
    assert b"Before any map" in response.content
    assert b"map-canvas" not in response.content


def test_home_with_a_build_is_the_map(client, synthetic):
    response = client.get("/")
    assert response.status_code == 200
    assert b'id="map-canvas"' in response.content and b"frontend/build/map.js" in response.content
    config = _config(response, "map-config")
    assert config["map"] == "all" and config["api"] == "/api/v1/"
    assert [s[0] for s in config["sizes"]] == ["thumb", "medium", "large"]
    strings = _config(response, "i18n")
    assert strings["nWorks"] == ["{n} work", "{n} works"]
    # The list stays reachable (no WebGL, no JavaScript, screen readers).
    assert reverse("frontend:list").encode() in response.content


def test_home_search_goes_to_the_list(client, synthetic):
    response = client.get("/?q=study+3")
    assert b"Synthetic study 3" in response.content and b"map-canvas" not in response.content


def test_list_page_searches_and_pages(client, synthetic):
    response = client.get(reverse("frontend:list"), {"q": "Synthetic study 1"})
    assert response.status_code == 200
    assert b"Synthetic study 1" in response.content and b"Synthetic study 2<" not in response.content


def test_artwork_page_links_to_the_map_and_iiif(client, synthetic):
    work = synthetic.works[2]
    work.iiif_manifest_url = "https://iiif.example.org/manifest/2.json"
    work.save()
    response = client.get(reverse("frontend:artwork", args=[work.accession_number]))
    html = response.content.decode()
    assert f"?map=all&amp;sel={work.pk}" in html
    assert "https://iiif.example.org/manifest/2.json" in html
    viewer = _config(response, "viewer-config")
    assert [s[0] for s in viewer["sizes"]] == ["thumb", "medium", "large"] and all(s[2] for s in viewer["sizes"])
    assert f"/api/v1/artworks/{work.accession_number}/similar/?k=12" in html


def test_artwork_page_without_image_or_map(client, db):
    work = ArtworkFactory(title="No picture")
    response = client.get(reverse("frontend:artwork", args=[work.accession_number]))
    assert response.status_code == 200
    assert b"No image of this work yet" in response.content and b"viewer-config" not in response.content


def test_unpublished_work_page_is_hidden(client, db):
    work = ArtworkFactory(published=False)
    assert client.get(reverse("frontend:artwork", args=[work.accession_number])).status_code == 404


def test_decades_page(client, synthetic):
    response = client.get(reverse("frontend:decades"))
    assert response.status_code == 200
    assert _config(response, "decades-config")["map"] == "all"


def test_decades_page_without_maps(client, db):
    assert b"No decade summaries yet" in client.get(reverse("frontend:decades")).content


def test_norwegian_pages(client, synthetic):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="nb")
    html = response.content.decode()
    assert 'lang="nb"' in html and "Filtre" in html and "Tiår" in html
    assert _config(response, "i18n")["nWorks"] == ["{n} verk", "{n} verk"]
    assert _config(response, "map-config")["maps"] == [{"slug": "all", "title": "Alle verk"}]
    work = synthetic.works[0]
    html = client.get(
        reverse("frontend:artwork", args=[work.accession_number]), HTTP_ACCEPT_LANGUAGE="nb"
    ).content.decode()
    assert "Inventarnummer" in html and "Lignende verk" in html


# --- API additions ---------------------------------------------------------------------------------


def test_map_detail_has_atlases_and_filters(client, synthetic):
    data = client.get("/api/v1/maps/all/").json()
    assert {"slug", "title", "build", "clusters"} <= set(data)  # the existing fields stay
    assert data["atlases"]["levels"][0]["cell"] == 128
    assert data["atlases"]["levels"][0]["sheets"][0]["url"].startswith("http")
    assert "artist" in data["filters"] and "year_min" in data["filters"]


def test_works_in_batches(client, synthetic):
    ids = [w.pk for w in synthetic.works[:3]]
    data = client.get("/api/v1/maps/all/works/", {"ids": ",".join(map(str, ids))}).json()
    assert [w["id"] for w in data["works"]] == sorted(ids)
    first = data["works"][0]
    assert first["title"].startswith("Synthetic study") and first["page"].startswith("/works/SYN.")
    assert first["images"]["medium"] and first["images"]["width"] in (480, 300)
    assert first["classification_label"] in ("Painting", "Drawing")


def test_works_hides_unpublished_and_checks_ids(client, synthetic):
    hidden = synthetic.works[0]
    hidden.published = False
    hidden.save()
    data = client.get("/api/v1/maps/all/works/", {"ids": f"{hidden.pk},{synthetic.works[1].pk}"}).json()
    assert [w["id"] for w in data["works"]] == [synthetic.works[1].pk]
    assert client.get("/api/v1/maps/all/works/", {"ids": "1,x"}).status_code == 400
    assert client.get("/api/v1/maps/all/works/", {"ids": ",".join(map(str, range(501)))}).status_code == 400
    assert client.get("/api/v1/maps/nope/works/", {"ids": "1"}).status_code == 404


def test_export_csv(client, synthetic):
    work = synthetic.works[0]
    work.title = '=HYPERLINK("http://evil")'
    work.save()
    ids = [w.pk for w in synthetic.works[:4]]
    response = client.post("/api/v1/maps/all/works/", {"ids": ids, "format": "csv"}, content_type="application/json")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["id", "accession_number", "title"] and len(rows) == 5
    titles = {r[2] for r in rows[1:]}
    assert '\'=HYPERLINK("http://evil")' in titles  # not run as a formula by spreadsheets
    assert rows[1][-1].startswith("http://testserver/works/")


def test_match_filters(client, synthetic):
    data = client.get("/api/v1/maps/all/match/", {"artist": "Morisot"}).json()
    expected = sorted(w.pk for w in synthetic.works if "Morisot" in w.artist_display)
    assert data["ids"] == expected and data["count"] == 4 and data["ignored"] == []
    data = client.get("/api/v1/maps/all/match/", {"year_min": 1870, "year_max": 1879}).json()
    assert data["ids"] == sorted(w.pk for w in synthetic.works if w.decade == 1870)
    data = client.get("/api/v1/maps/all/match/", {"classification": "drawing"}).json()
    assert data["count"] == 3


def test_match_takes_the_object_filter_and_refuses_unknown_or_malformed_parameters(client, synthetic):
    response = client.get("/api/v1/maps/all/match/", {"artist": "Monet", "object": "boat"})
    assert response.status_code == 200
    assert response.json()["ignored"] == []
    assert client.get("/api/v1/maps/all/match/", {"colour": "red"}).status_code == 400
    assert client.get("/api/v1/maps/all/match/", {"year_min": "soon"}).status_code == 400


def test_map_data_has_its_own_wider_throttle(client, synthetic, settings):
    from maps.map_page_api import MapDataThrottle, MapWorksView

    assert MapDataThrottle in MapWorksView.throttle_classes
    assert MapDataThrottle().num_requests > 120


def test_points_response_unchanged(client, synthetic):
    data = client.get("/api/v1/maps/all/points/").json()
    assert set(data) == {"map", "build", "tag", "scale", "ids", "x", "y", "placed", "cluster"}
    assert len(data["ids"]) == 13 and data["placed"] == [synthetic.extra.pk]
