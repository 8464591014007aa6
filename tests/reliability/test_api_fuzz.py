"""API fuzzing: Schemathesis sends generated requests for every operation of the OpenAPI schema.

Whatever the schema describes when the test runs is covered (new endpoints included). The app is
called in-process through WSGI, against a small collection with images and a live map, both as an
anonymous visitor and with a write-scoped partner token, so that writes are fuzzed too. No request
may end in a server error, and every answer must be one the schema documents: its status code, its
media type and its body's shape.

Path parameters also get the values real clients and attackers send: accession numbers with `/`,
`..` segments, NUL, control and bidi characters, and integers of 20 digits. The generated run draws
them among its examples; a separate explicit test sends each of them to every operation that has a
path parameter, so none is left to chance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

# Enough to reach every branch of a parameter's validation, bounded so the run stays within minutes on 2 cores.
EXAMPLES_PER_OPERATION = 25

# Every answer is checked against the schema, not only for a 5xx: a partner app is generated from it.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Ids given to the collection's faces, so generated and explicit requests reach them.
FACE_IDS = (9001, 9002)

# A row of the collection for each path parameter: the fuzzer rarely guesses one, so it is offered.
REAL_PATH_VALUES = {"accession_number": "SYN.000", "slug": "all", "decade": "1850", "id": str(FACE_IDS[0])}

# Path values that broke (or could break) the routing, the database driver or a log reader.
HOSTILE_PATH_VALUES = {
    "accession with a slash": "1986/23",
    "accession with a prefix and a slash": "NG/1234",
    "dot-dot segments": "../../admin",
    "NUL alone": "\x00",
    "NUL inside a real accession": "SYN.000\x00",
    "ESC sequence": "\x1b[2J",
    "BEL": "\x07",
    "right-to-left override": "\u202eSYN.000",
    "20-digit integer": "12345678901234567890",
    "20 nines": "99999999999999999999",
    "negative 20-digit integer": "-12345678901234567890",
    "one past the 64-bit range": str(2**63),
}


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Django closes the database connection after each WSGI request; Django's own test client stops
    that so the test's transaction survives, and so must a WSGI caller inside a test."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def collection(db, s3_storage, monkeypatch):
    """A few works with pictures on a live map, so generated ids and slugs can hit real rows."""
    from rest_framework.throttling import SimpleRateThrottle

    from analysis.models import Detection, Face
    from tests.frontend.synthetic import make_synthetic_map

    # Rate limits would answer 429 to the fuzzer instead of exercising the views. DRF binds the rates
    # to the throttle classes when they are defined, so the class attribute is what to change.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100000/minute", "token": "100000/minute"})
    synthetic = make_synthetic_map(6)
    # Faces and a trusted object, so the faces endpoints and a work's detail answer with real content.
    work = synthetic.works[0]
    for pk, index in zip(FACE_IDS, range(2), strict=True):
        Face.objects.create(
            pk=pk,
            artwork=work,
            model_version="dlib-test",
            index=index,
            score=1.0,
            x0=0.1 + index / 2,
            y0=0.1,
            x1=0.4 + index / 2,
            y1=0.5,
            descriptor=np.full(128, index, dtype="<f4").tobytes(),
        )
    Detection.objects.create(
        artwork=work, detector_version="tv-1", label="horse", score=0.9, x0=0.1, y0=0.2, x1=0.5, y1=0.9, trusted=True
    )
    return synthetic


def _load_schema():
    """The schema as the app serves it at collection time: every operation it describes is fuzzed."""
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


schema = _load_schema()


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy:
    """The generated path values, or one of them replaced by a real row's or a hostile value (quoted as
    a client quotes a path segment: "/" travels as %2F, NUL as %00)."""
    if not path_parameters:
        return st.just(path_parameters)
    names = sorted(path_parameters)
    real = {name: REAL_PATH_VALUES.get(name, value) for name, value in path_parameters.items()}
    hostile = st.tuples(st.sampled_from(names), st.sampled_from(list(HOSTILE_PATH_VALUES.values())))
    return st.one_of(
        st.just(path_parameters),
        st.just(real),
        hostile.map(lambda pair: {**real, pair[0]: quote(pair[1], safe="")}),
    )


@pytest.fixture
def write_token(db) -> str:
    from collection.models import PartnerToken

    _, key = PartnerToken.issue("fuzzer", scope=PartnerToken.Scope.WRITE, rate="100000/minute")
    return key


def call_and_validate(case: Any, headers: dict[str, str] | None = None) -> Any:
    """One request in a savepoint rolled back afterwards, so that examples do not see each other's
    writes (a replayed example answers as it did) and a failed statement cannot poison the rest.

    Schemathesis's WSGI transport asks for gzip (requests' default headers) but hands the checks the
    compressed bytes; a real client decompresses. Django adds random padding before compressing
    (BREACH), so whether a small answer is compressed at all varies: identity keeps runs reproducible.
    """
    from django.db import transaction

    savepoint = transaction.savepoint()
    try:
        return case.call_and_validate(
            headers={"Accept-Encoding": "identity", **(headers or {})}, checks=CHECKS, excluded_checks=[]
        )
    finally:
        transaction.savepoint_rollback(savepoint)


FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_every_answer_is_one_the_schema_documents(case, write_token):
    """Each example is sent as a visitor and as a partner with a write token (one collection for both)."""
    call_and_validate(case)
    call_and_validate(case, headers={"Authorization": f"Token {write_token}"})


def _operations_with_path_parameters() -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if any(p.location == "path" for p in op.iter_parameters())]


def _summary(exc: BaseException) -> str:
    """Each failed check's title and the first line of its message, e.g. "Server error: [500] ..."."""
    found = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
    return "; ".join(
        f"{getattr(f, 'title', type(f).__name__)}: {(getattr(f, 'message', '') or str(f)).strip().splitlines()[0]}"
        for f in found
    )


