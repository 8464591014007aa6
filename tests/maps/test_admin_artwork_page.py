"""A work's admin page shows what happened after the upload: picture, state, place on the maps, vector."""

from __future__ import annotations

import html

import pytest

from analysis.models import Embedding, FeatureModel
from collection.models import Artwork, ProcessingStatus
from maps.models import Map, MapBuild, MapPoint
from tests.factories import ArtworkFactory, artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db


def change_page(client, work: Artwork) -> str:
    response = client.get(f"/admin/collection/artwork/{work.pk}/change/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def live_map_with(works: list[Artwork], *, slug: str = "all") -> MapBuild:
    """A live map with the works on a line, one unit apart, in the order given."""
    map_obj = Map.objects.create(slug=slug, title="All works")
    build = MapBuild.objects.create(map=map_obj, version=3, feature_version="hand:made:1", n_points=len(works))
    MapPoint.objects.bulk_create([MapPoint(build=build, artwork=w, x=float(i), y=0.0) for i, w in enumerate(works)])
    map_obj.go_live(build)
    return build


def test_the_page_shows_the_work_large_and_its_processing_state(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Water Lilies")
    work.set_processing(ProcessingStatus.FAILED, stage="features", error="the gpu worker ran out of memory")

    page = change_page(admin_client_for_curator, work)

    assert f'<img src="{work.image.url("medium")}" alt="Water Lilies"' in page
    assert "Failed" in page and "features" in page and "the gpu worker ran out of memory" in page


def test_an_unpublished_work_s_large_picture_is_a_signed_url(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Draft", published=False)

    page = change_page(admin_client_for_curator, work)

    assert work.image.url("medium") not in page
    assert work.image.derivatives["medium"] in page and "Signature=" in page


def test_a_published_placed_work_links_to_the_public_map_centred_on_it(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Placed")
    live_map_with([work], slug="paintings")

    page = change_page(admin_client_for_curator, work)

    assert f'<a class="public-map-link" href="/?map=paintings&sel={work.pk}">Show on the public map</a>' in page


def test_an_unpublished_placed_work_has_no_public_map_link(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Hidden", published=False)
    live_map_with([work])

    page = change_page(admin_client_for_curator, work)

    assert "public-map-link" not in page
    assert "Not on the public map while unpublished." in page


def test_a_published_work_on_no_live_map_has_no_map_section(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Not yet mapped")
    other = artwork_with_image(image_bytes("PNG"), title="Mapped")
    build = live_map_with([other])
    MapBuild.objects.create(map=build.map, version=4, feature_version="f", status=MapBuild.Status.BUILDING)
    MapPoint.objects.create(build=build.map.builds.get(version=4), artwork=work, x=0, y=0)  # only on a build not live

    page = change_page(admin_client_for_curator, work)

    assert "public-map-link" not in page and "On the map" not in page


def test_a_placed_work_shows_its_eight_nearest_neighbours_on_the_map_with_links(admin_client_for_curator):
    jpeg = image_bytes("JPEG")
    work = artwork_with_image(jpeg, title="Centre")
    others = [ArtworkFactory(title=f"Neighbour {i}", image=work.image) for i in range(1, 10)]
    live_map_with([work, *others])  # Neighbour 9 is the farthest, beyond the eight shown

    page = change_page(admin_client_for_curator, work)

    for near in others[:8]:
        assert f'href="/admin/collection/artwork/{near.pk}/change/" title="{near.title}"' in page
    assert "Neighbour 9" not in page
    assert page.count('class="map-neighbour"') == 8


def test_the_page_names_the_feature_model_of_the_work_s_vector(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Embedded")
    model = FeatureModel.objects.create(version="hand:made:7", backbone="none", kind="pretrained", dim=4)
    model.activate()
    Embedding.objects.create(
        artwork=work, feature_model=model, image_sha256=work.image.sha256, vector=Embedding.pack([1, 0, 0, 0])
    )

    page = change_page(admin_client_for_curator, work)

    assert '<td class="feature-version">hand:made:7</td><td>yes</td><td>4</td>' in page


def test_a_work_without_an_image_shows_no_picture_no_map_and_no_vector(admin_client_for_curator):
    work = ArtworkFactory(title="No picture yet")
    live_map_with([])

    page = change_page(admin_client_for_curator, work)

    assert 'alt="No picture yet"' not in page and "map-neighbour" not in page
    assert "On the map" not in page and "Feature vector" not in page and "public-map-link" not in page
