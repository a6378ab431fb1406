"""The offline HTML report: escaped, self-contained, truthful about its data, and rendered by
headless Chromium at a laptop's and a phone's width."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from flows.sample import sample_article, write_sample
from tests.conftest import ROOT
from tests.helpers import catalog, run
from tests.servers import BIN
from warehouse.report import NARROW_TICKS, WIDE_TICKS, _axis_ticks, lake_zone, report_data, report_html

HOSTILE = "<script>alert(1)</script>"
NEWEST = dt.date(2023, 1, 1)  # the hostile article's date: the newest not in the future
PANELS = ("per-day", "stories", "companies", "keywords", "quality", "boilerplate", "quarantine", "editors",
          "lengths", "run-rows", "runs", "latest")  # fmt: skip


def _render(lake: Path, out: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "newslake"), "report", "--lake", str(lake), "--out", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_sample(root / "src", 60)
    name, data = sample_article(999)
    data = re.sub(rb"\ndate: [^\n]*", b"\ndate: 2023-01-01 00:00:00", data, count=1)  # newest: listed first
    (root / "src" / name).write_bytes(data.replace(b"title: ", f"title: '{HOSTILE}' #".encode(), 1))
    (root / "src" / "broken.md").write_bytes(b"<p>no front matter</p>")
    copied = sample_article(3)[1].replace(b"title: '", "title: '转载：".encode(), 1)
    (root / "src" / "copy.md").write_bytes(copied)  # another feed's copy: one story of two
    future = re.sub(rb"\ndate: [^\n]*", b"\ndate: 2090-06-01 08:00:00", sample_article(1000)[1], count=1)
    (root / "src" / "future.md").write_bytes(future)  # one article from the future shrinks no chart
    run(root / "src", root / "lake")
    return root / "lake"


@pytest.fixture(scope="module")
def report(lake: Path) -> Path:
    out = lake.parent / "report.html"
    _render(lake, out, "--days", "10000")
    return out


def _slots(page: str) -> list[tuple[dt.date, int]]:
    return [
        (dt.date.fromisoformat(d), int(n))
        for d, n in re.findall(r'<rect class="slot" data-date="([\d-]+)" data-articles="(\d+)"', page)
    ]


def test_article_text_is_escaped(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_page_loads_nothing_from_the_network(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # the CSP forbids any fetch
    assert "<script" not in page and "script-src" not in page  # and any script: the page is static


def test_every_panel_is_there(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    for key in PANELS:
        assert f'<section class="wide" id="{key}">' in page or f'<section id="{key}">' in page, key
    assert "missing_front_matter" in page and "No data." not in page
    copied = page[page.index('id="stories"') :].split("</table>")[0].split("</tr>")[1]
    assert "转载" not in copied and "<td class=num>2</td>" in copied  # the first copy, of two


def test_the_chart_has_a_slot_for_every_day_of_the_data(report: Path, lake: Path) -> None:
    page = report.read_text(encoding="utf-8")
    with catalog(lake) as con:
        first, dated, undated = con.execute(
            "SELECT min(published_date) FILTER (WHERE published_at <= now()), "
            "count(*) FILTER (WHERE published_at <= now()), count(*) FILTER (WHERE published_date IS NULL) "
            "FROM articles"
        ).fetchall()[0]
    slots = _slots(page)
    days = (NEWEST - first).days + 1
    assert [d for d, _ in slots] == [first + dt.timedelta(days=i) for i in range(days)]  # no day skipped
    assert f'data-days="{days}"' in page and f"all {days} days, {first} to {NEWEST}" in page
    assert sum(n for _, n in slots) == dated  # every dated article, each once
    assert sum(1 for _, n in slots if n == 0) > days // 2  # empty days are there, as zeros
    assert f"{dated} articles in the chart" in page
    assert f"{undated} undated" in page and undated > 0
    assert "1 dated after the report&#x27;s time" in page  # 2090: counted beside the chart, not in it


def test_a_window_shorter_than_the_data_says_what_it_leaves_out(lake: Path, tmp_path: Path) -> None:
    page = _render(lake, tmp_path / "report.html", "--days", "30")
    slots = _slots(page)
    start = NEWEST - dt.timedelta(days=29)
    assert [d for d, _ in slots] == [start + dt.timedelta(days=i) for i in range(30)]
    with catalog(lake) as con:
        sql = "SELECT count(*) FROM articles WHERE published_date < ?"
        (older,) = con.execute(sql, [start]).fetchall()[0]
    assert f"last 30 days to {NEWEST}" in page and f"{older} before the window" in page and older > 0
    assert page.count('class="tick ') >= 2  # dated tick labels


def test_times_are_shown_in_the_lakes_zone(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "(times in Asia/Shanghai, the lake&#x27;s zone)" in page
    latest = page[page.index('id="latest"') :]
    first_row = latest.split("</tr>")[1]
    assert "2023-01-01 00:00" in first_row  # read in Asia/Shanghai and shown there: not 2022-12-31 16:00
    assert "2090" not in latest  # dated after the report's time: not the latest article


def test_the_zone_is_the_one_the_catalog_records() -> None:
    con = duckdb.connect()
    con.execute("CREATE VIEW newslake_lake AS SELECT '/lake' AS lake_uri")  # a catalog from before tz
    assert lake_zone(con) is None
    con.execute("CREATE OR REPLACE VIEW newslake_lake AS SELECT '/lake' AS lake_uri, 'Europe/Paris' AS tz")
    assert lake_zone(con) == "Europe/Paris"
    con.execute("CREATE OR REPLACE VIEW newslake_lake AS SELECT '/lake' AS lake_uri, 'Mars/Olympus' AS tz")
    assert lake_zone(con) is None  # shown in UTC, and said so, rather than failing


def test_an_empty_lake_explains_every_panel(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    run(tmp_path / "src", tmp_path / "lake")
    with catalog(tmp_path / "lake") as con:
        data = report_data(con, 60, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    page = report_html(data)
    assert "No data." not in page
    for key in PANELS:
        section = page[page.index(f'id="{key}"') :].split("</section>")[0]
        if key not in ("lengths", "runs", "run-rows"):  # a histogram of zeros; the run is recorded
            assert '<p class="empty">' in section, key
    assert "there is no day to chart" in page


@pytest.mark.parametrize("days", [1, 2, 7, 13, 31, 45, 60, 92, 200, 366, 540, 1000, 3650, 36600])
def test_axis_labels_fit_any_window(days: int) -> None:
    for start in (dt.date(2021, 1, 2), dt.date(2020, 2, 29), dt.date(2019, 12, 31)):
        for most in (WIDE_TICKS, NARROW_TICKS):
            ticks, marks = _axis_ticks(start, days, most)
            positions = [pos for pos, _ in ticks]
            assert 1 <= len(ticks) <= most and positions == sorted(positions)
            assert all(0 <= pos <= days for pos in positions + marks)


# What the page looks like in a browser, measured: page width, chart slots, visible tick labels.
_MEASURE = """(() => {
  const box = e => e.getBoundingClientRect();
  const shown = e => getComputedStyle(e).display !== 'none';
  const plot = box(document.querySelector('.plot'));
  const ticks = [...document.querySelectorAll('.xaxis .tick')].filter(shown).map(e => {
    const r = box(e); return {text: e.textContent, left: r.left, right: r.right};
  });
  return {
    width: innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    widest: Math.max(...[...document.querySelectorAll('section, h1, .kpis, .legend')].map(e => box(e).right)),
    days: +document.querySelector('.chart').dataset.days,
    slots: document.querySelectorAll('rect.slot').length,
    plot: {left: plot.left, right: plot.right, height: plot.height},
    ticks: ticks,
    fontSize: parseFloat(getComputedStyle(document.querySelector('.tick')).fontSize),
  };
})()"""


@pytest.mark.parametrize("width", [1280, 390])
def test_it_renders_in_headless_chromium(report: Path, tmp_path: Path, width: int) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    from tests.browser import Browser

    with Browser() as browser:
        browser.open(report.as_uri(), width)
        m = browser.evaluate(_MEASURE)
        shot = tmp_path / f"report-{width}.png"
        browser.screenshot(shot, 1400)
        assert browser.errors == []
    assert m["width"] == width  # laid out at the phone's width, not Chromium's 500 px minimum window
    assert m["scrollWidth"] <= width and m["widest"] <= width, m  # nothing sticks out sideways
    assert m["slots"] == m["days"] > 100  # a slot for every day of the window
    assert m["plot"]["right"] - m["plot"]["left"] > width * 0.6 and m["plot"]["height"] >= 150
    ticks = m["ticks"]
    assert 2 <= len(ticks) <= (WIDE_TICKS if width > 600 else NARROW_TICKS), ticks
    assert all(t["text"] for t in ticks) and m["fontSize"] >= 10  # labels, legible
    for a, b in itertools.pairwise(ticks):
        assert a["right"] + 4 <= b["left"], (a, b)  # no label overlaps the next
    assert all(t["left"] >= 0 and t["right"] <= width for t in ticks)
    assert shot.stat().st_size > 20_000  # a page with content, not a blank screen
