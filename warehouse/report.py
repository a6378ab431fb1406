"""`newslake report`: a self-contained, offline HTML dashboard of the lake (inline SVG and CSS, no CDN).

What it shows is what the lake holds, said plainly: the per-day chart has a slot for every day of
its window (an empty day is a zero, not a missing bar), states its window, and counts beside it the
articles it leaves out (undated, dated after the report's time, older than the window). A panel
with nothing to show says why in one sentence. Times are shown in the lake's zone (the zone its
naive dates were read in and published_date counts days in).

Every string from the data is escaped with html.escape before it reaches the page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#64748b"]
LENGTH_BUCKETS = [(0, 1, "empty"), (1, 200, "1–199"), (200, 500, "200–499"), (500, 1000, "500–999"),
                  (1000, 2000, "1k–2k"), (2000, 5000, "2k–5k"), (5000, 10**9, "5k+")]  # fmt: skip
CHART_FEEDS = 7  # the largest feeds of the window get a colour each; the rest are "other"
OTHER = "other feeds"
# How many tick labels fit the chart's axis: a laptop's width and a phone's (CSS picks one set).
WIDE_TICKS, NARROW_TICKS = 12, 5


@dataclass
class DayWindow:
    """The per-day chart: every day from start to end is a slot, and what was left out of it."""

    start: dt.date | None = None  # None: no dated article at or before the report's time
    end: dt.date | None = None
    days_asked: int = 0  # the --days of the report (set by _day_window)
    counts: dict[dt.date, dict[str, int]] = field(default_factory=dict)  # day -> feed -> articles
    first_dated: dt.date | None = None  # the oldest dated article's day (not in the future)
    older: int = 0  # dated articles before the window
    undated: int = 0
    future: int = 0  # dated after the report's time

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1 if self.start and self.end else 0

    @property
    def covers_all(self) -> bool:
        return self.start is not None and self.start == self.first_dated

    @property
    def shown(self) -> int:
        return sum(sum(v.values()) for v in self.counts.values())

    def description(self) -> str:
        """'all 540 days, 2021-01-02 to 2022-06-25' or 'last 60 days to 2022-06-25'."""
        if not self.start or not self.end:
            return "no day"
        if self.covers_all:
            span = f"{self.start} to {self.end}" if self.days > 1 else f"{self.end}"
            return f"all {self.days} day{'s' if self.days > 1 else ''}, {span}"
        return f"last {self.days} days to {self.end}"


@dataclass
class ReportData:
    tz: str = "UTC"  # the zone times and days are shown in
    lake_tz: str | None = (
        None  # the zone published_date counts days in; None: not recorded (an older catalog)
    )
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    totals: dict[str, Any] = field(default_factory=dict)
    window: DayWindow = field(default_factory=DayWindow)
    stories: dict[str, int] = field(default_factory=dict)  # stories, articles, copied, copies
    copied: list[dict[str, Any]] = field(default_factory=list)  # the stories with the most copies
    companies: list[tuple[str, int]] = field(default_factory=list)  # (code and name as written, articles)
    stock_articles: int = 0
    keywords: list[tuple[str, int]] = field(default_factory=list)  # in the chart's window
    quality: list[dict[str, Any]] = field(default_factory=list)  # per feed
    quarantine: list[tuple[str, int]] = field(default_factory=list)
    files_seen: int = 0
    boilerplate: list[dict[str, Any]] = field(default_factory=list)
    boilerplate_feeds: int = 0
    top_editors: list[tuple[str, int]] = field(default_factory=list)
    lengths: list[tuple[str, int]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    latest: list[dict[str, Any]] = field(default_factory=list)


def lake_zone(con: duckdb.DuckDBPyConnection) -> str | None:
    """The zone the lake's rows were made in, as its catalog records it (None: not recorded)."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'newslake_lake' AND column_name = 'tz'"
    ).fetchall()[0][0]
    if not found:
        return None
    tz = con.execute("SELECT tz FROM newslake_lake").fetchall()[0][0]
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return str(tz) if tz else None


def _feed_label(source: str | None, feed: str | None) -> str:
    return f"{source or '?'} / {feed or '?'}"


