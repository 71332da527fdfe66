"""The web app at ``/``, in a real headless browser (Debian's chromium driven by Playwright).

A ``punkml api serve`` subprocess serves the page over a deployment with a promoted (baseline,
quick to train) model. The browser searches, opens a beer, submits a recipe and reads the
prediction, predicts the example recipe files, resets the form and folds the filters at a phone's
size; the answers are checked against the API itself. Screenshots are saved under
``artifacts/screenshots/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from headless import CHROMIUM, CHROMIUM_ARGS
from punkml.config import Settings, cache_dir

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
START_TIMEOUT_SECONDS = 20.0
WAIT_MS = 15_000

if not CHROMIUM.exists():  # `make test` installs it (the `browser` target)
    pytest.skip(f"{CHROMIUM} is missing: run `make browser`", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@dataclass
class Server:
    """A ``punkml api serve`` subprocess; ``url`` is its root (the web app)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(home: Path) -> Server:
    """Start the server on ``home`` on a free loopback port; wait until the page answers."""
    env = {**os.environ, "PUNKML_CACHE_DIR": str(cache_dir())}
    env.pop("PUNKML_HOME", None)
    port = _free_port()
    log = home / f"server-{port}.log"
    command = [sys.executable, "-m", "punkml", "api", "serve", "--home", str(home)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--rate-limit", "0"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(server.url + "/", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"punkml api serve did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def served_with_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose deployment has a promoted baseline model trained on the dataset."""
    from punkml.ml.train import train_model
    from punkml.source.dataset import dataset_path

    home = tmp_path_factory.mktemp("web-home")
    settings = Settings.load(home).ensure()
    result = train_model(settings, model_type="baseline", beers_file=dataset_path(cache_dir()))
    assert result.promoted
    server = _serve(home)
    yield server
    server.stop()


@dataclass
class Browser:
    """One page plus what it logged: console errors and every URL it requested."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Browser]:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    watched = Browser(page)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    page.on("request", lambda request: watched.requests.append(request.url))
    yield watched
    context.close()


def _screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _number(text: str) -> float:
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group())


def test_search_open_a_beer_and_predict_a_recipe(
    served_with_model: Server, browser: Browser
) -> None:
    page, url = browser.page, served_with_model.url
    api = httpx.Client(base_url=url + "/v2", timeout=10)

    # 1. The list: the first page of beers, as the API gives them.
    page.goto(url + "/")
    page.wait_for_selector("#results li")
    first_page = [beer["name"] for beer in api.get("/beers", params={"per_page": 24}).json()]
    assert page.locator("#results h2").all_inner_texts() == first_page
    assert "Showing beers 1\N{EN DASH}24" in page.inner_text("#search-status")

    # 2. Search with two v2 filters, submitted from the keyboard.
    expected = api.get("/beers", params={"hops": "citra", "abv_gt": "6", "per_page": 24}).json()
    assert expected, "the filters should match some beers"
    page.fill("#f-hops", "citra")
    page.fill("#f-abv_gt", "6")
    page.press("#f-abv_gt", "Enter")
    # Retrying assertions (Playwright's own script, allowed by the page's CSP, unlike eval).
    expect(page.locator("#results h2")).to_have_text([beer["name"] for beer in expected])
    assert "hops=citra" in page.evaluate("() => location.hash")
    _screenshot(page, "web-1-search.png")

    # 3. Open the first result: its recipe, and the model's prediction with the interval.
    beer = expected[0]
    page.locator("#results h2 a").first.click()
    page.wait_for_selector("#beer-prediction [data-testid=ibu-pred]")
    assert page.inner_text("#beer-name") == beer["name"]
    assert page.evaluate("document.activeElement.id") == "beer-name"  # focus follows the page
    hop_rows = page.locator(".hops tbody tr").count()
    assert hop_rows == len(beer["ingredients"]["hops"])
    answer = api.post("/ibu", json=[beer]).json()["predictions"][0]
    shown = _number(page.inner_text("#beer-prediction [data-testid=ibu-pred]"))
    assert shown == round(answer["ibu_pred"])
    interval = page.inner_text("#beer-prediction [data-testid=ibu-interval]")
    assert f"{round(answer['ibu_low'])} to {round(answer['ibu_high'])} IBU" in interval
    assert answer["model_version"] in page.inner_text("#beer-prediction")
    # A beer the model trained on shows its out-of-fold prediction, and says so.
    assert answer["held_out"] is False  # the model trained on it: the answer is out-of-fold
    assert "IBU predicted without this beer" in page.inner_text("#beer-prediction .headline")
    assert "out-of-fold" in page.inner_text("#beer-prediction [data-testid=held-out]")
    _screenshot(page, "web-2-beer.png")

    # 4. The recipe form: change a hop, add one from the keyboard, submit, read the prediction.
    page.click("nav >> text=Predict IBU")
    page.wait_for_selector("#hop-rows li")
    page.fill("#r-name", "Browser test IPA")
    page.fill("#r-og", "1062")
    first_hop_grams = page.locator('#hop-rows [name="hop_grams"]').first
    first_hop_grams.fill("35")
    page.click("#add-hop")
    assert page.evaluate("document.activeElement.name") == "hop_name"  # the new row has focus
    page.keyboard.type("Centennial")
    new_row = page.locator("#hop-rows li").last
    new_row.locator('[name="hop_grams"]').fill("25")
    new_row.locator('[name="hop_stage"]').select_option("boil")
    new_row.locator('[name="hop_minutes"]').fill("30")
    with page.expect_request(lambda r: r.url.endswith("/v2/ibu") and r.method == "POST") as sent:
        page.click("#recipe-form button[type=submit]")
    page.wait_for_selector("#prediction [data-testid=ibu-pred]")
    recipe = sent.value.post_data_json
    assert recipe["name"] == "Browser test IPA" and recipe["target_og"] == 1062
    hops = recipe["ingredients"]["hops"]
    assert hops[0]["amount"] == {"value": 35, "unit": "grams"}
    assert hops[-1]["name"] == "Centennial" and hops[-1]["add"] == "30"
    direct = api.post("/ibu", json=recipe).json()["predictions"][0]
    predicted = _number(page.inner_text("#prediction [data-testid=ibu-pred]"))
    assert predicted == round(direct["ibu_pred"])
    assert "Prediction for Browser test IPA" in page.inner_text("#prediction")
    assert direct["held_out"] is True  # a new recipe: no "without this beer"
    assert "without this beer" not in page.inner_text("#prediction")
    _screenshot(page, "web-3-recipe.png")

    # 5. A missing amount is caught in the page, announced, and focused.
    first_hop_grams.fill("")
    page.click("#recipe-form button[type=submit]")
    assert "Hop 1's grams is required." in page.inner_text("#recipe-error")
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"

    assert browser.errors == []
    assert all(request.startswith(url) for request in browser.requests)  # works offline


