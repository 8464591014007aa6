"""Reading import inputs: image files inside an image folder, and URLs with bounded time and size.

An import file is untrusted data: a path like ``../../etc/passwd`` must not
escape the image folder, and a slow or endless URL must not hang the import.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse, urlsplit

import idna
import requests
import urllib3
from django.conf import settings

log = logging.getLogger(__name__)


class SourceError(ValueError):
    """An input could not be read; the message names the input and the reason."""


def is_url(ref: str) -> bool:
    return urlparse(ref).scheme in ("http", "https")


def resolve_local(ref: str, base_dir: Path) -> Path:
    """Resolves a path relative to the image folder, refusing anything that escapes it."""
    base = base_dir.resolve()
    candidate = (base / ref).resolve()
    if candidate != base and base not in candidate.parents:
        raise SourceError(f"image path {ref!r} escapes the image folder {base}")
    if not candidate.is_file():
        raise SourceError(f"image file {ref!r} was not found in {base}")
    return candidate


def read_local(ref: str, base_dir: Path) -> bytes:
    path = resolve_local(ref, base_dir)
    size = path.stat().st_size
    if size > settings.IMAGE_MAX_UPLOAD_BYTES:
        raise SourceError(f"image file {ref!r} is {size / 1e6:.1f} MB, above the upload limit")
    return path.read_bytes()


class _Unreachable(Exception):
    """A URL failed for a network reason; the reason goes to the server log, never to the importer."""


# Redirects a fetch follows, each hop checked against the address policy like the first URL.
MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# NAT64 (RFC 6052) carries an IPv4 address in its low 32 bits; a gateway would connect to it.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form really reaches (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_permitted(address: str) -> bool:
    """Only public unicast addresses, unless the deployment named the network (its own intranet).

    Loopback, private, link-local (cloud metadata at 169.254.169.254), shared (100.64/10, another
    cloud's metadata), unique-local (fd00:ec2::254), multicast, unspecified and reserved ranges are
    all "not global" or multicast; IPv6 forms that carry an IPv4 address are judged by that address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    allowed = [ipaddress.ip_network(net) for net in settings.IMPORT_ALLOWED_NETWORKS]
    if any(ip.version == net.version and ip in net for net in allowed):
        return True
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
        return address_permitted(str(embedded))
    return ip.is_global and not ip.is_multicast


def _checked_addresses(host: str, port: int) -> list[str]:
    """Resolves once; every address must pass, so a name with one public and one private address is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise _Unreachable(f"cannot resolve {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [a for a in addresses if not address_permitted(a)]
    if refused or not addresses:
        raise _Unreachable(
            f"{host!r} resolves to {', '.join(refused) or 'nothing'}: refused by IMPORT_ALLOWED_NETWORKS policy"
        )
    return addresses


def _open_pinned(url: str, timeout: float) -> urllib3.BaseHTTPResponse:
    """One request to the address that was checked, so DNS cannot answer differently at connect time.

    The host name still goes in the Host header, the TLS SNI and the certificate check.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _Unreachable(f"scheme {parts.scheme!r} is not http(s)")
    try:
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _Unreachable(f"malformed address: {exc}") from None
    if not host:
        raise _Unreachable("no host")
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii") if not _is_ip_literal(host) else host
    except idna.IDNAError as exc:
        raise _Unreachable(f"host {host!r} is not a valid name: {exc}") from None
    shown_host = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    host_header = shown_host if parts.port in (None, 443 if parts.scheme == "https" else 80) else f"{shown_host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": host_header, "User-Agent": "museum-collection-importer", "Accept-Encoding": "identity"}
    last_error: Exception | None = None
    for address in _checked_addresses(ascii_host, port):
        kwargs: dict = {
            "port": port,
            "maxsize": 1,
            "retries": False,
            "timeout": urllib3.Timeout(connect=min(timeout, 10.0), read=timeout),
        }
        if parts.scheme == "https":
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                address,
                server_hostname=ascii_host,
                assert_hostname=ascii_host,
                cert_reqs="CERT_REQUIRED",
                ca_certs=requests.certs.where(),
                **kwargs,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, **kwargs)
        try:
            return pool.urlopen(
                "GET", target, headers=headers, redirect=False, preload_content=False, assert_same_host=False
            )
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as exc:
            last_error = exc  # another address of the same name may answer
            pool.close()
        except urllib3.exceptions.HTTPError as exc:
            pool.close()
            raise _Unreachable(f"{address}: {exc!r}") from None
    raise _Unreachable(f"no address of {host!r} accepted a connection: {last_error!r}")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def fetch_url(url: str, *, max_bytes: int | None = None, what: str = "image") -> bytes:
    """Downloads a public URL with a time-out and a byte cap, refusing to reach inside the network.

    An import file is untrusted: its URLs must not reach the platform's own Redis, database or cloud
    metadata, directly or through a redirect, and the error must not tell an open port from a closed
    one (so imports cannot serve as a port scanner). Every network failure therefore reads the same;
    the reason is in the server log. Only a server that answered HTTP gets its status named.
    """
    limit = max_bytes or settings.IMAGE_MAX_UPLOAD_BYTES
    timeout = settings.IMAGE_FETCH_TIMEOUT
    if not is_url(url):
        raise SourceError(f"{what} URL {url!r} is not an http(s) URL")
    unreachable = f"{what} URL {url} could not be fetched: refused by policy or not reachable"
    # The read time-out applies to each network read; a server that drips a byte at a time never hits
    # it, so the whole download is also bounded: read1 returns whatever has arrived, and the deadline
    # is checked between reads.
    deadline = time.monotonic() + timeout
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            response = _open_pinned(current, timeout)
            try:
                if response.status in _REDIRECT_STATUSES and response.headers.get("Location"):
                    current = urljoin(current, response.headers["Location"])
                    continue
                if response.status != 200:
                    raise SourceError(f"{what} URL {url} answered HTTP {response.status}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise SourceError(f"{what} URL {url} is {int(declared) / 1e6:.1f} MB, above the limit")
                chunks: list[bytes] = []
                total = 0
                while chunk := response.read1(64 * 1024, decode_content=True):
                    total += len(chunk)
                    if total > limit:
                        raise SourceError(f"{what} URL {url} is larger than the limit of {limit / 1e6:.1f} MB")
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise _Unreachable(f"the body did not finish within {timeout:.0f} s")
                return b"".join(chunks)
            finally:
                response.close()  # closes the socket too: each hop has its own one-use pool
                response.release_conn()
        raise _Unreachable(f"more than {MAX_REDIRECTS} redirects")
    except _Unreachable as exc:
        log.warning("fetch of %s (%s) refused or failed: %s", url, current, exc)
        raise SourceError(unreachable) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        log.warning("fetch of %s (%s) failed: %r", url, current, exc)
        raise SourceError(unreachable) from None


def read_image(ref: str, base_dir: Path | None) -> bytes:
    if is_url(ref):
        return fetch_url(ref)
    if base_dir is None:
        raise SourceError(f"image {ref!r} is a file path but no image folder was given")
    return read_local(ref, base_dir)
