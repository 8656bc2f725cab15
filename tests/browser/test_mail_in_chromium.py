"""Every fixture's mail, laid out by a real browser (headless Chromium) at a phone's and a reading pane's width.

What is asserted is what a reader notices: nothing wider than the screen (a phone would scroll
sideways), the facts that matter laid out inside it, text that keeps its contrast in dark mode,
and mails that do not grow with every label an alert group shares. One Chromium serves the whole
session (tests/helpers/chromium.py); Debian's ``chromium`` package provides it (.ci/run).
"""

from __future__ import annotations

import copy
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.mail.rendering import Renderer
from shared.settings.routes import Route
from shared.sources import alertmanager
from shared.sources.base import HookRequest
from tests.browser.gallery import DATA, Specimen, specimens
from tests.helpers.chromium import DESKTOP_WIDTH_PX, PHONE_WIDTH_PX, Chromium, chromium_path
from tests.helpers.png import quantize

ROOT = Path(__file__).resolve().parents[2]

SPECIMENS = {specimen.name: specimen for specimen in specimens()}

# The lowest contrast of any text against what is behind it, as WCAG 2 computes it
# (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio); 4.5 is level AA for body text.
_CONTRAST_JS = """
(() => {
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
  const rgba = (text) => (text.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const colour = rgba(getComputedStyle(e).backgroundColor);
      if (colour.length < 4 || colour[3] > 0) return colour;
    }
    return [255, 255, 255];
  };
  let worst = {ratio: 99, text: ''};
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.trim()) continue;
    const element = node.parentElement;
    const [a, b] = [luminance(rgba(getComputedStyle(element).color)), luminance(background(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst.ratio) worst = {ratio, text: node.data.trim().slice(0, 60)};
  }
  return worst;
})()
"""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is needed for the browser tests: apt-get install chromium (.ci/run does)")
    with Chromium(executable) as browser:
        yield browser


@pytest.mark.parametrize("width_px", [PHONE_WIDTH_PX, DESKTOP_WIDTH_PX])
@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_every_mail_fits_the_screen_and_shows_its_key_facts(chromium: Chromium, name: str, width_px: int) -> None:
    specimen = SPECIMENS[name]
    chromium.load(specimen.html, width_px=width_px)
    measured = chromium.measure(specimen.expected_texts())
    assert measured.overflow_px == 0, f"{name} is {measured.scroll_width_px} px wide at {width_px} px"
    assert measured.missing == [], f"not visible at {width_px} px: {measured.missing}"


# Stored deliveries a source answers without a mail: pings, and events it ignores with a reason.
NOT_MAILED = {
    "github/ping",
    "pagerduty/pagey.ping",
    "pagerduty/service.updated",
    "sentry/installation.created",
}


def test_there_is_a_mail_for_every_stored_delivery() -> None:
    """A fixture that silently stopped rendering would drop out of every test above."""
    stored = {f"{path.parent.name}/{path.stem}" for path in DATA.glob("*/*.json") if path.parent.name != "schemas"}
    assert set(SPECIMENS) == stored - NOT_MAILED


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize(
    "name", ["alertmanager/firing-truncated", "grafana/default-message", "azure-monitor/service-health-resolved"]
)
def test_text_keeps_its_contrast_in_light_and_dark_mode(chromium: Chromium, name: str, dark: bool) -> None:
    chromium.load(SPECIMENS[name].html, width_px=PHONE_WIDTH_PX, dark=dark)
    worst = chromium.evaluate(_CONTRAST_JS)
    # 3:1 is WCAG's floor for large and bold text, which the coloured status words are.
    assert worst["ratio"] >= 3.0, f"{worst['text']!r} has a contrast of {worst['ratio']:.2f}:1"
    if dark:
        card = chromium.evaluate("getComputedStyle(document.querySelector('.mh-card')).backgroundColor")
        assert card == "rgb(22, 27, 34)", "the dark palette applies where a client honours prefers-color-scheme"