def _local(value: Any, zone: ZoneInfo) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM' in zone; '' for NULL."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _day_window(con: duckdb.DuckDBPyConnection, days: int, now: dt.datetime) -> DayWindow:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql, [now]).fetchall()

    window = DayWindow(days_asked=days)
    window.undated, window.future = rows(
        "SELECT count(*) FILTER (WHERE published_date IS NULL), "
        "count(*) FILTER (WHERE published_date IS NOT NULL AND published_at > $1) FROM articles"
    )[0]
    per_day = rows(
        "SELECT published_date, source, feed, count(*) FROM articles "
        "WHERE published_date IS NOT NULL AND published_at <= $1 GROUP BY ALL"
    )
    if not per_day:
        return window
    window.first_dated = min(d for d, _, _, _ in per_day)
    window.end = max(d for d, _, _, _ in per_day)
    # by default the window covers the data: it never starts before the first article
    window.start = max(window.first_dated, window.end - dt.timedelta(days=days - 1))
    for day, source, feed, n in per_day:
        if day < window.start:
            window.older += n
            continue
        label = _feed_label(source, feed)
        slot = window.counts.setdefault(day, {})
        slot[label] = slot.get(label, 0) + n
    return window


def report_data(
    con: duckdb.DuckDBPyConnection, days: int, now: dt.datetime | None = None, tz: str | None = None
) -> ReportData:
    """Everything the page shows, read from the catalog's views. now: the report's time (articles
    dated after it are left out of the chart); tz: the zone to show times in (default: the lake's)."""

    def rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return con.execute(sql, params or []).fetchall()

    def dicts(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    now = now or dt.datetime.now(dt.UTC)
    recorded = lake_zone(con)
    zone_name = tz or recorded or "UTC"
    zone = ZoneInfo(zone_name)
    totals = rows(
        "SELECT count(*), count(DISTINCT concat_ws('/', source, feed)), min(published_date), "
        "max(published_date), count(*) FILTER (WHERE missing_date), count(DISTINCT story_id) FROM articles"
    )[0]
    quarantined = rows("SELECT count(*) FROM quarantine")[0][0]
    data = ReportData(
        tz=zone_name,
        lake_tz=recorded,
        generated_at=now,
        totals={
            "articles": totals[0],
            "stories": totals[5],
            "feeds": totals[1],
            "first date": str(totals[2] or "–"),
            "last date": str(totals[3] or "–"),
            "undated": totals[4],
            "quarantined": quarantined,
        },
    )
    data.window = _day_window(con, days, now)

    # stories: the copies of one text across feeds
    stories = rows(
        "SELECT count(*), count(*) FILTER (WHERE copies > 1), sum(copies) FILTER (WHERE copies > 1) FROM stories"
    )
    data.stories = {
        "stories": stories[0][0],
        "copied": stories[0][1],
        "copies": stories[0][2] or 0,
        "articles": totals[0],
    }
    data.copied = [
        {
            "first published": _local(r["first_published_at"], zone),
            "first feed": _feed_label(r["first_source"], r["first_feed"]),
            "title": r["title"],
            "copies": r["copies"],
            "feeds": r["feeds"],
        }
        for r in dicts(
            "SELECT first_published_at, first_source, first_feed, title, copies, "
            "array_to_string(feeds, ', ') AS feeds FROM stories WHERE copies > 1 "
            "ORDER BY copies DESC, first_published_at DESC NULLS LAST, story_id LIMIT 10"
        )
    ]

    # companies: stock codes with the name they were written with, where the text names one
    written: dict[str, Counter[str]] = {}
    counts: Counter[str] = Counter()
    for code, text, n in rows(
        "SELECT stock_code, mention_text, count(DISTINCT article_id) FROM article_stocks GROUP BY ALL"
    ):
        counts[str(code)] += n
        name = re.split(r"[（(]", str(text or ""), maxsplit=1)[0].strip()  # 梅花生物（600873.SH）
        if name and name.lower() != str(code):
            written.setdefault(str(code), Counter())[name] += n
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:15]:
        name = written[code].most_common(1)[0][0] if code in written else ""
        data.companies.append((f"{code} {name}".strip(), n))
    data.stock_articles = rows("SELECT count(DISTINCT article_id) FROM article_stocks")[0][0]

    if data.window.start and data.window.end:
        data.keywords = [
            (str(k), n)
            for k, n in rows(
                "SELECT keyword, count(DISTINCT article_id) n FROM (SELECT article_id, published_at, "
                "unnest(keywords) AS keyword FROM articles WHERE published_date BETWEEN $1 AND $2) "
                "WHERE published_at <= $3 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15",
                [data.window.start, data.window.end, now],
            )
        ]

    data.quality = dicts(
        "SELECT concat_ws(' / ', coalesce(source, '?'), coalesce(feed, '?')) AS feed, count(*) AS articles, "
        'count(*) FILTER (WHERE empty_body) AS "empty body", count(*) FILTER (WHERE missing_date) AS undated, '
        'count(*) FILTER (WHERE published_at > $1) AS "dated in future", '
        'count(*) FILTER (WHERE blank_title) AS "blank title", '
        'count(*) FILTER (WHERE front_matter_recovered) AS "YAML recovered", '
        'count(*) FILTER (WHERE non_utf8) AS "not UTF-8" '
        'FROM articles GROUP BY 1 ORDER BY ("empty body" + undated + "dated in future" + "blank title" '
        '+ "YAML recovered" + "not UTF-8") DESC, articles DESC, feed',
        [now],
    )
    data.quarantine = [
        (str(r), n) for r, n in rows("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC, 1")
    ]
    data.files_seen = totals[0] + quarantined

    data.boilerplate = [
        {
            "feed": _feed_label(r["source"], r["feed"]),
            "line": r["line"],
            "articles": f"{r['articles']} of {r['feed_articles']} ({r['share']:.0%})",
        }
        for r in dicts(
            "SELECT source, feed, line, articles, feed_articles, share FROM boilerplate "
            "ORDER BY articles DESC, share DESC, source, feed, line LIMIT 12"
        )
    ]
    data.boilerplate_feeds = rows("SELECT count(DISTINCT concat_ws('/', source, feed)) FROM boilerplate")[0][
        0
    ]

    data.top_editors = [(str(e), n) for e, n in rows(
        "SELECT editor, sum(articles) AS n FROM editor_stats GROUP BY 1 ORDER BY n DESC, editor LIMIT 15")]  # fmt: skip
    lengths = dict(rows(
        "SELECT CASE " + " ".join(f"WHEN char_count < {hi} THEN '{label}'" for _, hi, label in LENGTH_BUCKETS)
        + " END AS bucket, count(*) FROM articles GROUP BY 1"))  # fmt: skip
    data.lengths = [(label, lengths.get(label, 0)) for _, _, label in LENGTH_BUCKETS]
    data.runs = [
        {
            "started": _local(r["started_at"], zone),
            "status": r["status"],
            "files seen": r["files_seen"],
            "rows written": r["rows_written"],
            "rows deleted": r["rows_deleted"],
            "quarantined": r["quarantined"],
            "partitions": r["partitions_rewritten"],
            "seconds": round(r["seconds"], 1),
            "run id": r["run_id"],
        }
        for r in dicts(
            "SELECT run_id, started_at, status, files_seen, rows_written, rows_deleted, quarantined, "
            "partitions_rewritten, seconds FROM runs ORDER BY started_at DESC LIMIT 20"
        )
    ]
    data.latest = [
        {
            "published": _local(r["published_at"], zone),
            "feed": _feed_label(r["source"], r["feed"]),
            "title": r["title"],
            "chars": r["char_count"],
        }
        for r in dicts(
            "SELECT published_at, source, feed, title, char_count FROM articles WHERE published_at <= $1 "
            "ORDER BY published_at DESC, article_id LIMIT 12",
            [now],
        )
    ]
    return data


