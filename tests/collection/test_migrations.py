"""Schema changes keep what is stored."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_the_version_and_provenance_migration_keeps_every_work_and_starts_them_at_version_1_with_nothing_recorded():
    executor = MigrationExecutor(connection)
    executor.migrate([("collection", "0001_initial")])
    old = executor.loader.project_state([("collection", "0001_initial")]).apps
    old.get_model("collection", "Artwork").objects.create(
        accession_number="1880.1", title="Haystacks", medium="Oil on canvas", published=False
    )
    old.get_model("collection", "ImportRun").objects.create(
        source="works.csv", created=1, errors=["line 3: title is empty"]
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from collection.models import Artwork, ImportRun

    work = Artwork.objects.get(accession_number="1880.1")
    assert (work.title, work.medium, work.published) == ("Haystacks", "Oil on canvas", False)
    assert (work.version, work.imported) == (1, {})
    run = ImportRun.objects.get()
    assert (run.created, run.errors, run.conflicts) == (1, ["line 3: title is empty"], [])
