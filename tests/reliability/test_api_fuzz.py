"""API fuzzing: Schemathesis sends generated requests for every operation of the OpenAPI schema.

Whatever the schema describes when the test runs is covered (new endpoints included). The app is
called in-process through WSGI, against a small collection with images and a live map, both as an
anonymous visitor and with a write-scoped partner token, so that writes are fuzzed too. No request
may end in a server error.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.slow

# Enough to reach every branch of a parameter's validation, bounded so the run stays within minutes on 2 cores.
EXAMPLES_PER_OPERATION = 25


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

    from tests.frontend.synthetic import make_synthetic_map

    # Rate limits would answer 429 to the fuzzer instead of exercising the views. DRF binds the rates
    # to the throttle classes when they are defined, so the class attribute is what to change.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100000/minute", "token": "100000/minute"})
    return make_synthetic_map(6)


def _load_schema():
    """The schema as the app serves it at collection time: every operation it describes is fuzzed."""
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


schema = _load_schema()


@pytest.fixture
def write_token(db) -> str:
    from collection.models import PartnerToken

    _, key = PartnerToken.issue("fuzzer", scope=PartnerToken.Scope.WRITE, rate="100000/minute")
    return key


FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_no_anonymous_request_ends_in_a_server_error(case):
    case.call_and_validate(checks=[not_a_server_error], excluded_checks=[])


@schema.parametrize()
@FUZZ
def test_no_request_with_a_write_token_ends_in_a_server_error(case, write_token):
    case.call_and_validate(headers={"Authorization": f"Token {write_token}"}, checks=[not_a_server_error], excluded_checks=[])
