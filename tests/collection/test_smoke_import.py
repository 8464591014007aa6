import pytest
from django.core.management import call_command

from collection.models import Artwork


@pytest.mark.django_db(transaction=True)
def test_it_imports_the_demo_collection_twice_without_changes(demo_dir, capsys):
    call_command("import_collection", str(demo_dir / "artworks.csv"), "--no-progress")
    assert Artwork.objects.count() == 267
    first = capsys.readouterr().out
    assert "created 267" in first
    call_command("import_collection", str(demo_dir / "artworks.csv"), "--no-progress")
    assert "created 0, updated 0, unchanged 267, rejected 0" in capsys.readouterr().out
