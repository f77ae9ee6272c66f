"""The station on a 10-inch tablet held upright (800 × 1280): one column with the start checks
and the start button in view, no horizontal scrolling, no word split across lines, success shown
in green (never the error red), labels from the config, and each gate beside the field it
checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import WAIT_MS, sign_in_browser
from flask import Flask
from pages_support import release_unit
from playwright.sync_api import Browser, Page, expect
from testdata import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]

ERROR_RED = "rgb(180, 35, 24)"  # --bad in ferrule.css
GOOD_GREEN = "rgb(6, 118, 71)"  # --good

# words a line break splits: a word whose text spans more than one line box
SPLIT_WORDS = """() => {
  const split = [];
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const drawn = [...range.getClientRects()].filter(r => r.width > 0);
      const tops = new Set(drawn.map(r => Math.round(r.top)));
      if (tops.size > 1) { split.push(match[0]); }
    }
  }
  return split;
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def upright(browser: Browser) -> Iterator[Page]:
    """A tab the size of a 10-inch tablet held upright."""
    context = browser.new_context(viewport={"width": 800, "height": 1280})
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not drawn"
    return dict(box)


def test_the_station_stacks_into_one_column_on_an_upright_tablet(
    upright: Page, live_url: str, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    sign_in_browser(upright, live_url, "anna", PASSWORD)
    upright.goto(f"{live_url}/station/{unit}")
    panel, instructions = _box(upright, "#panel"), _box(upright, ".instructions")
    assert panel["x"] == instructions["x"] and panel["width"] == instructions["width"]
    assert panel["y"] < instructions["y"]  # the start checks first
    start = upright.locator("button:has-text('Start cut')")
    expect(start).to_be_in_viewport()
    box = _box(upright, "button:has-text('Start cut')")
    assert box["y"] + box["height"] <= 1280
    assert upright.evaluate(OVERFLOW) == 0
    assert upright.evaluate(SPLIT_WORDS) == []

    with upright.expect_navigation():
        start.click()
    strip = upright.locator("label[for='field-strip_length']")
    expect(strip).to_contain_text("Strip length (each end)")  # the label from the config
    expect(upright.locator("label[for='field-length']")).to_contain_text("length")  # fallback
    gate = upright.locator(".field:has(#field-length) [data-gate='cut length']")
    expect(gate).to_have_text(
        "Gate cut length: length between 499.5 mm and 500.5 mm · on fail: hold"
    )
    field, beside = _box(upright, ".field:has(#field-length)"), _box(upright, "[data-gate]")
    assert (
        field["y"] <= beside["y"] and beside["y"] + beside["height"] <= field["y"] + field["height"]
    )
    assert upright.evaluate(OVERFLOW) == 0
    assert upright.evaluate(SPLIT_WORDS) == []

    upright.fill("#field-length", "500")
    upright.fill("#field-strip_length", "7")
    upright.fill("input[name='consume-WIRE-18-RD-0']", "W-001")
    with upright.expect_navigation():
        upright.click("button:has-text('Complete cut')")
    outcome = upright.locator("[data-outcome]")
    expect(outcome).to_have_text("Next: crimp")
    colour = outcome.evaluate("element => getComputedStyle(element).color")
    assert (colour, colour != ERROR_RED) == (GOOD_GREEN, True)
    expect(upright.locator("button:has-text('Start crimp')")).to_be_in_viewport()
    names = upright.locator("#panel [data-check]")
    expect(names.first).to_be_attached()
    assert "Press pressure is outside its 60–80 bar window" in [
        names.nth(i).get_attribute("data-check") for i in range(names.count())
    ]
    assert upright.evaluate(OVERFLOW) == 0
    assert upright.evaluate(SPLIT_WORDS) == []
