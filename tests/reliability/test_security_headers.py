"""Headers that keep the site from being abused: a Content-Security-Policy the pages pass,
``Cache-Control: private`` on everything that differs for a curator or a token, and admin logins
that lock out after a few wrong passwords.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from collection.models import PartnerToken
from tests.factories import ArtworkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def synthetic(db):
    from tests.frontend.synthetic import make_synthetic_map

    return make_synthetic_map()


def site_pages(synthetic) -> list[str]:
    work = synthetic.works[0]
    return ["/", "/list/", f"/works/{work.accession_number}/", "/decades/", "/admin/login/", "/api/docs/"]


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


# --- Content-Security-Policy ---------------------------------------------------------------------


def test_every_page_has_a_policy_that_allows_no_inline_script_and_no_other_origin(client, synthetic, s3_endpoint):
    for url in site_pages(synthetic):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = directives(response)

        assert policy["default-src"] == ["'self'"], url
        assert "'unsafe-inline'" not in policy["script-src"], url
        assert [s for s in policy["script-src"] if s not in ("'self'", "'unsafe-eval'")] == [], url
        assert policy["object-src"] == ["'none'"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["base-uri"] == ["'self'"], url
        assert policy["form-action"] == ["'self'"], url
        # Pictures and atlases come from the storage endpoint, and only from there.
        for directive in ("img-src", "connect-src"):
            assert s3_endpoint in policy[directive], (url, directive)
            others = [s for s in policy[directive] if s.startswith("http") and s != s3_endpoint]
            assert others == [], (url, directive)


def test_only_the_webgl_pages_may_compile_script_and_only_the_api_docs_may_inline_styles(client, synthetic):
    work = synthetic.works[0]
    by_url = {url: directives(client.get(url)) for url in site_pages(synthetic)}

    assert {url for url, p in by_url.items() if "'unsafe-eval'" in p["script-src"]} == {
        "/",
        f"/works/{work.accession_number}/",
    }
    assert {url for url, p in by_url.items() if "'unsafe-inline'" in p["style-src"]} == {"/api/docs/"}


def test_a_configured_cdn_is_the_media_origin(client, synthetic, settings):
    settings.S3_PUBLIC_URL = "images.collection.example.org"

    policy = directives(client.get("/"))

    assert "https://images.collection.example.org" in policy["img-src"]
    assert "https://images.collection.example.org" in policy["connect-src"]


class _InlineScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "script" and "src" not in named and named.get("type") != "application/json":
            self._in_script = True
        if tag == "a" and (named.get("href") or "").lower().startswith("javascript:"):
            self.problems.append("javascript: link")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def test_no_page_carries_an_inline_script_or_event_handler(synthetic, admin_client_for_curator):
    # The policy would block them: a page that has one is broken for visitors.
    work = synthetic.works[0]
    pages = [(Client(), url) for url in site_pages(synthetic)] + [
        (admin_client_for_curator, url)
        for url in ("/admin/", "/admin/collection/artwork/", f"/admin/collection/artwork/{work.pk}/change/")
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        finder = _InlineScriptFinder()
        finder.feed(response.content.decode())
        assert finder.problems == [], url


def test_the_api_docs_load_their_start_up_script_from_the_site(client):
    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert b"?script=" in page.content
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


# --- Cache-Control -------------------------------------------------------------------------------


def test_pages_and_api_answers_are_private_to_their_user(client, synthetic):
    work = synthetic.works[0]
    slug = synthetic.map.slug
    urls = [
        *site_pages(synthetic),
        "/api/v1/artworks/",
        f"/api/v1/artworks/{work.accession_number}/",
        "/api/v1/maps/",
        f"/api/v1/maps/{slug}/works/?ids={work.pk}",
        "/api/v1/decades/",
        "/api/v1/no-such-endpoint/",
    ]
    for url in urls:
        response = client.get(url)
        cache_control = {d.strip() for d in response.get("Cache-Control", "").split(",")}
        vary = {v.strip().lower() for v in response.get("Vary", "").split(",")}

        assert "private" in cache_control, (url, response.get("Cache-Control"))
        assert "public" not in cache_control, url
        assert {"cookie", "authorization"} <= vary, (url, response.get("Vary"))


def test_map_points_shared_with_every_visitor_stay_public_but_vary_on_credentials(
    client, synthetic, curator, api_client
):
    url = f"/api/v1/maps/{synthetic.map.slug}/points/"

    anonymous = client.get(url)
    client.force_login(curator)
    as_curator = client.get(url)
    _, key = PartnerToken.issue("partner", scope=PartnerToken.Scope.READ)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with_token = api_client.get(url)

    assert "public" in anonymous["Cache-Control"]
    assert {"cookie", "authorization"} <= {v.strip().lower() for v in anonymous["Vary"].split(",")}
    assert "private" in as_curator["Cache-Control"] and "public" not in as_curator["Cache-Control"]
    assert "Authorization" in with_token["Vary"]


def test_a_curators_page_is_never_cacheable_by_a_shared_cache(client, curator):
    work = ArtworkFactory(published=False, title="Not yet public")
    client.force_login(curator)

    response = client.get(f"/works/{work.accession_number}/")

    assert response.status_code == 200 and b"Not yet public" in response.content
    assert "private" in response["Cache-Control"]


# --- Login throttling ----------------------------------------------------------------------------


def _login(client: Client, password: str, address: str = "203.0.113.5"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "curator", "password": password},
        REMOTE_ADDR=address,
    )


def test_after_the_failure_limit_even_the_right_password_is_refused_with_a_clear_message(curator, settings):
    client = Client()
    failures = [_login(client, "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]

    locked = _login(client, "pw-curator-123")

    # The form again (with Django's error) until the limit-th failure, which locks the account.
    assert failures == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_a_lockout_holds_one_username_from_one_address_only(curator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "wrong", address="203.0.113.5")

    elsewhere = Client()
    response = _login(elsewhere, "pw-curator-123", address="198.51.100.7")

    assert response.status_code == 302
    assert elsewhere.get("/admin/").status_code == 200


def test_a_successful_login_clears_earlier_failures(curator, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "pw-curator-123").status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")

    assert _login(client, "pw-curator-123").status_code == 302
