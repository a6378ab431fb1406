"""Trust, principles 4 and 9: every parse is bounded by the size of its input, and values at the
edges of their types are kept exactly or flagged.

Hostile files (YAML alias bombs, deep nesting, pathological HTML) are parsed by the batch entry
(transforms.batch.parsed_batch) in a child process that a watchdog kills past a time or memory
bound: each must give a row or a quarantine record within seconds and bounded memory. Dates,
numbers and text at the limits of their types are checked in process.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.defaults import TZ
from tests.conftest import ROOT
from transforms import decoding
from transforms.article import ParseOptions, article_row
from transforms.batch import RawFile, parsed_batch
from transforms.frontmatter import MAX_NESTING, front_matter
from transforms.markup import _SCRIPT_STYLE, _without_scripts
from transforms.reasons import Quarantined, Reason
from transforms.stocks import _mentioned, stock_codes_of
from transforms.text import clean_text

OPTIONS = ParseOptions(timezone=TZ, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
UTC = dt.UTC
TOO_COMPLEX = str(Reason.FRONT_MATTER_TOO_COMPLEX)
ROW = None  # expected outcome: an article row

# The bounds the hostile files are held to: generous, to catch minutes and gigabytes, not to time.
MAX_SECONDS = 10.0
MAX_GROWTH_MB = 1024  # peak RSS during the parse, over the RSS before it
WATCHDOG_RSS_MB = 2560  # the child is killed past this (the alias bomb took more than 3.5 GB)
WATCHDOG_SECONDS = 30.0  # per case, besides the child's start


def _file(front: str, body: str = "<p>正文</p>") -> bytes:
    return ("---\n" + front + "\n---\n" + body).encode("utf-8")


def _alias_bomb(key: str, levels: int = 9, width: int = 9) -> bytes:
    """Billion laughs: 9 levels of 9 aliases of the level below, some 600 bytes, 9^9 leaves."""
    names = [f"l{i}" for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [" + ",".join(['"lol"'] * width) + "]"]
    for below, name in pairwise(names):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * width) + "]")
    lines.append(f"{key}: *{names[-1]}")
    return _file("title: bomb\n" + "\n".join(lines))


def _merge_bomb() -> bytes:
    """Merge keys (<<) of aliases of merges: each level copies the pairs of the one below."""
    lines = ["m0: &m0 {" + ", ".join(f"k{i}: v" for i in range(9)) + "}"]
    for level in range(1, 9):
        lines.append(f"m{level}: &m{level} {{<<: [" + ", ".join([f"*m{level - 1}"] * 9) + "]}")
    return _file("title: merge\n" + "\n".join(lines) + "\ncategories: [*m8]")


def _deep_block(levels: int) -> bytes:
    items = "".join(" " * (i + 1) + "-\n" for i in range(levels))
    return _file("title: deep\ncategories:\n" + items + " " * (levels + 1) + "- a")


# name: (input, expected reason, or ROW for an article row)
HOSTILE: dict[str, tuple[Callable[[], bytes], str | None]] = {
    "yaml alias bomb in categories": (lambda: _alias_bomb("categories"), TOO_COMPLEX),
    "yaml alias bomb in date": (lambda: _alias_bomb("date"), TOO_COMPLEX),
    "yaml alias bomb in title": (lambda: _alias_bomb("title"), TOO_COMPLEX),
    "yaml alias bomb in an unknown key": (lambda: _alias_bomb("extra"), TOO_COMPLEX),
    "yaml merge-key bomb": (_merge_bomb, TOO_COMPLEX),
    "yaml recursive alias": (lambda: _file("title: t\ncategories: &a [x, *a]"), TOO_COMPLEX),
    "yaml 900 nested flow lists": (lambda: _file("categories: " + "[" * 900 + "a" + "]" * 900), TOO_COMPLEX),
    "yaml 100000 nested flow lists": (
        lambda: _file("categories: " + "[" * 100_000 + "a" + "]" * 100_000),
        TOO_COMPLEX,
    ),
    "yaml 100000 nested flow mappings": (
        lambda: _file("title: " + "{a: " * 100_000 + "b" + "}" * 100_000),
        TOO_COMPLEX,
    ),
    "yaml 900 nested block lists": (lambda: _deep_block(900), TOO_COMPLEX),
    "yaml title of one 10 MB line": (lambda: _file("title: '" + "长" * 3_500_000 + "'"), ROW),
    "html 100000 nested divs": (
        lambda: _file("title: t", "<div>" * 100_000 + "深" + "</div>" * 100_000),
        ROW,
    ),
    "html 100000 nested editor lines": (
        lambda: _file("title: t", "<div class='article-editor'>" * 100_000 + "责任编辑：王翔"),
        ROW,
    ),
    "html 100000 attributes": (
        lambda: _file("title: t", "<p " + " ".join(f'a{i}="v{i}"' for i in range(100_000)) + ">x</p>"),
        ROW,
    ),
    "html one 10 MB line": (lambda: _file("title: t", "<p>" + "x" * 10_000_000 + "</p>"), ROW),
    "html 10 MB of blanks in a paragraph": (
        lambda: _file("title: t", "<p>a" + " " * 10_000_000 + "b</p>"),
        ROW,
    ),
    "html 200000 unclosed script tags": (lambda: _file("title: t", "<p>x</p>" + "<script " * 200_000), ROW),
    "html 100000 unclosed stock lists": (
        lambda: _file("title: t", "<!-- " + "news_keyword_pub,stock," * 100_000),
        ROW,
    ),
    "html 100000 unclosed tags": (lambda: _file("title: t", "<p>x" + "<b " * 100_000), ROW),
}


def _child(names: list[str]) -> None:
    """Run in the child: parse each named file alone, printing one JSON line before and after."""

    def status(field: str) -> int:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) // 1024
        raise KeyError(field)

    parsed_batch([RawFile("warm.md", 20, None, _file("title: warm"))], OPTIONS)  # imports, pools
    for name in names:
        data = HOSTILE[name][0]()
        try:  # peak RSS back to the current RSS (Linux): the peak is this file's alone
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
        except OSError:
            pass
        before = status("VmRSS")
        print(json.dumps({"start": name}), flush=True)
        started = time.perf_counter()
        batch = parsed_batch([RawFile(name, len(data), None, data)], OPTIONS)
        seconds = time.perf_counter() - started
        reasons = batch.quarantine["reason"].to_list()
        print(
            json.dumps(
                {
                    "name": name,
                    "seconds": seconds,
                    "growth_mb": status("VmHWM") - before,
                    "reason": reasons[0] if reasons else None,
                    "message": batch.quarantine["message"].to_list()[0] if reasons else None,
                    "rows": batch.articles.height,
                }
            ),
            flush=True,
        )


def _rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _run_children(names: list[str], out_dir: Path) -> dict[str, dict[str, Any]]:
    """Run the cases in a child, restarted after a case that the watchdog had to kill."""
    results: dict[str, dict[str, Any]] = {}
    pending = list(names)
    while pending:
        out = out_dir / f"child-{len(results)}.jsonl"
        code = f"from tests.transforms.test_bounded_parse import _child; _child({pending!r})"
        with open(out, "w", encoding="utf-8") as handle:
            child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=handle)
        current, since, killed = None, time.monotonic(), None
        while child.poll() is None:
            time.sleep(0.05)
            lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
            starts = [line["start"] for line in lines if "start" in line]
            if starts and starts[-1] != current:
                current, since = starts[-1], time.monotonic()
            rss = _rss_mb(child.pid)
            if current is not None and rss > WATCHDOG_RSS_MB:
                killed = f"killed at {rss} MB RSS"
            elif current is not None and time.monotonic() - since > WATCHDOG_SECONDS:
                killed = f"killed after {WATCHDOG_SECONDS:.0f} s"
            elif current is None and time.monotonic() - since > 120:
                killed = "the child did not start"
            if killed:
                child.kill()
                child.wait()
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
        for line in lines:
            if "name" in line:
                results[line["name"]] = line
        done = [name for name in pending if name in results]
        unfinished = [name for name in pending if name not in results]
        if unfinished:  # the first unfinished case is the one that was killed or crashed
            results[unfinished[0]] = {"name": unfinished[0], "failed": killed or f"exit {child.returncode}"}
        pending = [name for name in unfinished[1:] if name not in done]
    return results


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return _run_children(list(HOSTILE), tmp_path_factory.mktemp("bounded"))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="the watchdog reads /proc")
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_parsed_within_seconds_and_bounded_memory(
    name: str, hostile_results: dict[str, dict[str, Any]]
) -> None:
    result = hostile_results[name]
    assert "failed" not in result, f"{name}: {result.get('failed')}"
    expected = HOSTILE[name][1]
    assert result["reason"] == expected, result
    assert result["rows"] == (1 if expected is ROW else 0)
    assert result["seconds"] < MAX_SECONDS, result
    assert result["growth_mb"] < MAX_GROWTH_MB, result
    if expected is not ROW:
        assert "\n" not in result["message"] and len(result["message"]) < 200


# --- front matter: the bounds, and what stays within them ---------------------------------------


def test_the_new_reason_is_documented() -> None:
    assert Reason.FRONT_MATTER_TOO_COMPLEX.value == "front_matter_too_complex"
    assert "YAML bomb" in Reason.FRONT_MATTER_TOO_COMPLEX.description


@pytest.mark.parametrize("levels", [MAX_NESTING + 1, 500, 999, 1500])
def test_deep_front_matter_is_quarantined_not_a_recursion_error(levels: int) -> None:
    text = "---\ntitle: t\ncategories: " + "[" * levels + "a" + "]" * levels + "\n---\n"
    with pytest.raises(Quarantined) as info:
        front_matter(text)
    assert info.value.reason is Reason.FRONT_MATTER_TOO_COMPLEX


def test_nesting_within_the_bound_is_read() -> None:
    depth = MAX_NESTING - 2  # the mapping and the categories list are two levels
    text = "---\ntitle: t\ncategories: " + "[" * depth + "a" + "]" * depth + "\n---\n"
    assert front_matter(text).fields["categories"] is not None


def test_a_few_aliases_are_fine_and_a_star_in_a_title_is_no_alias() -> None:
    matter = front_matter("---\nbase: &c [金融, 新浪财经]\ncategories: *c\ntitle: '*星* & 号'\n---\n")
    assert matter.fields["categories"] == ["金融", "新浪财经"]
    assert matter.fields["title"] == "*星* & 号"
    assert front_matter("---\ntitle: 一 *二\n---\n").fields["title"] == "一 *二"
    assert front_matter('---\ntitle: "*a"\n---\n').fields["title"] == "*a"


def test_an_unquoted_alias_of_nothing_is_read_line_by_line() -> None:
    matter = front_matter("---\ntitle: *星\n---\n")
    assert matter.recovered and matter.fields["title"] == "*星"


def test_merge_keys_still_work() -> None:
    matter = front_matter("---\nbase: &b {title: 合并, comments: true}\n<<: *b\n---\n")
    assert matter.fields == {"title": "合并", "comments": True}


yaml_leaves = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none(), st.floats())
yaml_documents = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.recursive(
        yaml_leaves,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
        max_leaves=40,
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(yaml_documents, st.booleans())
def test_front_matter_without_aliases_is_never_too_complex(document: dict, flow: bool) -> None:
    """The alias budget only ever bites on aliases: what a document says itself always fits."""
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True, width=10_000)
    try:
        front_matter("---\n" + text + "---\n")
    except Quarantined as exc:
        assert exc.reason is not Reason.FRONT_MATTER_TOO_COMPLEX, text


# --- values at the edges of their types ---------------------------------------------------------


def _row(front: str) -> dict[str, Any]:
    return article_row(_file(front), "edge.md", OPTIONS)


@pytest.mark.parametrize(
    ("front", "title"),
    [
        ("title: 0x1F", "0x1F"),  # YAML: 31
        ("title: 010", "010"),  # YAML 1.1 octal: 8
        ("title: 12:30", "12:30"),  # YAML 1.1 sexagesimal: 750
        ("title: 1_000", "1_000"),
        ("title: yes", "yes"),  # YAML: True
        ("title: 1.50", "1.50"),
        ("title: .inf", ".inf"),
        ("title: 2021-08-26 11:06:13", "2021-08-26 11:06:13"),
        ("title: !!binary aGVsbG8=", "aGVsbG8="),  # was "b'hello'"
        ("title: " + "9" * 5000, "9" * 1000),  # past the 4,300 digits int() reads; cut to the cap
        ("title: 0x" + "f" * 5000, ("0x" + "f" * 5000)[:1000]),
        ("title: '数 &#" + "9" * 5000 + ";'", "数 \ufffd"),  # html.unescape's int() refused it
        ("title: '&#0000000000065;&#1114112;'", "A\ufffd"),
        ("title: !!set {a, b}", None),  # a set has no order: no title, never a random one
        ("title: [a, b]", None),
        ("title: 2021", "2021"),
    ],
)
def test_a_title_is_kept_as_written(front: str, title: str | None) -> None:
    assert _row(front)["title"] == title


@pytest.mark.parametrize(
    ("front", "flag"),
    [
        ("comments: false", False),
        ("comments: yes", True),
        ("comments: 1", True),
        ("comments: 0", False),
        ("comments: 2", None),
        ("comments: " + "1" * 5000, None),
        ("comments: 0x" + "f" * 5000, None),
        ("comments: !!bool maybe", None),
        ("comments: 2021-02-29", None),
        ("comments: [true]", None),
        ("comments: .nan", None),
    ],
)
def test_comments_flag_at_the_edges(front: str, flag: bool | None) -> None:
    assert _row("title: t\n" + front)["comments_enabled"] is flag


def test_categories_keep_their_text() -> None:
    row = _row("title: t\ncategories: [金融, 0x10, 12:30, " + "7" * 5000 + "]")
    assert row["categories"] == ["金融", "0x10", "12:30", "7" * 5000]


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# (front-matter date line, published_at in UTC or None: null with missing_date set)
DATES: list[tuple[str, dt.datetime | None]] = [
    ("date: Fri, 29 Apr 2022 07:51:46 GMT", _utc(2022, 4, 29, 7, 51, 46)),
    ("date: 29 Apr 2022 07:51:46 GMT", _utc(2022, 4, 29, 7, 51, 46)),
    ("date: Fri, 29 Apr 2022 07:51:46 +0800 (CST)", _utc(2022, 4, 28, 23, 51, 46)),
    ("date: Fri, 29 Apr 2022 07:51:46 +2359", _utc(2022, 4, 28, 7, 52, 46)),
    ("date: Fri, 29 Apr 2022 07:51:46 -0000", _utc(2022, 4, 29, 7, 51, 46)),  # UT, not local
    ("date: Fri, 29 Apr 2022 07:51:46", _utc(2022, 4, 28, 23, 51, 46)),  # no zone: the setting's
    ("date: Fri, 29 Apr 2022 07:51:46 +0099", None),  # 99 minutes
    ("date: Fri, 29 Apr 2022 07:51:46 +9999", None),
    ("date: Fri, 29 Apr 2022 07:51:46 XYZ", None),  # an unknown zone is not the local one
    ("date: Sat, 29 Apr 2022 07:51:46 GMT", None),  # the 29th was a Friday
    ("date: Mon, 01 Jan 0001 00:00:00 GMT", _utc(1, 1, 1)),  # email.utils: 2001
    ("date: Mon, 01 Jan 0001 00:00:00 +0800", None),  # UTC would be year 0
    ("date: Sat, 01 Jan 0000 00:00:00 GMT", None),  # email.utils: 2000
    ("date: Fri, 31 Dec -0001 00:00:00 GMT", None),  # email.utils: 1999
    ("date: Sat, 01 Jan 10000 00:00:00 GMT", None),
    ("date: Fri, 31 Dec 9999 15:59:59 GMT", _utc(9999, 12, 31, 15, 59, 59)),
    ("date: Fri, 31 Dec 9999 23:59:59 GMT", None),  # its date in Shanghai is in year 10000
    ("date: Mon, 29 Feb 2021 00:00:00 GMT", None),
    ("date: Tue, 29 Feb 2000 00:00:00 GMT", _utc(2000, 2, 29)),
    ("date: Thu, 31 Dec 2015 24:00:00 GMT", None),
    ("date: Thu, 31 Dec 2015 23:59:60 GMT", None),  # a leap second no datetime holds
    ("date: Invalid Date", None),
    ("date: 2021-08-26 11:06:13", _utc(2021, 8, 26, 3, 6, 13)),
    ("date: 2021-08-26T11:06:13Z", _utc(2021, 8, 26, 11, 6, 13)),
    ("date: '2021-08-26 11:06:13.25'", dt.datetime(2021, 8, 26, 3, 6, 13, 250_000, tzinfo=UTC)),
    ("date: 2021-02-29 10:00:00", None),  # YAML's constructor raised: a parse_error
    ("date: 2021-08-26 24:00:00", None),
    ("date: 2021-08-26 23:59:60", None),
    ("date: 2021-08-26 11:06:13 +99:00", None),
    ("date: 0000-01-01 00:00:00", None),
    ("date: 0001-01-01 00:00:00", None),  # in Shanghai (LMT +8:05:43): UTC would be year 0
    ("date: 0001-01-01 08:05:43", _utc(1, 1, 1)),
    ("date: 9999-12-31 23:59:59", _utc(9999, 12, 31, 15, 59, 59)),
    ("date: 10000-01-01 00:00:00", None),
    ("date: 1988-04-17 02:30:00", None),  # Shanghai's clocks went from 2:00 to 3:00 that night
    ("date: " + "1" * 5000, None),
    ("date: [Fri, 29 Apr 2022 07:51:46 GMT]", None),
    ("date: !!timestamp someday", None),
]


@pytest.mark.parametrize(("front", "published_at"), DATES, ids=[d[0][6:40] for d in DATES])
def test_a_date_is_kept_exactly_or_null_and_flagged(front: str, published_at: dt.datetime | None) -> None:
    row = _row("title: t\n" + front)
    assert row["published_at"] == published_at
    assert row["missing_date"] is (published_at is None)
    if published_at is not None:
        assert row["published_at"].utcoffset() == dt.timedelta(0)
        local = published_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
        assert (row["published_date"], row["year"], row["month"]) == (local, local.year, local.month)
        assert row["date_out_of_range"] is not (1990 <= published_at.year < 2100)
    else:
        assert (row["published_date"], row["year"], row["month"]) == (None, None, None)


def test_a_batch_of_edge_dates_keeps_every_file_and_every_date_exactly() -> None:
    files = [
        RawFile(f"{i}.md", 0, None, _file(f"title: t{i}\n{front}")) for i, (front, _) in enumerate(DATES)
    ]
    batch = parsed_batch(files, OPTIONS)
    assert batch.quarantine.height == 0
    got = dict(zip(batch.articles["source_path"], batch.articles["published_at"], strict=True))
    assert got == {f"{i}.md": want for i, (_, want) in enumerate(DATES)}
    first_year = batch.articles.filter(batch.articles["year"] == 1)
    assert first_year["published_date"].to_list() == [dt.date(1, 1, 1)] * 2


def test_a_file_too_large_for_the_int32_counts_is_quarantined(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts are at most the file's bytes: past 2^31 - 1 they could overflow their Int32 columns
    and fail the whole batch at the cast."""
    assert decoding.MAX_PARSE_BYTES == 2**31 - 1
    monkeypatch.setattr(decoding, "MAX_PARSE_BYTES", 100)
    batch = parsed_batch(
        [RawFile("big.md", 200, None, _file("title: t", "<p>" + "x" * 150 + "</p>"))], OPTIONS
    )
    assert batch.quarantine["reason"].to_list() == ["too_large"]


