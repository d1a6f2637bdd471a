"""The page at /__mock/ui in a real browser: Debian's chromium, headless, driven by Selenium
through /usr/bin/chromedriver (named explicitly, so Selenium Manager downloads nothing).

The tests find controls by their accessible names, as a person using a screen reader would:
`Scenario for ID`, `Reset ID`, `Session`, `Only violations`. The reload banner and a session's
notice are checked against a mock serving a copy of the shipped files, broken and fixed. Each state is saved as a screenshot
under target/ui-screenshots/ (CI keeps them as artefacts). `SPECMOCK_UI_PNG=docs/ui.png` makes
`test_the_whole_page` write the README's screenshot there too.

Without chromium the tests are skipped, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import REPO_ROOT, http_request, running_specmock
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = REPO_ROOT / "target" / "ui-screenshots"
# New journal rows must show within this many seconds of the request.
LIVE_WITHIN_S = 1.0
WAIT_S = 5.0

# Violates UserProfile: `id` is a string, `aesthetics` is required.
INVALID_PROFILE = b'{"id": 5}'


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    """A specmock of this module's own: its journal holds only what these tests send."""
    with running_specmock(tmp_path_factory) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the page tests need a browser in CI: {missing}", pytrace=False)
        pytest.skip(missing)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, mock: str) -> None:
    driver.get(f"{mock}/__mock/ui")
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.ID, "feed-state").text == "live", "the journal feed is live"
    )


def named(driver, tag: str, name: str, timeout: float = WAIT_S) -> WebElement:
    """The `tag` element whose accessible name is `name`, once there is one."""

    def find(d):
        try:
            return next((e for e in d.find_elements(By.TAG_NAME, tag) if e.accessible_name == name), False)
        except StaleElementReferenceException:  # the sessions table was rebuilt meanwhile
            return False

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(find, f"a {tag} named {name!r}")


def selected(driver, name: str) -> str | bool:
    """The option chosen in the list named `name` (`False` while the table is rebuilt)."""
    try:
        return Select(named(driver, "select", name)).first_selected_option.text
    except StaleElementReferenceException:
        return False


def settled(driver, act, what: str) -> None:
    """Does `act(driver)` on the sessions table, again if the table was rebuilt under it."""

    def done(d):
        try:
            act(d)
            return True
        except StaleElementReferenceException:
            return False

    WebDriverWait(driver, WAIT_S).until(done, what)


def choose(driver, name: str, option: str) -> None:
    """Chooses `option` in the list named `name`, as a person would."""
    settled(driver, lambda d: Select(named(d, "select", name)).select_by_visible_text(option), f"{option} chosen")


def press(driver, name: str) -> None:
    settled(driver, lambda d: named(d, "button", name).click(), f"{name} pressed")


def screenshot(driver, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def call(mock: str, session: str, method: str, path: str, body: bytes | None = None):
    headers = {"X-Mock-Session": session}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return http_request(mock, method, path, body=body, headers=headers)


def admin_json(mock: str, path: str):
    status, _, body = http_request(mock, "GET", path)
    assert status == 200, body
    return json.loads(body)


def journal_rows(driver, session: str | None = None) -> list[WebElement]:
    """The journal's rows (of `session`), in one WebDriver round trip: the wait for a new row
    measures the page, not Selenium."""
    selector = "#journal > li" if session is None else f"#journal > li[data-session={json.dumps(session)}]"
    return driver.find_elements(By.CSS_SELECTOR, selector)


def shown(rows: list[WebElement]) -> list[WebElement]:
    return [r for r in rows if r.is_displayed()]


def test_switching_a_sessions_scenario_in_the_page_changes_its_answers(browser, mock):
    session = "ui-switch"
    assert call(mock, session, "GET", "/user/providers")[0] == 200
    open_page(browser, mock)
    WebDriverWait(browser, WAIT_S).until(lambda d: selected(d, f"Scenario for {session}") == "default")
    choose(browser, f"Scenario for {session}", "providers-local")
    deadline = time.monotonic() + WAIT_S
    while admin_json(mock, f"/__mock/sessions/{session}")["scenario"] != "providers-local":
        assert time.monotonic() < deadline, "the page's PUT did not move the session"
        time.sleep(0.05)
    status, _, body = call(mock, session, "GET", "/user/providers")
    assert status == 501, body
    assert b"not implemented" in body
    # The table, refreshed by the call that followed, shows the session in its new scenario.
    WebDriverWait(browser, WAIT_S).until(
        lambda d: selected(d, f"Scenario for {session}") == "providers-local"
    )
    screenshot(browser, "scenario-switched")

    press(browser, f"Reset {session}")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: all(c["calls"] == 0 for c in admin_json(mock, f"/__mock/sessions/{session}")["counters"])
    )


