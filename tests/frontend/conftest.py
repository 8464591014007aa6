"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

WebGL in headless Chromium without a GPU runs on SwiftShader (a CPU implementation), which
Chromium only enables when asked to. Screenshots go to test-artifacts/ (git-ignored). Without
Chromium or the built scripts the browser tests are skipped, or fail when CI=true.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import cannot_run

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
BUILD = REPO / "frontend" / "static" / "frontend" / "build"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    # WebGL on the CPU: SwiftShader through ANGLE.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
]


def chromium_path() -> str | None:
    """CHROMIUM_PATH when set (a wrong path is then reported, not replaced by another Chromium), else Debian's."""
    named = os.environ.get("CHROMIUM_PATH")
    candidates = [named] if named else ["/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        cannot_run("Chromium is not installed (apt-get install -y chromium); browser tests need it")
    if not (BUILD / "map.js").exists():
        cannot_run("the frontend is not built (npm ci && npm run build); browser tests need it")
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="en-GB", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(20_000)
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    page.console_messages = messages  # type: ignore[attr-defined]
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"))
    except Exception as exc:  # noqa: BLE001 - a screenshot of a closed page is no loss
        print(f"no final screenshot: {exc}")
    if messages:
        (ARTIFACTS / f"{request.node.name}-console.txt").write_text("\n".join(messages))
    context.close()


@pytest.fixture
def public_cors(s3_storage: str) -> str:
    """Browsers may only draw images from another origin (the S3 endpoint) into WebGL with CORS."""
    from collection import storage

    client = storage.get_storage("public").connection.meta.client
    client.put_bucket_cors(
        Bucket=s3_storage,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["*"],
                    "AllowedMethods": ["GET", "HEAD"],
                    "AllowedHeaders": ["*"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )
    return s3_storage


@pytest.fixture
def synthetic_map(transactional_db, public_cors):
    from tests.frontend.synthetic import make_synthetic_map

    return make_synthetic_map()
