"""Training from the admin: a labelled set checked on the form, the job's per-epoch chart, activation.

The end-to-end test trains for real on a tiny generated set (CPU path, three epochs, 64-pixel pictures),
so it stays well under a minute on two cores.
"""

from __future__ import annotations

import html
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analysis import training_sets
from analysis.models import FeatureModel
from core.models import Job
from tests.analysis.procedural import generate_procedural_set
from tests.conftest import make_jpeg

TRAIN_URL = "/admin/mlserver/featuremodel/train/"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zipped_folder(root: Path, wrapper: str = "") -> bytes:
    return zipped({wrapper + p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()})


def post_set(client, data: bytes, **fields):
    upload = SimpleUploadedFile("set.zip", data, content_type="application/zip")
    form = {"folder_field": "style", "label_fields": "", "epochs": 3, "upload": upload, **fields}
    return client.post(TRAIN_URL, form)


def form_errors(response) -> str:
    assert response.status_code == 200, "a refused set is shown on the form again"
    return html.unescape(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(None, "The upload is not a zip file.", id="not-a-zip"),
        pytest.param({"loose.jpg": make_jpeg()}, "loose.jpg is not inside a class folder", id="no-class-folder"),
        pytest.param({"a/1.jpg": b"not a picture"}, "a/1.jpg is not a picture that can be opened", id="broken"),
        pytest.param(
            {"labels.csv": b"image,style\na/1.jpg,x\n", "a/2.jpg": make_jpeg()},
            "Line 2 of the CSV names 'a/1.jpg', which is not a picture in the set.",
            id="csv-names-a-missing-picture",
        ),
        pytest.param({"notes.txt": b"hello"}, "The set holds no pictures", id="empty"),
    ],
)
def test_a_bad_set_is_refused_on_the_form_with_the_reason(admin_client_for_curator, files, expected):
    data = b"PK not really" if files is None else zipped(files)

    page = form_errors(post_set(admin_client_for_curator, data))

    assert expected in page
    assert not Job.objects.filter(kind="train_features").exists()


@pytest.mark.django_db
def test_a_zip_above_the_limit_and_an_unknown_label_field_are_refused(admin_client_for_curator, settings):
    data = zipped({f"{c}/{i}.jpg": make_jpeg(colour=(i, 0, 0)) for c in "ab" for i in range(3)})
    assert "No such label field: colour. Known: artist, classification, decade" in form_errors(
        post_set(admin_client_for_curator, data, label_fields="style, colour")
    )
    settings.TRAINING_UPLOAD_MAX_BYTES = len(data) - 1
    assert "at most" in form_errors(post_set(admin_client_for_curator, data))
    assert not Job.objects.filter(kind="train_features").exists()


@pytest.mark.django_db
def test_a_server_folder_must_lie_under_the_allowed_root(admin_client_for_curator, settings, tmp_path):
    allowed, outside = tmp_path / "sets", tmp_path / "elsewhere"
    for root in (allowed, outside):
        for c in "ab":
            (root / "set" / c).mkdir(parents=True)
            (root / "set" / c / "1.jpg").write_bytes(make_jpeg())
    (allowed / "escape").symlink_to(outside / "set")
    form = {"folder_field": "style", "label_fields": "", "epochs": 2}

    settings.TRAINING_SETS_ROOT = ""
    assert "switched off" in form_errors(admin_client_for_curator.post(TRAIN_URL, {**form, "folder": "set"}))
    settings.TRAINING_SETS_ROOT = str(allowed)
    for path in ("../elsewhere/set", str(outside / "set"), "escape"):
        page = form_errors(admin_client_for_curator.post(TRAIN_URL, {**form, "folder": path}))
        assert "is not under the folder allowed for training sets" in page, path

    response = admin_client_for_curator.post(TRAIN_URL, {**form, "folder": "set"})

    assert response.status_code == 302
    job = Job.objects.get(kind="train_features")
    assert job.params["labelled_folder"] == "set" and job.params["set"]["fields"] == {"style": {"a": 1, "b": 1}}


