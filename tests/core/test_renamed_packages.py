"""mlserver/ became analysis/ and embeddings/ became maps/: the database, the admin and queued tasks do not notice."""

from __future__ import annotations

import pytest
from celery import current_app
from django.apps import apps
from django.core.management import call_command

from analysis import tasks as analysis_tasks
from core.tasknames import old_name
from maps import tasks as map_tasks


def _tasks_of(module: object) -> list[str]:
    return sorted(
        name for name, task in current_app.tasks.items() if getattr(task, "__module__", None) == module.__name__
    )


def test_the_renamed_packages_keep_their_app_labels_so_tables_permissions_and_admin_urls_stay():
    assert apps.get_app_config("mlserver").name == "analysis"
    assert apps.get_app_config("embeddings").name == "maps"
    from analysis.models import Embedding
    from maps.models import MapBuild

    assert Embedding._meta.db_table == "mlserver_embedding"
    assert MapBuild._meta.db_table == "embeddings_mapbuild"


@pytest.mark.django_db
def test_the_rename_needs_no_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize("module", [analysis_tasks, map_tasks])
def test_every_task_of_a_renamed_package_also_answers_to_its_old_name_and_goes_to_the_same_queue(module):
    names = [name for name in _tasks_of(module) if name.startswith(module.__name__ + ".")]
    assert len(names) >= 3
    router = current_app.amqp.router
    for name in names:
        earlier = old_name(module.__name__, name.rsplit(".", 1)[1])
        assert earlier is not None and earlier.split(".")[0] in {"mlserver", "embeddings"}
        assert current_app.tasks[earlier].run is not None
        assert router.route({}, earlier)["queue"].name == router.route({}, name)["queue"].name, name


@pytest.mark.django_db
def test_a_message_queued_under_the_old_name_runs_the_task():
    result = current_app.tasks["embeddings.tasks.refresh_build_statistics"].apply(args=[987654]).get()
    assert result == {"build": 987654, "decades": 0}


def test_a_package_that_was_not_renamed_has_no_old_name():
    assert old_name("pipeline.tasks", "process_artwork") is None
    assert old_name("analysis.tasks", "detect_objects") == "mlserver.tasks.detect_objects"
