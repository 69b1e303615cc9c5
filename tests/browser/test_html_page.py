"""The HTML page in a real browser: what it shows, its filters, search, copy button and themes,
with no console error and no request beyond the page itself."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Gates

pytestmark = pytest.mark.browser

FLAKY_AND_ORDER = {
    "state": "polluted = []\n",
    "test_a": """
        import state
        def test_pollutes():
            state.polluted.append(1)
        def test_broken():
            assert 1 == 2, "broken for good"
    """,
    "test_b": """
        import pathlib, state
        def test_victim():
            assert not state.polluted, "someone ran before me"
        def test_flaky():
            marker = pathlib.Path("flaky.count")
            first = not marker.exists()
            marker.write_text("x")
            assert not first, "first attempt"
    """,
}


def _clean(page: Any) -> None:
    assert page.console_errors() == []
    assert [url for url in page.requests() if not url.startswith("file://")] == []


def test_a_passing_run(pytester: pytest.Pytester, gates: Gates, open_page: Any) -> None:
    pytester.makepyfile(test_s="def test_one():\n    pass\ndef test_two():\n    pass\n")
    html = pytester.path / "page.html"
    gates.run(f"--atom-gates-html={html}")
    page = open_page(html)
    assert page.text("#overall") == "PASS"
    rows = page.texts("tr.gate")
    gates_shown = [row.split()[0] for row in rows]
    assert gates_shown == ["TQ-01", "TQ-02", "TQ-03", "TQ-04", "TQ-05", "TQ-06"]
    assert "TQ-02 pass rate PASS 100.00 % (2/2) >= 98 %" in rows
    assert page.texts("nav a") == ["Gates", "Time", "All tests", "Run"]
    assert page.text("#shown") == "showing 2 of 2 matching tests (2 in all)"
    page.screenshot("passing-run")
    _clean(page)


@pytest.fixture
def failing_page(pytester: pytest.Pytester, gates: Gates, open_page: Any) -> tuple[Any, Any]:
    pytester.makepyfile(**FLAKY_AND_ORDER)
    html = pytester.path / "page.html"
    run = gates.run(f"--atom-gates-html={html}", "--atom-gates-order=file")
    return open_page(html), run


def test_a_failing_run_with_flaky_and_order_dependent_tests(failing_page: tuple[Any, Any]) -> None:
    page, run = failing_page
    assert page.text("#overall") == "FAIL"
    assert page.texts("nav a") == [
        "Gates",
        "Failures (2)",
        "Flaky (1)",
        "Order-dependent (1)",
        "Time",
        "All tests",
        "Run",
    ]
    folder = run.report_path.parent
    assert page.texts("#failures tbody tr") == [
        "test_a.py::test_broken failed in call, 3 attempts AssertionError: broken for good\n"
        f"traceback at {folder / 'test_a.py'}:5 in test_broken",
        "test_b.py::test_victim failed in call, 3 attempts AssertionError: someone ran before me "
        "order-dependent: see what it depends on\n"
        f"traceback at {folder / 'test_b.py'}:3 in test_victim",
    ]
    flaky = page.driver.find_element("css selector", "#flaky article")
    assert flaky.find_element("css selector", "h3").text == "test_b.py::test_flaky"
    segments = flaky.find_elements("css selector", ".timeline rect")
    assert [s.get_attribute("class") for s in segments] == ["o-failed", "o-passed"]
    assert [
        s.get_attribute("class") for s in flaky.find_elements("css selector", ".strip rect")
    ] == ["h-K"]
    assert (
        flaky.find_element("css selector", ".strip-label").text == "flaky in 1 of the last 1 runs"
    )
    order = page.driver.find_element("css selector", "#order article")
    assert order.find_element("css selector", "h3").text == "test_b.py::test_victim"
    command = next(c for c in run.report["order_checks"] if c["nodeid"] == "test_b.py::test_victim")
    assert order.find_element("css selector", ".command code").text == command["reproduce"]
    assert "test_a.py::test_pollutes" in order.text
    # What the polluter left in the process, as its replay's snapshots showed it.
    assert [li.text for li in order.find_elements("css selector", "ul.state li")] == [
        "leaves state.polluted: [] -> [1]"
    ]
    page.screenshot("failing-run-light")
    # No layout that needs a wide screen: at a phone's width nothing scrolls sideways.
    width, height = page.driver.get_window_size().values()
    page.driver.set_window_size(500, height)
    try:
        assert page.run(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;"
        )
        page.screenshot("failing-run-narrow")
    finally:
        page.driver.set_window_size(width, height)
    _clean(page)


def test_a_failures_traceback_unfolds_and_its_order_dependence_is_one_click_away(
    failing_page: tuple[Any, Any],
) -> None:
    page, run = failing_page
    broken, victim = page.driver.find_elements("css selector", "#failures tbody tr")
    traceback = broken.find_element("css selector", "details.failure")
    assert traceback.get_attribute("open") is None  # folded until asked
    assert not traceback.find_element("css selector", "pre").is_displayed()
    traceback.find_element("css selector", "summary").click()
    assert traceback.get_attribute("open") == "true"
    [test] = [t for t in run.report["tests"] if t["nodeid"] == "test_a.py::test_broken"]
    text = traceback.find_element("css selector", "pre").text
    assert text == test["attempts"][-1]["failure"]["traceback"]
    assert "E       AssertionError: broken for good" in text
    victim.find_element("css selector", "a.order-link").click()
    assert page.run("return location.hash;") == "#order-1"
    target = page.driver.find_element("css selector", "#order-1 h3")
    assert target.text == "test_b.py::test_victim"
    page.screenshot("failing-run-traceback")
    _clean(page)


def test_the_copy_button_copies_the_reproduce_command(failing_page: tuple[Any, Any]) -> None:
    page, run = failing_page
    page.run(
        "window.copiedText = null;"
        "navigator.clipboard.writeText = function (text) {"
        "  window.copiedText = text; return Promise.resolve(); };"
    )
    button = page.driver.find_element("css selector", "#order button.copy")
    button.click()
    command = next(c for c in run.report["order_checks"] if c["nodeid"] == "test_b.py::test_victim")
    assert page.run("return window.copiedText;") == command["reproduce"]
    assert button.text == "Copied"
    _clean(page)


def test_themes_switch_and_both_are_saved(failing_page: tuple[Any, Any]) -> None:
    page, _ = failing_page
    background = "return getComputedStyle(document.body).backgroundColor;"
    assert page.run(background) == "rgb(255, 255, 255)"
    theme = page.driver.find_element("css selector", "#theme")
    assert theme.text == "Dark theme"
    theme.click()
    assert page.run("return document.documentElement.dataset.theme;") == "dark"
    assert page.run(background) == "rgb(13, 17, 23)"
    assert theme.text == "Light theme"
    page.screenshot("failing-run-dark")
    theme.click()
    assert page.run(background) == "rgb(255, 255, 255)"
    _clean(page)


MANY = """
import pytest

