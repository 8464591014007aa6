"""Cluster names a visitor understands: what the works show, not how or by whom they were made."""

from __future__ import annotations

import numpy as np
import pytest

from maps import summaries
from maps.clusters import name_clusters
from maps.models import Map, MapBuild, MapPoint
from maps.terms import title_terms
from tests.factories import ArtistFactory, ArtworkFactory, CreditFactory, LabelFactory

THEMES = {
    (-0.6, -0.6): ["Harbour at dawn", "Harbour in fog", "The old harbour", "Boats in the harbour", "Harbour, evening"],
    (0.6, 0.6): ["Still life with flowers", "Still life with lemons", "Still Life, Apples", "A still life of fish"],
    (0.6, -0.6): ["Portrait of a lady", "Portrait of the artist's mother", "Portrait of a man", "Self-portrait"],
}


def _map_of(works: list, coords: list) -> MapBuild:
    map_obj = Map.objects.create(slug="all", title="All")
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version="x", n_points=len(works))
    MapPoint.objects.bulk_create([MapPoint(build=build, artwork=w, x=x, y=y) for w, (x, y) in zip(works, coords)])
    summaries.refresh_clusters(build, np.array([w.pk for w in works]), np.asarray(coords))
    return build


@pytest.fixture
def themed_collection(db) -> MapBuild:
    """Three regions whose titles carry a theme, with the same media and painters spread over all three."""
    painters = [ArtistFactory(name=name) for name in ("Peter Paul Rubens", "Edgar Degas", "Harriet Backer")]
    media = ["Oil on panel", "Oil on canvas, lined", "Watercolour on paper"]
    rng = np.random.default_rng(1)
    works, coords = [], []
    for centre, titles in THEMES.items():
        for i in range(18):
            work = ArtworkFactory(title=titles[i % len(titles)], medium=media[i % 3], decade=1600 + 10 * (i % 4))
            CreditFactory(artwork=work, artist=painters[i % 3])
            works.append(work)
            coords.append(np.asarray(centre) + rng.normal(scale=0.03, size=2))
    return _map_of(works, coords)


def test_regions_are_named_by_the_words_of_their_titles_not_by_medium_or_artist(themed_collection):
    clusters = sorted(themed_collection.clusters.all(), key=lambda c: c.name)
    assert [c.terms[0] for c in clusters] == ["harbour", "portrait", "still life"]
    assert [c.name.split(",")[0] for c in clusters] == ["Harbour", "Portrait", "Still life"]
    terms = {t for c in themed_collection.clusters.all() for t in c.terms}
    assert not terms & {"Peter Paul Rubens", "Edgar Degas", "Harriet Backer", "oil on panel", "Oil on panel", "1600s"}


def test_a_curator_label_names_a_region_whole_even_when_its_titles_say_nothing(db):
    works, coords = [], []
    rng = np.random.default_rng(2)
    for centre, label in (((-0.5, 0), "Golden Age"), ((0.5, 0), "Romantic landscape")):
        tag = LabelFactory(kind="motif", name=label)
        for _ in range(15):
            work = ArtworkFactory(title="Untitled")
            work.labels.add(tag)
            works.append(work)
            coords.append(np.asarray(centre) + rng.normal(scale=0.03, size=2))
    build = _map_of(works, coords)
    assert sorted(c.name for c in build.clusters.all()) == ["Golden age", "Romantic landscape"]


def test_an_artist_names_a_region_only_when_they_made_most_of_it() -> None:
    labels = [0] * 10 + [1] * 10
    terms = [["harbour"]] * 10 + [["portrait"]] * 10
    artists = ["Rubens"] * 7 + ["Degas"] * 3 + ["Rubens"] * 5 + ["Degas"] * 5
    names = name_clusters(labels, terms, artists=artists)
    assert [t for t, _ in names[0]] == ["Rubens", "harbour"]  # 70 % his
    assert [t for t, _ in names[1]] == ["portrait"]  # half his: his name would mislead


def test_a_word_on_one_work_or_on_most_works_never_names_a_region() -> None:
    labels = [0] * 20 + [1] * 60
    terms = [["painting", "sea"] + (["lonely"] if i == 0 else []) for i in range(20)] + [["painting"]] * 60
    terms[20] = ["painting", "sea"]
    names = name_clusters(labels, terms)
    assert [t for t, _ in names[0]] == ["sea"]
    assert names[1] == []


def test_titles_are_cut_into_content_words_in_english_and_norwegian() -> None:
    assert title_terms("Still Life with Flowers, 1650") == ["still", "life", "still life", "flowers"]
    assert title_terms("Vinterlandskap fra Krødsherad") == ["vinterlandskap", "krødsherad"]
    assert title_terms("Portrett av kunstnerens mor") == ["portrett", "kunstnerens", "mor", "kunstnerens mor"]
    assert title_terms("Untitled (Study No. 3)") == []


def test_a_region_whose_titles_share_no_word_gets_no_name_rather_than_a_placeholder(db):
    rng = np.random.default_rng(2)
    plain = ["Morning", "Evening", "Harvest", "Winter", "Storm", "Orchard", "Mill", "Bridge", "Quarry", "Dunes"]
    works = [ArtworkFactory(title=plain[i % len(plain)]) for i in range(20)]
    works += [ArtworkFactory(title=THEMES[(-0.6, -0.6)][i % 5]) for i in range(20)]
    centres = [(0.5, 0.5)] * 20 + [(-0.5, -0.5)] * 20
    coords = [np.asarray(c) + rng.normal(scale=0.02, size=2) for c in centres]

    build = _map_of(works, coords)

    assert [c.name.split(",")[0] for c in build.clusters.order_by("name")] == ["", "Harbour"]
