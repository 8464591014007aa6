"""The curators' admin: who gets in, the artwork list, filters, bulk actions, image upload, failures."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from collection.models import Artist, Artwork, ArtworkArtist, ImageFile, ProcessingStatus
from tests.factories import ArtworkFactory, artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/collection/artwork/"


def change_url(work: Artwork) -> str:
    return f"/admin/collection/artwork/{work.pk}/change/"


def change_form_data(work: Artwork, **overrides: object) -> dict[str, object]:
    """What the change form posts for an unchanged work with no credits."""
    data: dict[str, object] = {
        "accession_number": work.accession_number,
        "title": work.title,
        "published": "on" if work.published else "",
        "artist_display": work.artist_display,
        "date_display": work.date_display,
        "classification": work.classification,
        "medium": work.medium,
        "dimensions": work.dimensions,
        "credit_line": work.credit_line,
        "rights": work.rights,
        "source_url": work.source_url,
        "iiif_manifest_url": work.iiif_manifest_url,
        "seen_version": work.version,
        "credits-TOTAL_FORMS": "0",
        "credits-INITIAL_FORMS": "0",
        "credits-MIN_NUM_FORMS": "0",
        "credits-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def test_staff_outside_the_curators_group_is_refused_the_admin(client):
    staff = User.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(staff)

    for url in ("/admin/", CHANGELIST):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_staff_outside_the_curators_group_who_log_in_are_still_not_let_in(client):
    User.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)

    response = client.post(
        "/admin/login/", {"username": "clerk", "password": "pw-clerk-123", "next": "/admin/"}, follow=True
    )

    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "You are authenticated as clerk, but are not authorized to access this page" in response.content.decode()
    assert client.get(CHANGELIST).status_code == 302


def test_a_superuser_outside_the_group_is_let_in(client):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))

    assert client.get(CHANGELIST).status_code == 200


def test_a_curator_sees_the_artwork_list_with_thumbnails(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Water Lilies")
    ArtworkFactory(title="No picture yet")

    response = admin_client_for_curator.get(CHANGELIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Water Lilies" in page and "No picture yet" in page
    assert f'<img src="{work.image.url("thumb")}"' in page
    assert "2 artworks" in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("decade=1880", "Eighties work", "Nineties work"),
        ("processing_status__exact=failed", "Nineties work", "Eighties work"),
        ("published__exact=0", "Nineties work", "Eighties work"),
        ("q=Eighties", "Eighties work", "Nineties work"),
    ],
)
def test_a_curator_can_filter_the_list(admin_client_for_curator, query, shown, hidden):
    ArtworkFactory(title="Eighties work", decade=1880)
    failed = ArtworkFactory(title="Nineties work", decade=1890, year_start=1890, year_end=1890, published=False)
    failed.set_processing(ProcessingStatus.FAILED, stage="derivatives", error="broken")

    response = admin_client_for_curator.get(f"{CHANGELIST}?{query}")

    page = response.content.decode()
    assert response.status_code == 200
    assert shown in page
    assert hidden not in page


def test_the_decade_filter_offers_the_decades_present(admin_client_for_curator):
    ArtworkFactory(decade=1880)
    ArtworkFactory(decade=1630)

    page = admin_client_for_curator.get(CHANGELIST).content.decode()

    assert "?decade=1630" in page and "1630s" in page
    assert "?decade=1880" in page
    assert "?decade=1900" not in page


def test_a_curator_can_publish_and_unpublish_works_in_bulk(admin_client_for_curator):
    first, second, untouched = ArtworkFactory.create_batch(3, published=True)

    response = admin_client_for_curator.post(
        CHANGELIST, {"action": "unpublish", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert "2 works unpublished." in response.content.decode()
    assert dict(Artwork.objects.values_list("pk", "published")) == {
        first.pk: False,
        second.pk: False,
        untouched.pk: True,
    }

    response = admin_client_for_curator.post(
        CHANGELIST, {"action": "publish", "_selected_action": [first.pk]}, follow=True
    )
    assert "1 works published." in response.content.decode()
    assert Artwork.objects.get(pk=first.pk).published is True
    assert Artwork.objects.get(pk=second.pk).published is False


def test_a_curator_can_upload_an_image_through_the_change_form(
    admin_client_for_curator, django_capture_on_commit_callbacks
):
    work = ArtworkFactory(title="Haystacks", date_display="1890")
    upload = SimpleUploadedFile("haystacks.jpg", image_bytes("JPEG", size=(90, 60)), content_type="image/jpeg")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for_curator.post(change_url(work), change_form_data(work, upload=upload), follow=True)

    assert response.status_code == 200
    assert "Image stored; processing has been queued." in response.content.decode()
    work.refresh_from_db()
    assert work.image is not None
    assert (work.image.width, work.image.height) == (90, 60)
    assert work.image.derivatives_complete()
    assert work.processing_status == ProcessingStatus.DONE  # ML is off in tests: derivatives finish the pipeline


def test_a_curator_editing_the_date_in_the_admin_re_parses_the_years(admin_client_for_curator):
    work = ArtworkFactory(date_display="1880", year_start=1880, year_end=1880, decade=1880)

    response = admin_client_for_curator.post(change_url(work), change_form_data(work, date_display="c. 1631"))

    assert response.status_code == 302
    work.refresh_from_db()
    assert (work.date_display, work.year_start, work.decade) == ("c. 1631", 1631, 1630)


CAZIN = "Attributed to Jean Charles Cazin (French, 1841–1901)"


def credits_of(work: Artwork) -> list[tuple[str, str, str, int | None, int | None]]:
    return [
        (c.qualifier, c.artist.name, c.artist.nationality, c.artist.birth_year, c.artist.death_year)
        for c in ArtworkArtist.objects.filter(artwork=work).select_related("artist").order_by("order")
    ]


def test_a_curator_typing_an_artist_credit_gets_the_artist_parsed_like_an_imported_one(admin_client_for_curator):
    work = ArtworkFactory(artist_display="")

    response = admin_client_for_curator.post(change_url(work), change_form_data(work, artist_display=CAZIN))

    assert response.status_code == 302
    assert credits_of(work) == [("Attributed to", "Jean Charles Cazin", "French", 1841, 1901)]


def test_a_work_added_in_the_admin_gets_its_artists_parsed(admin_client_for_curator):
    data = change_form_data(ArtworkFactory.build(accession_number="ADD-1", title="The Pool"), artist_display=CAZIN)
    data.pop("seen_version")

    response = admin_client_for_curator.post("/admin/collection/artwork/add/", data)

    assert response.status_code == 302
    assert credits_of(Artwork.objects.get(accession_number="ADD-1")) == [
        ("Attributed to", "Jean Charles Cazin", "French", 1841, 1901)
    ]


def test_changing_the_credit_line_replaces_the_works_artists(admin_client_for_curator):
    work = ArtworkFactory(artist_display="")
    admin_client_for_curator.post(change_url(work), change_form_data(work, artist_display=CAZIN))
    work.refresh_from_db()

    admin_client_for_curator.post(
        change_url(work), change_form_data(work, artist_display="Claude Monet (French, 1840–1926)")
    )

    assert credits_of(work) == [("", "Claude Monet", "French", 1840, 1926)]


def test_saving_the_same_credit_line_again_does_not_duplicate_artists(admin_client_for_curator, tmp_path):
    from django.core.management import call_command

    (tmp_path / "works.csv").write_text(f'id,title,artist\nIMP-1,Imported,"{CAZIN}"\n', encoding="utf-8")
    call_command("import_collection", str(tmp_path / "works.csv"), "--no-progress", stdout=io.StringIO())
    work = ArtworkFactory(artist_display="")
    admin_client_for_curator.post(change_url(work), change_form_data(work, artist_display=CAZIN))
    work.refresh_from_db()
    credit = ArtworkArtist.objects.get(artwork=work)
    data = change_form_data(
        work,
        title="Renamed",
        **{
            "credits-TOTAL_FORMS": "1",
            "credits-INITIAL_FORMS": "1",
            "credits-0-id": str(credit.pk),
            "credits-0-artwork": str(work.pk),
            "credits-0-artist": str(credit.artist_id),
            "credits-0-qualifier": credit.qualifier,
            "credits-0-order": str(credit.order),
        },
    )

    response = admin_client_for_curator.post(change_url(work), data)

    assert response.status_code == 302
    assert Artist.objects.filter(name="Jean Charles Cazin").count() == 1  # the import's row, found again
    assert credits_of(work) == [("Attributed to", "Jean Charles Cazin", "French", 1841, 1901)]


def test_an_upload_that_is_not_an_image_is_refused_on_the_form_and_nothing_is_stored(
    admin_client_for_curator, stored_keys
):
    work = ArtworkFactory(title="Haystacks")
    upload = SimpleUploadedFile("haystacks.jpg", b"<html><body>Sign in</body></html>", content_type="image/jpeg")

    response = admin_client_for_curator.post(change_url(work), change_form_data(work, upload=upload, title="Changed"))

    assert response.status_code == 200  # the form again
    assert "haystacks.jpg: not a recognisable image" in response.content.decode()
    work.refresh_from_db()
    assert work.title == "Haystacks"
    assert work.image is None
    assert not ImageFile.objects.exists()
    assert stored_keys() == []


def test_a_curator_sees_why_processing_failed(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"))
    work.set_processing(
        ProcessingStatus.FAILED, stage="derivatives", error="ImageRejected: the image is corrupt or truncated"
    )

    change_page = admin_client_for_curator.get(change_url(work)).content.decode()
    list_page = admin_client_for_curator.get(CHANGELIST).content.decode()

    assert "ImageRejected: the image is corrupt or truncated" in change_page
    assert f'<img src="{work.image.url("medium")}"' in change_page  # the preview
    assert "failed at derivatives" in list_page
    assert 'title="ImageRejected: the image is corrupt or truncated"' in list_page


def test_a_curator_can_see_the_import_runs(admin_client_for_curator, tmp_path):
    from django.core.management import call_command

    (tmp_path / "works.csv").write_text("id,title\n1,Skrik\n2,\n")
    call_command("import_collection", str(tmp_path / "works.csv"), "--no-progress", stdout=io.StringIO())

    page = admin_client_for_curator.get("/admin/collection/importrun/").content.decode()

    assert str(tmp_path / "works.csv") in page


def test_creating_a_partner_token_in_the_admin_shows_its_key_once(client):
    from collection.models import PartnerToken

    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))

    response = client.post(
        "/admin/collection/partnertoken/add/",
        {"name": "Museum app", "scope": "read", "rate": "", "active": "on"},
        follow=True,
    )

    page = response.content.decode()
    assert "Copy the key now, it is not shown again:" in page
    key = page.split('<code id="token-key">')[1].split("<")[0].strip()
    token = PartnerToken.objects.get()
    assert PartnerToken.find(key) == token
    assert token.key_hash != key
    assert "no-store" in response["Cache-Control"]


def test_a_new_partner_tokens_key_never_travels_in_a_cookie_or_a_redirect(client):
    """The messages cookie is signed, not encrypted: anyone who reads it would read the key."""
    from collection.models import PartnerToken

    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))

    response = client.post(
        "/admin/collection/partnertoken/add/", {"name": "Museum app", "scope": "write", "rate": "", "active": "on"}
    )

    assert response.status_code == 200  # the key is in this body, not behind a redirect
    key = response.content.decode().split('<code id="token-key">')[1].split("<")[0].strip()
    assert PartnerToken.find(key) == PartnerToken.objects.get()
    cookies = " ".join(morsel.value for morsel in response.cookies.values())
    assert key not in cookies
    assert key not in " ".join(f"{name}: {value}" for name, value in response.items())
    follow_up = client.get("/admin/collection/partnertoken/")
    assert key not in follow_up.content.decode()


# --- Two curators on one work -------------------------------------------------------------------


def test_the_change_form_carries_the_version_it_was_opened_at(admin_client_for_curator):
    work = ArtworkFactory(title="Haystacks")

    page = admin_client_for_curator.get(change_url(work)).content.decode()

    assert f'<input type="hidden" name="seen_version" value="{work.version}"' in page


def test_a_curator_saving_a_form_opened_before_someone_elses_save_is_told_and_nothing_is_saved(
    admin_client_for_curator,
):
    work = ArtworkFactory(title="Haystacks", medium="Oil on canvas")
    first_form = change_form_data(work, title="Haystacks at Sunset")
    second_form = change_form_data(work, medium="Oil on panel")  # opened at the same version

    assert admin_client_for_curator.post(change_url(work), first_form).status_code == 302
    response = admin_client_for_curator.post(change_url(work), second_form)

    assert response.status_code == 200  # the form again, with the reason
    page = response.content.decode()
    assert (
        "Someone else changed this work while you were editing it (you opened version 1; it is now at version 2)"
        in page
    )
    assert "Nothing was saved: open the work again" in page
    work.refresh_from_db()
    assert (work.title, work.medium, work.version) == ("Haystacks at Sunset", "Oil on canvas", 2)


def test_a_form_posted_without_the_version_it_was_opened_at_is_refused(admin_client_for_curator):
    work = ArtworkFactory(title="Haystacks")
    data = change_form_data(work, title="Changed")
    del data["seen_version"]

    response = admin_client_for_curator.post(change_url(work), data)

    assert response.status_code == 200
    assert "did not say which version of the work it was opened at" in response.content.decode()
    assert Artwork.objects.get(pk=work.pk).title == "Haystacks"


def test_processing_a_work_does_not_make_a_curators_open_form_stale(admin_client_for_curator):
    from pipeline.tasks import process_artwork

    work = artwork_with_image(image_bytes("JPEG"), title="Haystacks")
    form = change_form_data(work, title="Haystacks at Noon")

    process_artwork.apply(args=[work.pk])
    assert Artwork.objects.get(pk=work.pk).processing_status == ProcessingStatus.DONE

    assert admin_client_for_curator.post(change_url(work), form).status_code == 302
    assert Artwork.objects.get(pk=work.pk).title == "Haystacks at Noon"


def test_the_admin_refuses_more_motifs_than_the_cap_naming_it(admin_client_for_curator):
    from collection.models import MAX_MOTIFS, Label

    work = ArtworkFactory(title="Crowded")
    labels = Label.objects.bulk_create(Label(kind="motif", name=f"motif {n}") for n in range(MAX_MOTIFS + 1))

    response = admin_client_for_curator.post(
        change_url(work), change_form_data(work, labels=[label.pk for label in labels])
    )

    assert response.status_code == 200
    assert f"{MAX_MOTIFS + 1} motifs chosen, above the limit of {MAX_MOTIFS}." in response.content.decode()
    assert not work.labels.exists()


def test_a_form_opened_before_another_curator_unpublished_the_work_cannot_publish_it_again(admin_client_for_curator):
    work = ArtworkFactory(title="Haystacks", published=True)
    form = change_form_data(work, title="Haystacks at Noon")  # still says published

    admin_client_for_curator.post(CHANGELIST, {"action": "unpublish", "_selected_action": [work.pk]})
    response = admin_client_for_curator.post(change_url(work), form)

    assert response.status_code == 200
    assert "Someone else changed this work while you were editing it" in response.content.decode()
    work.refresh_from_db()
    assert (work.title, work.published) == ("Haystacks", False)
