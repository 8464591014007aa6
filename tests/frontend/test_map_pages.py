"""The map page's answers for a map it cannot show, and names in the visitor's language (issue #16)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from maps.models import Cluster, Map
from maps.names import localized_name


@pytest.fixture
def synthetic(db):
    from tests.frontend.synthetic import make_synthetic_map

    return make_synthetic_map()


def test_an_unknown_map_is_a_404_with_the_message_and_the_maps_that_exist(client, synthetic):
    response = client.get("/", {"map": "no-such-map"})
    assert response.status_code == 404
    html = response.content.decode()
    assert "The map “no-such-map” does not exist." in html
    assert 'href="?map=all"' in html  # the maps that exist, one click away, without the script
    assert 'id="map-error" class="map-error" hidden' not in html


def test_a_map_without_a_live_build_yet_says_it_is_being_built(client, synthetic):
    Map.objects.create(slug="portraits", title="Portraits")
    response = client.get("/", {"map": "portraits"})
    assert response.status_code == 404
    html = response.content.decode()
    message = html[html.index('id="map-error"') :]
    message = message[: message.index("</p>")]
    assert "This map is being built." in message and "does not exist" not in message


def test_a_map_that_exists_is_a_200_without_a_message(client, synthetic):
    response = client.get("/", {"map": "all"})
    assert response.status_code == 200
    assert 'id="map-error" class="map-error" hidden' in response.content.decode()


def test_the_message_and_the_map_switcher_are_in_norwegian(client, synthetic):
    Map.objects.create(slug="portraits", title="Portraits")
    response = client.get("/", {"map": "portraits"}, HTTP_ACCEPT_LANGUAGE="nb")
    html = response.content.decode()
    assert "Dette kartet blir bygget." in html
    assert ">Alle verk</option>" in html and ">All works</option>" not in html


def test_a_cluster_named_by_a_classification_is_named_in_the_visitors_language(client, synthetic):
    Cluster.objects.filter(build=synthetic.build, label=1).update(name="Drawing, river", terms=["drawing", "river"])
    english = client.get("/api/v1/maps/all/", HTTP_ACCEPT_LANGUAGE="en").json()
    norwegian = client.get("/api/v1/maps/all/", HTTP_ACCEPT_LANGUAGE="nb").json()
    assert [c["name"] for c in english["clusters"]] == ["Morisot, 1850s", "Drawing, river"]
    assert [c["name"] for c in norwegian["clusters"]] == ["Morisot, 1850s", "Tegning, river"]
    assert norwegian["clusters"][1]["terms"] == ["drawing", "river"]  # the data stay as built


@override_settings(LANGUAGE_CODE="nb")
def test_a_name_a_curator_wrote_is_kept():
    from django.utils import translation

    with translation.override("nb"):
        assert localized_name("Painting, river", ["painting", "river"]) == "Maleri, river"
        assert localized_name("Rivers of the north", ["painting", "river"]) == "Rivers of the north"
        assert localized_name("", []) == ""
