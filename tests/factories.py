"""Factories for test data: artworks with or without stored images."""

from __future__ import annotations

import factory

from collection.models import Artist, Artwork, ArtworkArtist, Label


class ArtistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Artist

    name = factory.Sequence(lambda n: f"Painter {n}")
    nationality = "French"
    birth_year = 1840
    death_year = 1900


class ArtworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Artwork

    accession_number = factory.Sequence(lambda n: f"1900.{n}")
    title = factory.Sequence(lambda n: f"Landscape {n}")
    artist_display = "Painter (French, 1840–1900)"
    date_display = "1880"
    year_start = 1880
    year_end = 1880
    decade = 1880
    classification = "painting"
    medium = "Oil on canvas"
    published = True


class CreditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArtworkArtist

    artwork = factory.SubFactory(ArtworkFactory)
    artist = factory.SubFactory(ArtistFactory)
    order = 0


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ("kind", "name")

    kind = "style"
    name = "Impressionism"


def artwork_with_image(image_bytes: bytes, **kwargs) -> Artwork:
    """A work whose image went through the real ingest path (storage + derivatives)."""
    from collection import images

    record = images.ingest(image_bytes, name="factory.jpg")
    return ArtworkFactory(image=record, **kwargs)


# --- Image bytes ----------------------------------------------------------------


def image_bytes(
    fmt: str = "JPEG",
    *,
    mode: str = "RGB",
    size: tuple[int, int] = (64, 48),
    colour: object = (180, 40, 40),
    **save: object,
) -> bytes:
    """A small picture encoded with Pillow, e.g. image_bytes("PNG", mode="RGBA", colour=(0, 0, 0, 0))."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt, **save)
    return out.getvalue()


def jpeg_with_orientation(orientation: int, size: tuple[int, int] = (60, 30), *, icc: bool = False) -> bytes:
    """A JPEG whose pixels are stored ``size`` wide/high, with an EXIF orientation tag (6 = rotate 90° on display)."""
    import io

    from PIL import Image, ImageCms

    exif = Image.Exif()
    exif[0x0112] = orientation
    save: dict[str, object] = {"exif": exif.tobytes()}
    if icc:
        save["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(out, "JPEG", **save)
    return out.getvalue()
