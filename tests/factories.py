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