# ---- rendering


_NO_RUN = "No run is recorded in the lake."
# What a section says when it has nothing to show, by its key (the sections whose sentence
# depends on the lake say it themselves).
_NOTHING_TO_SHOW = {
    "companies": "No article mentions a stock code: codes come from Sina's stock markup, a code written "
    "after a company's name, a cashtag or a quote link, or the names of a list given with --securities.",
    "keywords": "No article in the chart's window has a keyword (keywords come from its title and "
    "opening text).",
    "boilerplate": "No boilerplate learned: no feed repeats a line across enough of its articles to take "
    "it out of their text.",
    "editors": "No article names a responsible editor: only Sina finance feeds carry that line (责任编辑).",
    "run-rows": _NO_RUN,
    "runs": _NO_RUN,
    "latest": "No article has a date at or before the report's time.",
}


def _section(title: str, body: str | None, wide: bool = False, key: str = "") -> str:
    """A panel; body None: the sentence _NOTHING_TO_SHOW has for its key."""
    attrs = (' class="wide"' if wide else "") + (f' id="{key}"' if key else "")
    shown = _empty(_NOTHING_TO_SHOW[key]) if body is None else body
    return f"<section{attrs}><h2>{escape(title)}</h2>{shown}</section>"


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _empty(sentence: str) -> str:
    return f'<p class="empty">{escape(sentence)}</p>'


