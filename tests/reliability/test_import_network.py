"""Import URLs must not reach inside the network: loopback, private, link-local and metadata
addresses are refused before and after every redirect, and a failure never tells an open port
from a closed one. A deployment that imports from its intranet names it in IMPORT_ALLOWED_NETWORKS.
"""

from __future__ import annotations

import io
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command

from collection import iiif, sources
from collection.models import Artwork
from config.env import ImproperlyConfiguredEnv, env_networks
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db

UNREACHABLE = "could not be fetched: refused by policy or not reachable"


class Recorder:
    """A loopback HTTP server that notes every request; ``routes`` maps a path to (status, headers, body)."""

    def __init__(self, host: str) -> None:
        self.requests: list[tuple[str, str]] = []
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.requests.append((self.path, self.headers.get("Host", "")))
                status, headers, body = recorder.routes.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Callable[[str], Recorder]]:
    started: list[Recorder] = []

    def start(host: str = "127.0.0.1") -> Recorder:
        started.append(Recorder(host))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def raw_listener() -> Iterator[Callable[[bytes | None], str]]:
    """A loopback TCP port that is open but speaks no HTTP: it sends ``reply`` and closes, or says nothing."""
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def start(reply: bytes | None) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        sockets.append(listener)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                if reply is None:
                    sockets.append(conn)  # silent: held open until the test ends
                    continue
                conn.sendall(reply)
                conn.close()

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/image.jpg"

    yield start
    stop.set()
    for sock in sockets:
        sock.close()


# --- Addresses inside the network are refused before any connection --------------------------------


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("localhost", id="loopback-by-name"),
        pytest.param("2130706433", id="loopback-as-one-number"),
        pytest.param("[::1]", id="ipv6-loopback"),
        pytest.param("[::ffff:127.0.0.1]", id="ipv4-mapped-loopback"),
        pytest.param("[64:ff9b::7f00:1]", id="nat64-loopback"),
        pytest.param("[2002:7f00:1::]", id="6to4-loopback"),
        pytest.param("0.0.0.0", id="unspecified"),
        pytest.param("10.1.2.3", id="private-10"),
        pytest.param("192.168.0.10", id="private-192-168"),
        pytest.param("172.16.5.4", id="private-172-16"),
        pytest.param("169.254.169.254", id="cloud-metadata"),
        pytest.param("[fd00:ec2::254]", id="aws-ipv6-metadata"),
        pytest.param("100.100.100.200", id="shared-address-metadata"),
        pytest.param("[fe80::1]", id="ipv6-link-local"),
        pytest.param("224.0.0.1", id="multicast"),
        pytest.param("240.0.0.1", id="reserved"),
    ],
)
def test_an_image_url_on_an_address_inside_the_network_is_refused_with_the_plain_message(host, caplog):
    url = f"http://{host}:6379/image.jpg"

    with pytest.raises(sources.SourceError) as caught:
        sources.fetch_url(url)

    assert str(caught.value) == f"image URL {url} {UNREACHABLE}"
    assert "refused by IMPORT_ALLOWED_NETWORKS policy" in caplog.text  # the reason is in the server log


def test_a_loopback_server_gets_no_request_unless_its_network_is_allowed(recorder, settings):
    server = recorder("127.0.0.1")
    server.routes["/a.jpg"] = (200, {"Content-Type": "image/jpeg"}, b"bytes")

    with pytest.raises(sources.SourceError, match=UNREACHABLE):
        sources.fetch_url(f"{server.base}/a.jpg")
    assert server.requests == []

    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert sources.fetch_url(f"{server.base}/a.jpg") == b"bytes"


def test_a_redirect_from_an_allowed_server_to_loopback_is_refused_and_the_target_is_never_asked(recorder, settings):
    # 127.0.0.1 plays an allowed (intranet or public) server; 127.0.0.2 plays the Redis or metadata
    # service behind it, on loopback, which nobody allowed.
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    secret = recorder("127.0.0.2")
    secret.routes["/secret"] = (200, {}, b"internal data")
    front = recorder("127.0.0.1")
    front.routes["/image.jpg"] = (302, {"Location": f"{secret.base}/secret"}, b"")

    with pytest.raises(sources.SourceError) as caught:
        sources.fetch_url(f"{front.base}/image.jpg")

    assert str(caught.value) == f"image URL {front.base}/image.jpg {UNREACHABLE}"
    assert [path for path, _ in front.requests] == ["/image.jpg"]
    assert secret.requests == []


def test_redirects_between_allowed_addresses_are_followed_up_to_a_limit(recorder, settings):
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = recorder("127.0.0.1")
    server.routes["/final.jpg"] = (200, {}, b"picture")
    server.routes["/moved.jpg"] = (301, {"Location": "/final.jpg"}, b"")
    for hop in range(10):
        server.routes[f"/loop{hop}"] = (302, {"Location": f"/loop{hop + 1}"}, b"")

    assert sources.fetch_url(f"{server.base}/moved.jpg") == b"picture"
    with pytest.raises(sources.SourceError, match=UNREACHABLE):
        sources.fetch_url(f"{server.base}/loop0")
    assert len([p for p, _ in server.requests if p.startswith("/loop")]) == sources.MAX_REDIRECTS + 1


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(recorder, settings, monkeypatch):
    # DNS rebinding: the name resolves to an allowed address when checked and to another one later.
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    allowed = recorder("127.0.0.1")
    allowed.routes["/a.jpg"] = (200, {}, b"from the checked address")
    secret = recorder("127.0.0.2")
    secret.routes["/a.jpg"] = (200, {}, b"internal data")
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "images.museum.example":
            host = next(answers)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)

    body = sources.fetch_url(f"http://images.museum.example:{allowed.port}/a.jpg")

    assert body == b"from the checked address"
    assert allowed.requests == [("/a.jpg", f"images.museum.example:{allowed.port}")]  # the name, not the address
    assert secret.requests == []