# --- the linear scans are the regexes they replace ----------------------------------------------

_OLD_STOCK_MENTION = re.compile(r"news_keyword_pub,stock,([^\s<>]*?)\s*-->|id=[\"']?quote_([A-Za-z0-9_.]+)")


def _old_mentioned(html: str) -> list[str]:
    found: list[str] = []
    for match in _OLD_STOCK_MENTION.finditer(html):
        listed, quoted = match.groups()
        found.extend(listed.split("&") if listed is not None else [quoted])
    return found


stock_bits = st.sampled_from(
    ["news_keyword_pub,stock,", "news_keyword_pub,stock", "id=quote_", "id='quote_", 'id="quote_', "sz300059",
     "hk00700", "&", "-", "--", "-->", ">", "<", "<!-- ", " ", "\n", "\u3000", "a", ".", "gb_aapl"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(stock_bits, max_size=30))
def test_stock_scan_equals_the_pattern_it_replaces(parts: list[str]) -> None:
    html = "".join(parts)
    assert _mentioned(html) == _old_mentioned(html)


def test_stock_codes_of_a_real_list() -> None:
    html = '<!-- news_keyword_pub,stock,sz300059&sh600519 --><span id="quote_hk00700"></span>'
    assert stock_codes_of(html) == ["sz300059", "sh600519", "hk00700"]


_OLD_SCRIPT_STYLE = re.compile(
    r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|$)", re.DOTALL | re.IGNORECASE
)
script_bits = st.sampled_from(
    ["<script", "<SCRIPT", "<style", "<scripts", "<template>", "</template>", "</script", "</script >",
     "</style", " ", ">", "<", "x", "\n", 'a=">"']
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(script_bits, max_size=25))
def test_script_cut_equals_the_pattern_it_replaces(parts: list[str]) -> None:
    html = "".join(parts)
    assert _without_scripts(html) == _OLD_SCRIPT_STYLE.sub("", html)
    assert _SCRIPT_STYLE.sub("", html) == _OLD_SCRIPT_STYLE.sub("", html)


reference_bits = st.sampled_from(["&#", "&#x", "&", "0", "0000000", "9", "65", "1114112", ";", "a", " "])


@settings(max_examples=500, deadline=None)
@given(st.lists(reference_bits, max_size=20))
def test_long_references_read_as_html_unescape_would(parts: list[str]) -> None:
    """Short enough for int(), html.unescape itself is the reference."""
    value = "".join(parts)
    assert clean_text(value) == re.sub(r"\s+", " ", html.unescape(value)).strip("\u3000 \t\n\xa0")
