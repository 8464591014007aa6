"""Job moves from collection/ to core/: a database made before the move keeps its rows and permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The newest migration of each app on main before core/ existed.
BEFORE_CORE = [
    ("collection", "0002_artwork_version_and_provenance"),
    ("mlserver", "0002_objects_and_faces"),
    ("embeddings", "0003_publication_epoch"),
]
DJANGO_APPS = [("contenttypes", "0002_remove_content_type_name"), ("auth", "0012_alter_user_first_name_max_length")]


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_core_keeps_its_jobs_works_and_job_permissions_when_migrated():
    executor = MigrationExecutor(connection)
    executor.migrate([*BEFORE_CORE, ("core", None)])
    old = executor.loader.project_state([*BEFORE_CORE, *DJANGO_APPS]).apps
    assert old.get_model("collection", "Job")._meta.db_table == "collection_job"
    job = old.get_model("collection", "Job").objects.create(
        kind="build_map", target="all", status="done", done=6, total=6
    )
    old.get_model("collection", "Artwork").objects.create(accession_number="1880.1", title="Haystacks", published=True)
    job_type = old.get_model("contenttypes", "ContentType").objects.get(app_label="collection", model="job")
    view_job = old.get_model("auth", "Permission").objects.get(content_type=job_type, codename="view_job")
    curators = old.get_model("auth", "Group").objects.create(name="curators")
    curators.permissions.add(view_job)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from collection.models import Artwork
    from core.models import Job

    moved = Job.objects.get(pk=job.pk)
    assert (moved.kind, moved.target, moved.status, moved.percent) == ("build_map", "all", "done", 100)
    assert Artwork.objects.get(accession_number="1880.1").title == "Haystacks"
    curator = User.objects.create_user("ada", is_staff=True)
    curator.groups.add(Group.objects.get(name="curators"))
    assert curator.has_perm("core.view_job")


@pytest.mark.django_db
def test_curators_follow_jobs_in_the_admin_under_core(admin_client):
    from core.models import Job

    Job.objects.create(kind="train_features", target="tf_efficientnet_lite0", done=3, total=4)
    response = admin_client.get("/admin/core/job/")
    assert response.status_code == 200
    assert b"train_features" in response.content and b'value="3" max="4"' in response.content
