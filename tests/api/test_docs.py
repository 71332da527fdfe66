"""``/docs`` (Swagger UI), ``/redoc`` and ``/health`` of a real ``punkml api serve``; the docs pages
render in headless Chromium with every request outside the server refused (offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from headless import CHROMIUM, CHROMIUM_ARGS
from punkml.source.dataset import PACKAGE, VERSION

pytestmark = pytest.mark.slow
WAIT_MS = 20_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # git-ignored


@pytest.fixture(scope="module")
def root_url(api_server: str) -> str:
    return api_server.removesuffix("/v2")


def test_health_names_the_dataset_and_the_promoted_model(root_url: str) -> None:
    health = httpx.get(f"{root_url}/health", timeout=10).json()
    assert health["status"] == "ok"
    assert health["dataset"] == f"{PACKAGE}@{VERSION}"
    assert health["beers"] == 325
    assert health["model_version"] is None  # the shared server's home has no model


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(root_url: str, page: str) -> None:
    response = httpx.get(root_url + page, timeout=10)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert "/static-offline-docs/" in html
    assert "https://" not in html and "http://" not in html  # no CDN, no web fonts
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert httpx.get(f"{root_url}/static-offline-docs/{asset}", timeout=10).status_code == 200


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():  # `make test` installs it (the `browser` target)
        pytest.skip(f"{CHROMIUM} is missing: run `make browser`")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        yield browser
        browser.close()


def _offline_page(chromium: Any, root_url: str) -> tuple[Any, list[str], list[str]]:
    """A page that may only reach ``root_url``; what it tried elsewhere, and its errors."""
    page = chromium.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(WAIT_MS)
    outside: list[str] = []
    errors: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(root_url + "/"):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, outside, errors


def test_swagger_ui_renders_offline(chromium: Any, root_url: str) -> None:
    page, outside, errors = _offline_page(chromium, root_url)
    page.goto(f"{root_url}/docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/v2/beers", "/v2/beers/{beerId}", "/v2/ibu", "/health"} <= {
        p.replace("\u200b", "").strip() for p in paths
    }
    assert outside == [] and errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "swagger-ui.png"))
    page.context.close()


def test_redoc_renders_offline(chromium: Any, root_url: str) -> None:
    page, outside, errors = _offline_page(chromium, root_url)
    page.goto(f"{root_url}/redoc")
    page.wait_for_selector("h2:has-text('List beers, filtered and paginated')")
    assert page.locator("h1").first.inner_text().startswith("Punk API v2")
    page.screenshot(path=str(SCREENSHOTS / "redoc.png"))
    assert outside == [] and errors == []
    page.context.close()