def test_page_is_accessible_by_labels_and_keyboard(
    served_with_model: Server, browser: Browser
) -> None:
    page, url = browser.page, served_with_model.url
    for route, ready in (("/", "#results li"), ("/#/recipe", "#hop-rows li")):
        page.goto(url + route)
        page.wait_for_selector(ready)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('.view:not([hidden]) input, .view:not([hidden]) select')]
                 .filter((el) => el.labels.length === 0).map((el) => el.name || el.id)"""
        )
        assert unlabelled == []
    live = page.evaluate(
        "[...document.querySelectorAll('[aria-live], [role=status], [role=alert]')].map(e => e.id)"
    )
    assert {"search-status", "prediction", "recipe-error"} <= set(live)
    page.goto(url + "/")
    page.wait_for_selector("#results li")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-beer_name"
    assert page.evaluate("location.hash") in ("", "#/")  # the view did not change


def test_without_a_model_the_beer_page_says_how_to_get_one(
    tmp_path: Path, browser: Browser
) -> None:
    server = _serve(Settings.load(tmp_path / "home").ensure().home)
    try:
        page = browser.page
        page.goto(server.url + "/#/beer/1")
        page.wait_for_selector("#beer-prediction .error")
        assert page.inner_text("#beer-name") == "Buzz"
        message = page.inner_text("#beer-prediction")
        assert "No promoted model" in message and "punkml train" in message
    finally:
        server.stop()


def test_static_assets_are_served_with_a_strict_policy_and_unknown_ones_are_not(
    served_with_model: Server,
) -> None:
    with httpx.Client(base_url=served_with_model.url, timeout=10) as client:
        page = client.get("/")
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/static/app.css").status_code == 200
        for path in ("/static/__init__.py", "/static/../app.py", "/static/nothing.js"):
            assert client.get(path).status_code == 404
        assert client.get("/v2/beers/1").json()[0]["name"] == "Buzz"  # the API is untouched


def test_screenshots_directory_is_git_ignored() -> None:
    root = SCREENSHOTS.parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "check-ignore", "-q", str(SCREENSHOTS / "web-1-search.png")], cwd=root
    )
    assert done.returncode == 0


def test_predict_a_recipe_file_pasted_or_uploaded(
    served_with_model: Server, browser: Browser
) -> None:
    page, url = browser.page, served_with_model.url
    api = httpx.Client(base_url=url + "/v2", timeout=10)
    page.goto(url + "/#/recipe")
    page.wait_for_selector("#hop-rows li")

    # 1. Pasted BeerXML goes to POST /v2/ibu as XML, as it is; the page shows the API's answer.
    xml = (EXAMPLES / "my_recipe.beerxml.xml").read_text()
    page.fill("#r-file-text", xml)
    with page.expect_request(lambda r: r.url.endswith("/v2/ibu") and r.method == "POST") as sent:
        page.click("#file-form button[type=submit]")
    assert sent.value.headers["content-type"] == "application/xml"
    assert sent.value.post_data == xml
    page.wait_for_selector("#prediction [data-testid=ibu-pred]")
    direct = api.post("/ibu", content=xml, headers={"content-type": "application/xml"}).json()
    row = direct["predictions"][0]
    assert _number(page.inner_text("#prediction [data-testid=ibu-pred]")) == round(row["ibu_pred"])
    assert "Prediction for Backyard Pale Ale" in page.inner_text("#prediction")
    assert page.locator("#prediction [data-testid=ibu-warnings]").count() == 0
    _screenshot(page, "web-5-beerxml.png")

    # 2. An uploaded file is shown in the box and predicted; the defaults it took are listed.
    page.set_input_files("#r-file", str(EXAMPLES / "my_recipe.json"))
    expect(page.locator("#prediction [data-testid=ibu-warnings] li").first).to_contain_text(
        "volume: not given, 20 litres assumed"
    )
    assert page.input_value("#r-file-text") == (EXAMPLES / "my_recipe.json").read_text()

    # 3. Unsafe or broken files get the server's reason, naming the tag where there is one.
    page.fill("#r-file-text", '<!DOCTYPE r [<!ENTITY a "b">]><RECIPES/>')
    page.click("#file-form button[type=submit]")
    expect(page.locator("#file-error")).to_contain_text("<!DOCTYPE")
    page.fill("#r-file-text", xml.replace("<AMOUNT>0.030</AMOUNT>", "<AMOUNT>lots</AMOUNT>"))
    page.click("#file-form button[type=submit]")
    expect(page.locator("#file-error")).to_contain_text(
        "recipes[0].HOPS.HOP[1].AMOUNT: 'lots' is not a number"
    )
    assert page.locator("#prediction").inner_text() == ""
    # The browser logs each 422 answer as a failed resource; nothing else may fail.
    assert [e for e in browser.errors if "status of 422" not in e] == []


def test_reset_clears_what_a_beer_left_in_the_predictor(
    served_with_model: Server, browser: Browser
) -> None:
    page, url = browser.page, served_with_model.url
    page.goto(url + "/#/recipe?from=5")
    expect(page.locator("#r-name")).to_have_value("Avery Brown Dredge")
    page.click("#recipe-form button[type=submit]")
    page.wait_for_selector("#prediction [data-testid=ibu-pred]")
    page.fill("#r-file-text", "{}")

    # Another beer's recipe replaces the last answer instead of sitting under a stale one.
    page.goto(url + "/#/recipe?from=6")
    expect(page.locator("#r-name")).to_have_value("Electric India")
    assert page.locator("#prediction").inner_text() == ""

    page.click("#recipe-reset")
    expect(page.locator("#r-name")).to_have_value("My recipe")
    assert page.input_value("#r-og") == "1055" and page.input_value("#r-abv") == ""
    names = page.locator('#hop-rows [name="hop_name"]')
    expect(names).to_have_count(3)
    assert [names.nth(i).input_value() for i in range(3)] == ["Simcoe", "Citra", "Citra"]
    assert page.input_value("#r-file-text") == ""
    assert page.evaluate("location.hash") == "#/recipe"  # reloading won't bring the beer back
    assert page.evaluate("document.activeElement.id") == "r-name"
    assert browser.errors == []


def test_on_a_phone_the_filters_fold_away(served_with_model: Server, chromium: Any) -> None:
    url = served_with_model.url
    api = httpx.Client(base_url=url + "/v2", timeout=10)
    width, height = 390, 844  # a common phone viewport, in CSS pixels
    context = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(url + "/")
        page.wait_for_selector("#results li")
        toggle = page.locator("#filters-toggle")
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(page.locator("#search-form")).to_be_hidden()
        first_card = page.locator("#results li").first.bounding_box()
        assert first_card is not None and first_card["y"] < height  # beers on the first screen
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
        _screenshot(page, "web-6-phone.png")

        toggle.click()
        expect(page.locator("#search-form")).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        assert page.evaluate("document.activeElement.id") == "f-beer_name"
        page.fill("#f-hops", "citra")
        page.press("#f-hops", "Enter")
        expected = api.get("/beers", params={"hops": "citra", "per_page": 24}).json()
        expect(page.locator("#results h2")).to_have_text([beer["name"] for beer in expected])
        expect(page.locator("#search-form")).to_be_hidden()  # folded again: results show
        expect(toggle).to_have_text("Filters (1 active)")
        _screenshot(page, "web-7-phone-filtered.png")
    finally:
        context.close()


def test_on_a_wide_screen_the_filters_stay_open(
    served_with_model: Server, browser: Browser
) -> None:
    page = browser.page
    page.goto(served_with_model.url + "/")
    page.wait_for_selector("#results li")
    expect(page.locator("#search-form")).to_be_visible()
    expect(page.locator("#filters-toggle")).to_be_hidden()