def test_a_request_that_breaks_the_contract_appears_with_its_violation_within_a_second(browser, mock):
    session = "ui-broken"
    open_page(browser, mock)
    sent = time.monotonic()
    status, _, _ = call(mock, session, "POST", "/user/update", INVALID_PROFILE)
    assert status == 400
    try:
        row = WebDriverWait(browser, LIVE_WITHIN_S, poll_frequency=0.02).until(
            lambda d: next(iter(journal_rows(d, session)), False)
        )
    except TimeoutException:
        screenshot(browser, "violation-late")
        raise AssertionError(f"no journal row within {LIVE_WITHIN_S} s of the request") from None
    elapsed = time.monotonic() - sent
    assert elapsed <= LIVE_WITHIN_S, elapsed
    assert "violating" in row.get_attribute("class").split()
    violations = [v.text for v in row.find_elements(By.CSS_SELECTOR, ".violation")]
    assert any(v.startswith("/body/id") for v in violations), violations
    assert any(v.startswith("/body") and "aesthetics" in v for v in violations), violations
    screenshot(browser, "violation-shown")


def test_the_session_filter_and_only_violations(browser, mock):
    call(mock, "ui-filter-a", "GET", "/user")
    call(mock, "ui-filter-b", "POST", "/user/update", INVALID_PROFILE)
    call(mock, "ui-filter-a", "GET", "/user/providers")
    open_page(browser, mock)
    WebDriverWait(browser, WAIT_S).until(lambda d: len(journal_rows(d, "ui-filter-a")) == 2)

    named(browser, "input", "Session").send_keys("ui-filter-a")
    rows = shown(journal_rows(browser))
    assert [r.get_attribute("data-session") for r in rows] == ["ui-filter-a", "ui-filter-a"]
    screenshot(browser, "filter-session")

    named(browser, "input", "Session").send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
    named(browser, "input", "Only violations").click()
    rows = shown(journal_rows(browser))
    assert rows, "the violating request is shown"
    assert all("violating" in r.get_attribute("class").split() for r in rows)
    assert "ui-filter-b" in [r.get_attribute("data-session") for r in rows]
    screenshot(browser, "filter-violations")
    named(browser, "input", "Only violations").click()
    assert len(shown(journal_rows(browser))) == len(journal_rows(browser))


def test_a_row_opens_to_its_request_and_response_bodies(browser, mock):
    session = "ui-bodies"
    body = json.dumps(
        {
            "id": "c41e9a7d-2f63-4b8e-a915-6d0b3e72f8c4",
            "aesthetics": {"theme": {"dark": True}, "font": {"size": 12}},
            "vanityname": "ada-in-the-page",
        }
    ).encode()
    status, _, answer = call(mock, session, "POST", "/user/update/vanity", body)
    assert status == 200, answer
    open_page(browser, mock)
    row = WebDriverWait(browser, WAIT_S).until(lambda d: next(iter(journal_rows(d, session)), False))
    row.find_element(By.TAG_NAME, "summary").click()
    # The bodies are pretty-printed as the row opens.
    request, response = WebDriverWait(browser, WAIT_S).until(
        lambda d: row.find_elements(By.TAG_NAME, "pre") or False, "the bodies shown"
    )
    assert json.loads(request.text) == json.loads(body)
    assert json.loads(response.text) == json.loads(answer)
    assert "\n  " in request.text, "pretty-printed"
    screenshot(browser, "row-open")


def test_the_verify_form_shows_the_417_explanation(browser, mock):
    open_page(browser, mock)
    named(browser, "input", "Operation").send_keys("user-update-vanity")
    named(browser, "input", "In session").send_keys("ui-never-called")
    named(browser, "input", "Expected calls").send_keys("1")
    named(browser, "button", "Verify").click()
    result = WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.ID, "verify-result").text or False
    )
    assert "417" in result, result
    assert "expected exactly 1 call of `user-update-vanity` in session `ui-never-called`" in result, result
    screenshot(browser, "verify-417")


