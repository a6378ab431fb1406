"""`newslake report`: a self-contained, offline HTML dashboard of the lake (inline SVG, no CDN).

Every string from the data is escaped with html.escape before it reaches the page.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

import duckdb

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#64748b"]
LENGTH_BUCKETS = [(0, 1, "empty"), (1, 200, "1–199"), (200, 500, "200–499"), (500, 1000, "500–999"),
                  (1000, 2000, "1k–2k"), (2000, 5000, "2k–5k"), (5000, 10**9, "5k+")]  # fmt: skip


@dataclass
class ReportData:
    totals: dict[str, Any] = field(default_factory=dict)
    per_day: list[tuple[str, str, int]] = field(default_factory=list)  # (day, feed, articles)
    top_stocks: list[tuple[str, int]] = field(default_factory=list)
    top_editors: list[tuple[str, int]] = field(default_factory=list)
    lengths: list[tuple[str, int]] = field(default_factory=list)
    quarantine: list[tuple[str, int]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    latest: list[dict[str, Any]] = field(default_factory=list)
    copied: list[dict[str, Any]] = field(default_factory=list)  # the stories with the most copies


def report_data(con: duckdb.DuckDBPyConnection, days: int = 60) -> ReportData:
    """Everything the page shows, read from the catalog's views."""

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    totals = rows(
        "SELECT count(*), count(DISTINCT feed), min(published_date), max(published_date), "
        "count(*) FILTER (WHERE missing_date), count(DISTINCT story_id) FROM articles"
    )[0]
    quarantined = rows("SELECT count(*) FROM quarantine")[0][0]
    data = ReportData(
        totals={
            "articles": totals[0],
            "stories": totals[5],
            "feeds": totals[1],
            "first": str(totals[2] or "–"),
            "last": str(totals[3] or "–"),
            "undated": totals[4],
            "quarantined": quarantined,
        }
    )
    data.per_day = [
        (str(d), f"{s or '?'} / {f or '?'}", n)
        for d, s, f, n in rows(
            "SELECT date, source, feed, articles FROM daily_feed_stats WHERE date IS NOT NULL "
            f"AND date > (SELECT max(date) FROM daily_feed_stats) - INTERVAL {int(days)} DAY ORDER BY date"
        )
    ]
    data.top_stocks = [(str(c), n) for c, n in rows(
        "SELECT stock_code, count(DISTINCT article_id) n FROM article_stocks GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15")]  # fmt: skip
    data.top_editors = [(str(e), n) for e, n in rows(
        "SELECT editor, sum(articles) AS n FROM editor_stats GROUP BY 1 ORDER BY n DESC, editor LIMIT 15")]  # fmt: skip
    counts = dict(rows(
        "SELECT CASE " + " ".join(f"WHEN char_count < {hi} THEN '{label}'" for _, hi, label in LENGTH_BUCKETS)
        + " END AS bucket, count(*) FROM articles GROUP BY 1"))  # fmt: skip
    data.lengths = [(label, counts.get(label, 0)) for _, _, label in LENGTH_BUCKETS]
    data.quarantine = [
        (str(r), n) for r, n in rows("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC")
    ]
    cursor = con.execute(
        "SELECT run_id, status, files_seen, rows_written, rows_deleted, quarantined, partitions_rewritten, seconds "
        "FROM runs ORDER BY started_at DESC LIMIT 20"
    )
    names = [d[0] for d in cursor.description or []]
    data.runs = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    cursor = con.execute(
        "SELECT published_at, source, feed, title, char_count FROM articles "
        "ORDER BY published_at DESC NULLS LAST, article_id LIMIT 12"
    )
    names = [d[0] for d in cursor.description or []]
    data.latest = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    cursor = con.execute(
        "SELECT first_published_at, first_source, title, copies, array_to_string(feeds, ', ') AS feeds "
        "FROM stories WHERE copies > 1 ORDER BY copies DESC, first_published_at DESC NULLS LAST LIMIT 10"
    )
    names = [d[0] for d in cursor.description or []]
    data.copied = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return data


def _bars(items: list[tuple[str, int]], title: str, color: str = PALETTE[0]) -> str:
    """A horizontal bar chart as inline SVG."""
    if not items:
        return f'<section><h2>{escape(title)}</h2><p class="empty">No data.</p></section>'
    top = max(n for _, n in items) or 1
    row, label_w, bar_w = 22, 170, 360
    parts = [
        f'<svg viewBox="0 0 {label_w + bar_w + 60} {row * len(items) + 6}" role="img" aria-label="{escape(title)}">'
    ]
    for i, (label, n) in enumerate(items):
        y = i * row + 3
        width = max(1, round(bar_w * n / top))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label[:28])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{width}" height="{row - 6}" fill="{color}">'
            f"<title>{escape(label)}: {n}</title></rect>"
            f'<text x="{label_w + width + 4}" y="{y + 14}">{n}</text>'
        )
    parts.append("</svg>")
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