def _bars(items: list[tuple[str, int]], color: str = PALETTE[0]) -> str:
    """A horizontal bar chart in HTML: labels and values stay legible at any width."""
    top = max((n for _, n in items), default=0) or 1
    rows = "".join(
        f'<div class="bar"><span class="label" title="{escape(label)}">{escape(label)}</span>'
        f'<span class="track"><i style="width:{100 * n / top:.1f}%;background:{color}"></i></span>'
        f'<span class="n">{n}</span></div>'
        for label, n in items
    )
    return f'<div class="bars">{rows}</div>'


_TEXT_COLUMNS = frozenset({"title", "feeds", "line", "feed"})  # wrapped, but never narrower than a few words
_TIME_COLUMNS = frozenset({"started", "published", "first published"})  # never wrapped


def _table(rows: list[dict[str, Any]], numeric: frozenset[str] = frozenset()) -> str:
    """A table that scrolls sideways in its panel when a phone is too narrow for it."""

    def cls(key: str) -> str:
        if key in numeric:
            return " class=num"
        return " class=text" if key in _TEXT_COLUMNS else " class=when" if key in _TIME_COLUMNS else ""

    head = "".join(f"<th{cls(k)}>{escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(k)}>{escape('' if v is None else str(v))}</td>" for k, v in r.items())
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _nice_step(top: int) -> int:
    """A step of 1, 2 or 5 times a power of ten giving at most four gridlines up to top."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if top <= 4 * step * m:
                return step * m
        step *= 10


_TICK_RULES = ("day", "week", "semimonth", "month", "quarter", "year")


def _ticks(start: dt.date, n: int, rule: str) -> list[tuple[float, str]]:
    """(position in day slots from the window's start, label) of the rule's ticks in the window."""
    out: list[tuple[float, str]] = []
    first = True
    for i in range(n):
        day = start + dt.timedelta(days=i)
        if rule == "day" or (rule == "week" and day.weekday() == 0):
            with_year = first or (day.month == 1 and day.day <= 7)
            out.append((i + 0.5, day.strftime("%Y-%m-%d" if with_year else "%m-%d")))
        elif rule == "semimonth" and day.day == 16:
            out.append((float(i), day.strftime("%b 16 %Y" if first else "%b 16")))
        elif (
            (rule in ("month", "semimonth") and day.day == 1)
            or (rule == "quarter" and day.day == 1 and day.month in (1, 4, 7, 10))
            or (rule == "year" and day.day == 1 and day.month == 1)
        ):
            label = (
                day.strftime("%Y")
                if rule == "year"
                else day.strftime("%b %Y" if first or day.month == 1 else "%b")
            )
            out.append((float(i), label))
        else:
            continue
        first = False
    return out


def _axis_ticks(start: dt.date, n: int, most: int) -> tuple[list[tuple[float, str]], list[float]]:
    """The labelled ticks of the finest rule that fits (at most `most` labels; a year rule may give
    none), and unlabelled marks of the rule finer than that one when they are not too dense."""
    finer: list[float] = []
    for rule in _TICK_RULES:
        ticks = _ticks(start, n, rule)
        if len(ticks) <= most:
            labelled = {pos for pos, _ in ticks}
            return ticks, [pos for pos in finer if pos not in labelled]
        finer = [pos for pos, _ in ticks] if len(ticks) <= 6 * most else []
    years = _ticks(start, n, "year")  # decades and more: every k-th year
    for k in (2, 5, 10, 20, 50, 100):
        ticks = [(pos, label) for pos, label in years if int(label) % k == 0]
        if len(ticks) <= most:
            return ticks, [pos for pos, _ in years] if len(years) <= 6 * most else []
    return [], []


def _stacked_days(window: DayWindow, tz: str, lake_tz: str | None, now: dt.datetime) -> str:
    """Articles per day, stacked by feed: a slot for every day of the window, on a time axis."""
    left_out = []
    if window.older:
        left_out.append(f"{window.older} before the window")
    if window.undated:
        left_out.append(f"{window.undated} undated")
    if window.future:
        left_out.append(f"{window.future} dated after the report's time ({_local(now, ZoneInfo(tz))})")
    note = f" Not in the chart: {', '.join(left_out)}." if left_out else ""
    if not window.start or not window.end:
        return _empty(
            f"No article has a date at or before the report's time, so there is no day to chart.{note}"
        )
    n = window.days
    totals: Counter[str] = Counter()
    for slot in window.counts.values():
        totals.update(slot)
    feeds = [f for f, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:CHART_FEEDS]]
    keys = feeds + ([OTHER] if len(totals) > len(feeds) else [])
    day_totals = [sum(window.counts.get(window.start + dt.timedelta(days=i), {}).values()) for i in range(n)]
    step = _nice_step(max(day_totals) or 1)
    top = step * -(-max(max(day_totals), 1) // step)
    gap = 0.15 if n <= 120 else 0.0
    svg = [
        f'<svg viewBox="0 0 {n} 100" preserveAspectRatio="none" role="img" '
        f'aria-label="Articles per day, {escape(window.description())}">'
    ]
    for value in range(step, top + 1, step):
        y = 100 - 100 * value / top
        svg.append(f'<line class="grid" x1="0" x2="{n}" y1="{y:.2f}" y2="{y:.2f}"/>')
    slots = []
    for i in range(n):
        day = window.start + dt.timedelta(days=i)
        stack = window.counts.get(day, {})
        grouped: Counter[str] = Counter()
        for feed, count in stack.items():
            grouped[feed if feed in feeds else OTHER] += count
        y = 100.0
        for k, key in enumerate(keys):
            count = grouped.get(key, 0)
            if count:
                h = 100 * count / top
                y -= h
                svg.append(
                    f'<rect x="{i + gap / 2:g}" y="{y:.3f}" width="{1 - gap:g}" height="{h:.3f}" '
                    f'fill="{PALETTE[k % len(PALETTE)]}"/>'
                )
        detail = "; ".join(f"{escape(f)} {c}" for f, c in sorted(stack.items(), key=lambda kv: -kv[1]))
        total = day_totals[i]
        slots.append(
            f'<rect class="slot" data-date="{day}" data-articles="{total}" x="{i}" y="0" width="1" height="100">'
            f"<title>{day}: {total} article{'' if total == 1 else 's'}{': ' + detail if detail else ''}</title></rect>"
        )
    svg += slots
    svg.append(f'<line class="zero" x1="0" x2="{n}" y1="100" y2="100"/></svg>')
    yaxis = "".join(f'<span style="bottom:{100 * v / top:.2f}%">{v}</span>' for v in range(0, top + 1, step))
    wide = _axis_ticks(window.start, n, WIDE_TICKS)
    narrow = _axis_ticks(window.start, n, NARROW_TICKS)

    def tick_html(axis: tuple[list[tuple[float, str]], list[float]], cls: str) -> str:
        ticks, marks = axis
        out = [f'<span class="mark {cls}" style="left:{100 * pos / n:.3f}%"></span>' for pos in marks]
        for pos, label in ticks:
            x = 100 * pos / n
            align = " start" if x < 4 else " end" if x > 96 else ""
            out.append(f'<span class="tick {cls}{align}" style="left:{x:.3f}%">{escape(label)}</span>')
        return "".join(out)

    xaxis = (
        tick_html(wide, "wide") + tick_html(narrow, "narrow") if wide != narrow else tick_html(wide, "both")
    )
    legend = "".join(
        f'<span><i style="background:{PALETTE[k % len(PALETTE)]}"></i>{escape(key)} '
        f"({sum(totals[f] for f in totals if f not in feeds) if key == OTHER else totals[key]})</span>"
        for k, key in enumerate(keys)
    )
    window_text = (
        f'<p class="window"><b>{escape(window.description())}</b> '
        f"({escape(lake_tz + ' days' if lake_tz else 'days in the zone the lake was built with')}): "
        f"{window.shown} article{'' if window.shown == 1 else 's'} in the chart.{escape(note)}</p>"
    )
    return (
        f'{window_text}<div class="chart" data-days="{n}"><div class="yaxis">{yaxis}</div>'
        f'<div class="plot">{"".join(svg)}</div><div></div><div class="xaxis">{xaxis}</div></div>'
        f'<p class="legend">{legend}</p>'
    )


_CSS = """
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#0f172a;background:#f8fafc}
h1{margin:0 0 4px}main{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,480px),1fr));gap:16px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;min-width:0}
section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 8px}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:12px}
td,th{border-bottom:1px solid #e2e8f0;padding:3px 6px;text-align:left;vertical-align:top}
th{white-space:nowrap}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.text{min-width:9em}.when{white-space:nowrap}
.kpis{display:flex;flex-wrap:wrap;gap:8px 24px;margin:12px 0 16px}.kpis b{display:block;font-size:22px}
.legend{margin:8px 0 0}.legend span{margin-right:12px;font-size:12px;white-space:nowrap;display:inline-block}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.empty,.note{color:#64748b}.window{margin:0 0 8px}
.bars{display:grid;grid-template-columns:minmax(0,max-content) minmax(40px,1fr) auto;gap:3px 8px;align-items:center;font-size:12px}
.bar{display:contents}.bar .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:16em;text-align:right}
.bar .track{height:14px}.bar i{display:block;height:100%;min-width:1px}.bar .n{font-variant-numeric:tabular-nums}
.chart{display:grid;grid-template-columns:auto 1fr;font-size:11px;color:#475569}
.yaxis{position:relative;width:28px;height:200px;margin-right:4px}
.yaxis span{position:absolute;right:0;transform:translateY(50%)}
.plot{position:relative;height:200px;border-left:1px solid #94a3b8}
.plot svg{display:block;width:100%;height:100%;overflow:visible}
.plot .grid{stroke:#e2e8f0;vector-effect:non-scaling-stroke}
.plot .zero{stroke:#334155;stroke-width:1.5;vector-effect:non-scaling-stroke}
.plot .slot{fill:transparent}.plot .slot:hover{fill:rgba(15,23,42,.08)}
.xaxis{position:relative;height:22px}
.tick{position:absolute;top:0;padding-top:6px;transform:translateX(-50%);white-space:nowrap}
.tick::before{content:"";position:absolute;top:0;left:50%;height:5px;border-left:1px solid #334155}
.tick.start{transform:none}.tick.start::before{left:0}.tick.end{transform:translateX(-100%)}.tick.end::before{left:100%}
.mark{position:absolute;top:0;height:3px;border-left:1px solid #94a3b8}
.narrow{display:none}
@media (max-width:600px){body{margin:12px}section{padding:10px}.xaxis .wide{display:none}.xaxis .narrow{display:block}
.kpis b{font-size:18px}}
"""


def report_html(data: ReportData, generated_at: dt.datetime | None = None) -> str:
    """The page: KPIs, charts and tables; no external asset, no network access."""
    now = generated_at or data.generated_at
    zone = ZoneInfo(data.tz)
    kpis = "".join(f"<div><b>{escape(str(v))}</b>{escape(k)}</div>" for k, v in data.totals.items())
    articles = int(data.totals.get("articles", 0))
    s = data.stories
    if data.copied:
        stories = (
            f'<p class="note">{s["stories"]} stories from {s["articles"]} articles: {s["copied"]} '
            f"{'is' if s['copied'] == 1 else 'are'} carried by more than one article ({s['copies']} "
            "copies in all). The most copied:</p>" + _table(data.copied, frozenset({"copies"}))
        )
    elif articles:
        stories = _empty(
            f"No story has two copies: each of the {articles} articles is the only one with its text "
            "(a story groups articles whose texts are near-copies, in any feed)."
        )
    else:
        stories = _empty("The lake has no article yet, so no story.")
    companies = (
        _note(
            f"{data.stock_articles} of {articles} articles mention a stock code. "
            "Articles per code, with the company as the text wrote it:"
        )
        + _bars(data.companies, PALETTE[1])
        if data.companies
        else None
    )
    flagged = [r for r in data.quality if any(v for k, v in r.items() if k not in ("feed", "articles"))]
    numeric = frozenset(k for k in (data.quality[0] if data.quality else {}) if k != "feed")
    if not data.quality:
        quality = _empty("The lake has no article yet, so no feed to check.")
    elif flagged:
        quality = (
            f'<p class="note">{len(flagged)} of {len(data.quality)} feeds have articles with a flag '
            "(counts of articles; the quality view has the rates per day):</p>"
            + _table(data.quality, numeric)
        )
    else:
        quality = (
            f'<p class="note">No flag in any of the {len(data.quality)} feeds: every article has a date, '
            "a title and text.</p>" + _table(data.quality, numeric)
        )
    quarantine = (
        _bars(data.quarantine, PALETTE[3])
        if data.quarantine
        else _empty(f"No file was quarantined: each of the {data.files_seen} files read became an article.")
    )
    feeds = f"{data.boilerplate_feeds} feed{'s' if data.boilerplate_feeds != 1 else ''}"
    boilerplate = (
        _note(
            f"{feeds} repeat lines that are taken out of their articles' text (digits shown as #); the most repeated:"
        )
        + _table(data.boilerplate, frozenset({"articles"}))
        if data.boilerplate
        else None
    )
    runs_bars = [(str(r["started"]), int(r["rows written"])) for r in data.runs[:10]]
    sections = [
        _section(
            "Articles per day, by feed",
            _stacked_days(data.window, data.tz, data.lake_tz, now),
            wide=True,
            key="per-day",
        ),
        _section("Stories copied across feeds", stories, wide=True, key="stories"),
        _section("Companies and stock codes (articles)", companies, key="companies"),
        _section(
            "Top keywords in the chart's window (articles)",
            _bars(data.keywords, PALETTE[4]) if data.keywords else None,
            key="keywords",
        ),
        _section("Quality per feed (articles)", quality, wide=True, key="quality"),
        _section("Learned boilerplate", boilerplate, key="boilerplate"),
        _section("Quarantine by reason", quarantine, key="quarantine"),
        _section(
            "Top editors (articles)",
            _bars(data.top_editors, PALETTE[2]) if data.top_editors else None,
            key="editors",
        ),
        _section("Body length (characters)", _bars(data.lengths, PALETTE[5]), key="lengths"),
        _section(
            "Rows written by the last runs",
            _bars(runs_bars, PALETTE[6]) if runs_bars else None,
            key="run-rows",
        ),
        _section(
            f"Run history (times in {data.tz})",
            _table(
                data.runs,
                frozenset(
                    k for k in (data.runs[0] if data.runs else {}) if k not in ("started", "status", "run id")
                ),
            )
            if data.runs
            else None,
            wide=True,
            key="runs",
        ),
        _section(
            f"Latest articles (times in {data.tz})",
            _table(data.latest, frozenset({"chars"})) if data.latest else None,
            wide=True,
            key="latest",
        ),
    ]
    zone_note = (
        f"times in {data.tz}, the lake's zone"
        if data.tz == data.lake_tz
        else f"times in {data.tz}" + ("" if data.lake_tz else "; the lake's catalog does not record its zone")
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # no script at all: the page is static, and nothing injected into it could run
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>newslake report</title><style>{_CSS}</style></head><body>"
        f'<h1>newslake</h1><p id="generated">generated {escape(_local(now, zone))} ({escape(zone_note)})</p>'
        f'<div class="kpis">{kpis}</div><main>{"".join(sections)}</main>'
        "</body></html>"
    )