def _send_to_every_path_parameter(
    values_for: Callable[[str], dict[str, str]], write_token: str
) -> tuple[list[str], list[int]]:
    """Each value ``values_for(name)`` gives, in turn, in each path parameter of each operation that has
    one (the other parameters a real row's), as a visitor and with a write token. Returns what failed,
    and every status seen."""
    operations = _operations_with_path_parameters()
    assert operations, "the schema should have operations with path parameters"
    identities = {"anonymous": None, "write token": {"Authorization": f"Token {write_token}"}}
    failures, statuses = [], []
    for operation in operations:
        names = sorted(p.name for p in operation.iter_parameters() if p.location == "path")
        for name in names:
            for label, value in values_for(name).items():
                # Quoted as a client library quotes a path segment: "/" travels as %2F, NUL as %00.
                path_parameters = {other: REAL_PATH_VALUES[other] for other in names} | {name: quote(value, safe="")}
                for identity, headers in identities.items():
                    try:
                        response = call_and_validate(operation.Case(path_parameters=path_parameters), headers=headers)
                    except (AssertionError, FailureGroup) as exc:
                        failures.append(f"{operation.label} {name}={label} ({value!r}), {identity}: {_summary(exc)}")
                    else:
                        statuses.append(response.status_code)
    return failures, statuses


def test_hostile_path_values_get_a_documented_client_error(write_token):
    """Every combination is tried, and the message lists each one that failed and how."""
    failures, statuses = _send_to_every_path_parameter(lambda name: HOSTILE_PATH_VALUES, write_token)

    assert not failures, f"{len(failures)} requests with hostile path values failed:\n" + "\n".join(failures)
    assert all(400 <= status < 500 for status in statuses), sorted(set(statuses))


def test_answers_about_real_rows_are_ones_the_schema_documents(write_token):
    """The fuzzer seldom guesses a stored accession number, slug, decade or face id, so each is sent
    to every operation that takes it: the bodies of real answers must match the schema too."""
    failures, statuses = _send_to_every_path_parameter(lambda name: {"a real row": REAL_PATH_VALUES[name]}, write_token)

    assert not failures, f"{len(failures)} requests about real rows failed:\n" + "\n".join(failures)
    assert 200 in statuses  # real content was checked, not only errors