def _stacked_days(per_day: list[tuple[str, str, int]], title: str) -> str:
    """Articles per day, stacked by feed (the 7 largest feeds; the rest as 'other')."""
    if not per_day:
        return f'<section><h2>{escape(title)}</h2><p class="empty">No dated articles.</p></section>'
    totals: dict[str, int] = {}
    for _, feed, n in per_day:
        totals[feed] = totals.get(feed, 0) + n
    feeds = [f for f, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:7]]
    days = sorted({d for d, _, _ in per_day})
    stack: dict[str, dict[str, int]] = {d: {} for d in days}
    for day, feed, n in per_day:
        key = feed if feed in feeds else "other"
        stack[day][key] = stack[day].get(key, 0) + n
    keys = feeds + (["other"] if any("other" in v for v in stack.values()) else [])
    top = max(sum(v.values()) for v in stack.values()) or 1
    width, height, pad = 720, 220, 30
    step = (width - pad) / len(days)
    parts = [f'<svg viewBox="0 0 {width} {height + 40}" role="img" aria-label="{escape(title)}">']
    for i, day in enumerate(days):
        y = float(height)
        for k, key in enumerate(keys):
            n = stack[day].get(key, 0)
            if not n:
                continue
            h = (height - 10) * n / top
            y -= h
            parts.append(
                f'<rect x="{pad + i * step:.1f}" y="{y:.1f}" width="{max(step - 1, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(day)} {escape(key)}: {n}</title></rect>'
            )
    parts.append(f'<text x="{pad}" y="{height + 16}">{escape(days[0])}</text>')
    parts.append(f'<text x="{width}" y="{height + 16}" text-anchor="end">{escape(days[-1])}</text>')
    parts.append(f'<text x="0" y="12">{top}</text></svg>')
    legend = "".join(
        f'<span><i style="background:{PALETTE[k % len(PALETTE)]}"></i>{escape(key)}</span>'
        for k, key in enumerate(keys)
    )
    return f'<section class="wide"><h2>{escape(title)}</h2>{"".join(parts)}<p class="legend">{legend}</p></section>'


def _table(rows: list[dict[str, Any]], title: str) -> str:
    if not rows:
        return f'<section class="wide"><h2>{escape(title)}</h2><p class="empty">No data.</p></section>'
    head = "".join(f"<th>{escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f'<section class="wide"><h2>{escape(title)}</h2><table><tr>{head}</tr>{body}</table></section>'


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#0f172a;background:#f8fafc}
h1{margin:0 0 4px}main{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px}section.wide{grid-column:1/-1}
h2{font-size:15px;margin:0 0 8px}svg{width:100%;height:auto;font-size:11px}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{border-bottom:1px solid #e2e8f0;padding:3px 6px;text-align:left}
.kpis{display:flex;gap:24px;margin:12px 0 16px}.kpis b{display:block;font-size:22px}
.legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.empty{color:#64748b}
"""


def report_html(data: ReportData, generated_at: dt.datetime) -> str:
    """The page: KPIs, charts and tables; no external asset, no network access."""
    kpis = "".join(f"<div><b>{escape(str(v))}</b>{escape(k)}</div>" for k, v in data.totals.items())
    sections = [
        _stacked_days(data.per_day, "Articles per day, by feed"),
        _bars(data.top_stocks, "Top stock codes (articles)", PALETTE[1]),
        _bars(data.top_editors, "Top editors (articles)", PALETTE[2]),
        _bars(data.lengths, "Body length (characters)", PALETTE[3]),
        _bars(data.quarantine, "Quarantine by reason", PALETTE[4]),
        _bars(
            [(str(r["run_id"]), int(r["rows_written"])) for r in data.runs[:10]],
            "Rows written by the last runs",
            PALETTE[5],
        ),
        _table(data.runs, "Run history"),
        _table(data.latest, "Latest articles"),
        _table(data.copied, "Stories copied across feeds (most copies first)"),
    ]
    stamp = json.dumps(generated_at.isoformat())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>newslake report</title><style>{_CSS}</style></head><body>"
        f'<h1>newslake</h1><p id="generated">generated {escape(generated_at.isoformat())}</p>'
        f'<div class="kpis">{kpis}</div><main>{"".join(sections)}</main>'
        f"<script>const generated = new Date({stamp});"
        "document.getElementById('generated').textContent = 'generated ' + generated.toLocaleString();</script>"
        "</body></html>"
    )