def test_the_whole_page(browser, mock):
    """A screenshot of the page with every part in use; SPECMOCK_UI_PNG=docs/ui.png keeps it."""
    call(mock, "checkout-test", "GET", "/user")
    call(mock, "checkout-test", "POST", "/user/update/vanity", INVALID_PROFILE)
    call(mock, "signed-out-test", "GET", "/user")
    open_page(browser, mock)
    choose(browser, "Scenario for signed-out-test", "signed-out")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: admin_json(mock, "/__mock/sessions/signed-out-test")["scenario"] == "signed-out"
    )
    call(mock, "signed-out-test", "GET", "/user")
    WebDriverWait(browser, WAIT_S).until(lambda d: len(journal_rows(d, "signed-out-test")) == 2)
    for _ in range(2):  # the page is laid out again at its new width
        height = browser.execute_script("return document.documentElement.scrollHeight")
        inner = browser.execute_script("return window.innerHeight")
        outer = browser.get_window_size()["height"]
        browser.set_window_size(1280, min(height + outer - inner, 4000))
    path = screenshot(browser, "page")
    target = os.environ.get("SPECMOCK_UI_PNG")
    if target:
        shutil.copyfile(path, REPO_ROOT / target)
    browser.set_window_size(1280, 1000)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A copy of the shipped spec, fixtures and scenarios that the tests may break."""
    root = tmp_path_factory.mktemp("mock-files")
    shutil.copyfile(REPO_ROOT / "openapi.yaml", root / "openapi.yaml")
    shutil.copytree(REPO_ROOT / "fixtures", root / "fixtures")
    shutil.copytree(REPO_ROOT / "scenarios", root / "scenarios")
    return root


@pytest.fixture(scope="module")
def watched_mock(tmp_path_factory, files):
    """A specmock serving `files`, reloading them as they change."""
    args = ("--spec", str(files / "openapi.yaml"), "--fixtures", str(files / "fixtures"),
            "--scenarios", str(files / "scenarios"))
    with running_specmock(tmp_path_factory, *args) as server:
        yield server.url


def banner(driver) -> WebElement:
    return driver.find_element(By.ID, "banner")


def test_the_banner_shows_a_broken_file_and_a_session_moved_out_of_a_removed_scenario(
    browser, watched_mock, files
):
    open_page(browser, watched_mock)
    WebDriverWait(browser, WAIT_S).until(lambda d: "loaded at" in banner(d).text, "the last good load")
    assert "error" not in banner(browser).get_attribute("class").split()
    generation = admin_json(watched_mock, "/__mock/status")["config"]["generation"]

    broken = files / "scenarios" / "providers-local.yaml"
    good = broken.read_text()
    broken.write_text(good + "rules: [\n")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: "error" in banner(d).get_attribute("class").split(), "the broken file in the banner"
    )
    error = admin_json(watched_mock, "/__mock/status")["config"]["error"]
    where = f"{error['file']}:{error['line']}:{error['column']}"
    assert where in banner(browser).text, (where, banner(browser).text)
    assert "providers-local.yaml" in where
    screenshot(browser, "banner-broken-file")

    broken.write_text(good)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: "error" not in banner(d).get_attribute("class").split(), "the fixed file applied"
    )

    # A session whose scenario a reload removes moves to the start scenario, and the page says so.
    session = "ui-moved"
    headers = {"X-Mock-Session": session, "X-Mock-Scenario": "vanity-taken"}
    assert http_request(watched_mock, "GET", "/user", headers=headers)[0] == 200
    (files / "scenarios" / "vanity-taken.yaml").unlink()
    WebDriverWait(browser, WAIT_S).until(
        lambda d: admin_json(watched_mock, "/__mock/status")["config"]["generation"] > generation + 1
    )
    # The page reads the scenarios and sessions again after a reload.
    WebDriverWait(browser, WAIT_S).until(lambda d: selected(d, f"Scenario for {session}") == "default")

    def offered(d):
        try:
            return [o.text for o in Select(named(d, "select", f"Scenario for {session}")).options]
        except StaleElementReferenceException:
            return []

    WebDriverWait(browser, WAIT_S).until(
        lambda d: "vanity-taken" not in offered(d) and "providers-local" in offered(d), "the removed scenario gone"
    )
    notice = admin_json(watched_mock, f"/__mock/sessions/{session}")["notice"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")
    row = next(r for r in rows if r.find_element(By.TAG_NAME, "th").text == session)
    assert row.find_element(By.CSS_SELECTOR, ".notice").text == notice
    screenshot(browser, "session-moved")


TOKEN = "ui-s3cret"


@pytest.fixture(scope="module")
def token_mock(tmp_path_factory):
    """A specmock whose admin API needs a bearer token."""
    with running_specmock(tmp_path_factory, "--admin-token", TOKEN) as server:
        yield server.url


def test_with_an_admin_token_the_page_asks_for_it_then_shows_sessions_and_the_live_journal(browser, token_mock):
    status, _, body = call(token_mock, "ui-token-before", "GET", "/user")
    assert status == 200, body
    browser.get(f"{token_mock}/__mock/ui")
    field = named(browser, "input", "Admin token")
    WebDriverWait(browser, WAIT_S).until(lambda d: field.is_displayed(), "the page asks for the token")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: "live journal refused (403)" in d.find_element(By.ID, "feed-state").text, "the feed's refusal"
    )
    assert field.get_attribute("type") == "password"
    assert not browser.find_elements(By.CSS_SELECTOR, "#sessions tbody tr"), "no data without the token"
    screenshot(browser, "token-asked")

    field.send_keys(TOKEN, Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: selected(d, "Scenario for ui-token-before") == "default", "the sessions read with the token"
    )
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.ID, "feed-state").text == "live", "the journal feed is live"
    )
    assert not field.is_displayed()
    sent = time.monotonic()
    assert call(token_mock, "ui-token-live", "POST", "/user/update", INVALID_PROFILE)[0] == 400
    row = WebDriverWait(browser, WAIT_S, poll_frequency=0.02).until(
        lambda d: next(iter(journal_rows(d, "ui-token-live")), False), "a live row"
    )
    assert time.monotonic() - sent <= LIVE_WITHIN_S, "live within a second"
    assert "violating" in row.get_attribute("class").split()
    screenshot(browser, "token-used")

    # Kept for this tab only, never in the URL.
    assert browser.execute_script("return sessionStorage.getItem('specmock-admin-token')") == TOKEN
    assert browser.execute_script("return localStorage.length") == 0
    assert TOKEN not in browser.current_url


def feed_state(driver) -> str:
    return driver.find_element(By.ID, "feed-state").text


def test_a_refused_feed_says_why_and_goes_live_once_a_place_frees(browser, spawn_specmock):
    server = spawn_specmock()
    assert call(server.url, "ui-refused", "GET", "/user")[0] == 200
    held = []
    address = urlsplit(server.url)
    try:
        while True:  # every feed the mock allows, held open here
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=WAIT_S)
            connection.request("GET", "/__mock/journal/events")
            if connection.getresponse().status != 200:
                connection.close()
                break
            held.append(connection)
            assert len(held) <= 256, "the mock refuses feeds past a limit"
        browser.get(f"{server.url}/__mock/ui")
        WebDriverWait(browser, WAIT_S).until(
            lambda d: "live journal refused (503)" in feed_state(d), "the refusal, said"
        )
        assert "trying again" in feed_state(browser), feed_state(browser)
        screenshot(browser, "feed-refused")
        held.pop().close()
        WebDriverWait(browser, WAIT_S).until(lambda d: feed_state(d) == "live", "live once a place frees")
        WebDriverWait(browser, WAIT_S).until(lambda d: journal_rows(d, "ui-refused"), "the entries so far")
    finally:
        for connection in held:
            connection.close()


def test_a_session_in_a_scenario_the_page_has_not_read_yet_shows_it(browser, mock):
    session = "ui-unread-scenario"
    headers = {"X-Mock-Session": session, "X-Mock-Scenario": "signed-out"}
    http_request(mock, "GET", "/user", headers=headers)
    open_page(browser, mock)
    WebDriverWait(browser, WAIT_S).until(lambda d: selected(d, f"Scenario for {session}") == "signed-out")
    # As if a reload added the scenario after the page read the list.
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "scenarioNames = scenarioNames.filter((name) => name !== 'signed-out');"
        "refreshSessions().then(done);"
    )
    assert selected(browser, f"Scenario for {session}") == "signed-out"