# The left edge of each key/value table's value column, per table width: tables as wide as each
# other must start their values at the same x, or the eye zigzags down the mail.
_VALUE_COLUMNS_JS = """
(() => {
  const columns = {};
  for (const table of document.querySelectorAll('table.mh-kv')) {
    const box = table.getBoundingClientRect();
    const cell = table.rows[0] && table.rows[0].cells[1];
    if (!cell) continue;
    const key = `${Math.round(box.left)}+${Math.round(box.width)}`;
    (columns[key] = columns[key] || []).push(Math.round(cell.getBoundingClientRect().left));
  }
  return columns;
})()
"""


@pytest.mark.parametrize("width_px", [PHONE_WIDTH_PX, DESKTOP_WIDTH_PX])
@pytest.mark.parametrize(
    "name", ["alertmanager/firing-truncated", "grafana/firing", "azure-monitor/metric-multi-criteria-fired"]
)
def test_key_value_tables_start_their_values_at_one_x(chromium: Chromium, name: str, width_px: int) -> None:
    chromium.load(SPECIMENS[name].html, width_px=width_px)
    columns = chromium.evaluate(_VALUE_COLUMNS_JS)
    assert sum(len(lefts) for lefts in columns.values()) >= 2, "a mail with several tables"
    assert all(len(set(lefts)) == 1 for lefts in columns.values()), columns


def grouped_mail(alert_count: int) -> Specimen:
    """Alertmanager's grouped fixture with ``alert_count`` alerts that differ only by instance."""
    document = json.loads((DATA / "alertmanager" / "firing-grouped.json").read_text())
    first = document["alerts"][0]
    document["alerts"] = []
    for number in range(alert_count):
        alert = copy.deepcopy(first)
        alert["labels"] |= {"instance": f"web-{number}:9100", "job": "node", "team": "platform", "region": "eu"}
        alert["annotations"]["description"] = f"web-{number}:9100 uses {90 + number % 10}.4% of its memory."
        alert["fingerprint"] = f"{number:016x}"
        document["alerts"].append(alert)
    notification = alertmanager.to_notification(HookRequest("alertmanager", document, {}))
    mail = Renderer(None).render(notification, Route())
    return Specimen(f"grouped-{alert_count}", "alertmanager", notification, mail.body, mail.subject)


def test_a_group_grows_by_a_row_per_alert_not_by_its_common_labels(chromium: Chromium) -> None:
    """Measured at 390 px before the summary layout, on these very mails: 3 alerts 1,574 px, 12
    alerts 5,271 px (410 px per alert, each repeating every label of the group); after: 1,041 and
    2,788 (194 px per alert: its summary row and its description)."""
    heights = {}
    for alert_count in (3, 12):
        specimen = grouped_mail(alert_count)
        chromium.load(specimen.html, width_px=PHONE_WIDTH_PX)
        measured = chromium.measure(["web-0:9100", f"web-{alert_count - 1}:9100", "Labels of all alerts"])
        assert measured.missing == []
        assert measured.text.count("platform") == 1, "a label all alerts share is shown once"
        heights[alert_count] = measured.height_px
    assert heights[3] <= 1100, heights
    assert (heights[12] - heights[3]) / 9 <= 220, f"px per alert: {heights}"


def test_the_readme_pictures_are_indexed_pngs_of_what_chromium_shows(chromium: Chromium, tmp_path: Path) -> None:
    shot = tmp_path / "mail.png"
    chromium.load(SPECIMENS["grafana/default-message"].html, width_px=PHONE_WIDTH_PX)
    chromium.screenshot(shot, width_px=PHONE_WIDTH_PX, max_height_px=600)
    truecolour = shot.stat().st_size
    quantize(shot)
    data = shot.read_bytes()
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour_type) == (PHONE_WIDTH_PX, 600, 8, 3), "indexed, cut to 600 px"
    assert shot.stat().st_size < truecolour / 2
    for committed in (ROOT / "docs" / "images").glob("*.png"):
        assert committed.read_bytes()[25] == 3 and committed.stat().st_size < 60_000, committed.name