def test_the_chart_draws_one_line_per_head_and_skips_missing_figures():
    epochs = [
        {"epoch": 1, "train_loss": 1.0, "heads": {"style": 0.4, "motifs": None}},
        {"epoch": 2, "train_loss": 0.8, "heads": {"style": 0.6, "motifs": 0.5}},
    ]

    chart = training_sets_chart(epochs)

    assert chart.count('class="epoch-line"') == 2
    style = chart[chart.index('data-head="style"') :]
    assert style.split('points="')[1].split('"')[0].count(",") == 2
    motifs = chart[chart.index('data-head="motifs"') :]
    assert motifs.split('points="')[1].split('"')[0].count(",") == 1
    assert training_sets_chart([]) == ""


def training_sets_chart(epochs):
    from analysis.training_admin import epoch_chart

    return epoch_chart(epochs)


@pytest.mark.django_db(transaction=True)
def test_training_from_the_admin_charts_the_epochs_and_activation_re_embeds(admin_client_for_curator, tmp_path):
    dataset = generate_procedural_set(tmp_path / "set", per_class=8, size=64, seed=0, styles=("stripes", "dots"))
    active_before = FeatureModel.objects.active()

    response = post_set(admin_client_for_curator, zipped_folder(dataset.root, wrapper="set/"), epochs=3)

    assert response.status_code == 302, form_errors(response)
    job = Job.objects.get(kind="train_features")
    assert response["Location"] == f"/admin/mlserver/featuremodel/training/{job.pk}/"
    assert job.status == "done", job.error  # tasks run eagerly in the tests
    assert job.params["set"]["layout"] == "csv" and job.params["activate_later"] is True
    epochs = job.result["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert all(set(e["heads"]) == {"style", "motifs"} for e in epochs)
    model = FeatureModel.objects.get(version=job.result["version"])
    assert set(model.metrics) == {"style", "motifs"} and model.metrics["style"]["metric"] == "top1_accuracy"
    assert model.status == FeatureModel.Status.READY and not model.is_active
    assert FeatureModel.objects.active() == active_before
    assert not Job.objects.filter(kind="embed_collection", target=model.version).exists(), "waits for a curator"

    page = html.unescape(admin_client_for_curator.get(response["Location"]).content.decode())
    assert 'class="epoch-chart"' in page and 'data-head="style"' in page and 'data-head="motifs"' in page
    assert 'id="activate-model"' in page and model.version in page

    activated = admin_client_for_curator.post(f"{response['Location']}activate/")

    assert activated.status_code == 302
    embedding = Job.objects.get(kind="embed_collection", target=model.version)
    assert embedding.status == "done", embedding.error
    model.refresh_from_db()
    assert model.is_active  # the test collection has no pictures: embedding it is done at once
    page = html.unescape(admin_client_for_curator.get(response["Location"]).content.decode())
    assert 'id="embedding-job"' in page and 'id="activate-model"' not in page


def test_samples_keep_only_the_chosen_fields(tmp_path, settings):
    settings.TRAINING_SETS_ROOT = str(tmp_path)
    for c in ("a", "b"):
        (tmp_path / "set" / c).mkdir(parents=True)
        (tmp_path / "set" / c / "1.jpg").write_bytes(make_jpeg())
    from analysis.training import Sample

    own = [Sample(image=lambda: b"", labels={"artist": "X", "style": "a"}, key=1)]

    both = training_sets.samples_for(own, {"labelled_folder": "set", "folder_field": "motif_kind"})
    only = training_sets.samples_for(
        own, {"labelled_folder": "set", "folder_field": "motif_kind", "fields": ["artist"]}
    )

    assert [s.labels for s in both] == [{"artist": "X", "style": "a"}, {"motif_kind": "a"}, {"motif_kind": "b"}]
    assert [s.labels for s in only] == [{"artist": "X"}]