@pytest.mark.parametrize("n", range(10_000))
def test_many(n):
    assert n % 1000 != 7
"""


def test_ten_thousand_tests_filter_and_search(
    pytester: pytest.Pytester, gates: Gates, open_page: Any
) -> None:
    pytester.makepyfile(test_many=MANY)
    html = pytester.path / "page.html"
    gates.run(f"--atom-gates-html={html}", "--atom-gates-mode=TQ-01:off", "-q")
    assert html.stat().st_size < 2_000_000
    page = open_page(html)
    shown = "#shown"
    assert page.text(shown) == "showing 500 of 10000 matching tests (10000 in all)"
    assert len(page.texts("#all-tests tbody tr")) == 500
    filters = page.driver.find_elements("css selector", "button.filter")
    assert [f.text for f in filters] == ["all 10000", "failed 10", "passed 9990"]
    filters[1].click()
    assert page.text(shown) == "showing 10 of 10 matching tests (10000 in all)"
    assert filters[1].get_attribute("aria-pressed") == "true"
    assert page.texts("#all-tests tbody tr td.o") == ["failed"] * 10
    filters[0].click()
    # The keyboard: "/" goes to the search box; Escape empties it.
    body = page.driver.find_element("css selector", "body")
    body.send_keys("/")
    search = page.driver.switch_to.active_element
    assert search.get_attribute("id") == "search"
    search.send_keys("many[5")
    page.driver.implicitly_wait(0)
    _wait_for(page, shown, "showing 500 of 1111 matching tests (10000 in all)")
    more = page.driver.find_element("css selector", "#more")
    assert more.text == "Show 500 more"
    more.click()
    assert len(page.texts("#all-tests tbody tr")) == 1000
    search.send_keys("\ue00c")  # Escape
    assert page.text(shown) == "showing 500 of 10000 matching tests (10000 in all)"
    page.screenshot("ten-thousand-tests")
    _clean(page)


def _wait_for(page: Any, css: str, text: str) -> None:
    """The search waits for typing to pause (60 ms) before it filters."""
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(page.driver, 5).until(lambda _: page.text(css) == text)