@pytest.fixture
def tls_recorder(recorder, tmp_path, monkeypatch) -> Recorder:
    """The recorder over HTTPS with a certificate for "localhost", trusted as the only CA for the test."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = recorder("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    monkeypatch.setattr(sources.requests.certs, "where", lambda: str(cert_file))
    return server


def test_an_https_url_is_verified_against_its_host_name_while_connecting_to_the_checked_address(tls_recorder, settings):
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
    tls_recorder.routes["/a.jpg"] = (200, {}, b"over tls")

    assert sources.fetch_url(f"https://localhost:{tls_recorder.port}/a.jpg") == b"over tls"
    assert tls_recorder.requests == [("/a.jpg", f"localhost:{tls_recorder.port}")]
    # The same server by address: its certificate does not name 127.0.0.1, so nothing is fetched.
    with pytest.raises(sources.SourceError, match=UNREACHABLE):
        sources.fetch_url(f"https://127.0.0.1:{tls_recorder.port}/a.jpg")
    assert len(tls_recorder.requests) == 1


# --- The error text is not a port scanner --------------------------------------------------------


def test_closed_open_silent_and_forbidden_ports_all_read_the_same(closed_port_url, raw_listener, settings):
    settings.IMAGE_FETCH_TIMEOUT = 1.0
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    cases = {
        "closed": closed_port_url,
        "open, not HTTP (a Redis)": raw_listener(b"-ERR unknown command 'GET'\r\n"),
        "open, silent (times out)": raw_listener(None),
        "refused by policy": "http://127.0.0.2:6379/image.jpg",
    }
    messages = {}
    for case, url in cases.items():
        with pytest.raises(sources.SourceError) as caught:
            sources.fetch_url(url)
        messages[case] = str(caught.value).replace(url, "<url>")

    assert set(messages.values()) == {f"image URL <url> {UNREACHABLE}"}, messages


def test_an_import_row_whose_image_is_on_the_platforms_redis_is_rejected_and_the_others_import(tmp_path):
    csv_file = tmp_path / "works.csv"
    csv_file.write_text("id,title,image_url\nR1,Redis,http://127.0.0.1:6379/\nR2,Fine,\n")
    out = io.StringIO()

    call_command("import_collection", str(csv_file), "--no-progress", stdout=out)

    assert f"rejected line 2 (R1): image URL http://127.0.0.1:6379/ {UNREACHABLE}" in out.getvalue()
    assert list(Artwork.objects.values_list("accession_number", flat=True)) == ["R2"]


# --- IIIF service ids name a service, nothing else --------------------------------------------------


def _manifest_with_service(service_id: str) -> dict:
    return {
        "@context": iiif.V3_CONTEXT,
        "id": "https://museum.example/iiif/3/x/manifest.json",
        "type": "Manifest",
        "label": {"en": ["A work"]},
        "items": [
            {
                "type": "Canvas",
                "items": [
                    {
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "type": "Annotation",
                                "body": {"id": "https://museum.example/x.jpg", "service": [{"id": service_id}]},
                            }
                        ],
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("service_id", "reason"),
    [
        pytest.param("https://images.example/admin/secret#", "has a query or fragment", id="fragment"),
        pytest.param("https://images.example/admin/secret?", "has a query or fragment", id="query"),
        pytest.param("https://images.example/iiif/../../admin", "has '.' or '..' path segments", id="dot-segments"),
        pytest.param("file:///etc/passwd", "is not an http(s) URL", id="file-scheme"),
    ],
)
def test_a_iiif_service_id_that_would_change_what_is_fetched_is_refused(service_id, reason):
    with pytest.raises(iiif.ManifestError, match=re.escape(reason)):
        iiif.read_manifest(_manifest_with_service(service_id))


def test_a_iiif_service_id_with_unsafe_characters_is_quoted_into_the_image_request():
    record = iiif.read_manifest(_manifest_with_service("https://images.example/iiif/2/a b%2Fc/"))

    assert record["image"] == "https://images.example/iiif/2/a%20b%2Fc/full/!3000,3000/0/default.jpg"


def test_a_manifest_whose_service_id_ends_in_a_hash_fetches_nothing_from_its_server(recorder, settings, tmp_path):
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = recorder("127.0.0.1")
    server.routes["/private/report.jpg"] = (200, {}, image_bytes("JPEG", size=(20, 20)))
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(_manifest_with_service(f"{server.base}/private/report.jpg#")))

    with pytest.raises(CommandError, match="has a query or fragment"):
        call_command("import_collection", str(manifest), "--no-progress", stdout=io.StringIO())

    assert server.requests == []
    assert not Artwork.objects.exists()


# --- The setting fails loudly ---------------------------------------------------------------------


def test_a_malformed_allowed_network_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("IMPORT_ALLOWED_NETWORKS", "10.0.0.0/8, 192.168.1.7/24")

    with pytest.raises(ImproperlyConfiguredEnv, match=r"IMPORT_ALLOWED_NETWORKS: '192.168.1.7/24' is not a network"):
        env_networks("IMPORT_ALLOWED_NETWORKS")
