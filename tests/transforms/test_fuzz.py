"""Fuzzing: generated raw files and byte mutations of real files never raise and are all accounted for."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.defaults import TZ
from tests.conftest import corpus_files
from transforms.article import ParseOptions
from transforms.batch import RawFile, parsed_batch
from transforms.reasons import Reason

OPTIONS = ParseOptions(timezone=TZ, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
REAL = [p.read_bytes() for p in corpus_files()[:12]]

yaml_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "Invalid Date",
            "Fri, 29 Apr 2022 07:51:46 GMT",
            "2021-08-26 11:06:13",
            "'",
            '"',
            "[",
            "{",
            "!!python/name:os.system",
        ]
    ),
    st.integers(),
)
html_bits = st.sampled_from(
    ["<p>", "</p>", "<div>", "</div>", "<br>", "<!--", "-->", "<style>", "</style>", "&#123;", "&amp;", "<table><tr><td>",
     "<img src=", "<span id=quote_sh600519>", "<!-- news_keyword_pub,stock,sz300059 -->", "　　", "\n", "正文", "text"]
)  # fmt: skip


@st.composite
def raw_files(draw: st.DrawFn) -> bytes:
    keys = draw(
        st.lists(
            st.sampled_from(
                ["title", "categories", "date", "headimg", "thumbnail", "author", "comments", "x"]
            ),
            max_size=7,
        )
    )
    lines = [f"{k}: {draw(yaml_values)}" for k in keys]
    if draw(st.booleans()):
        lines.append("categories:\n - " + "\n - ".join(draw(st.lists(st.text(max_size=8), max_size=4))))
    head = draw(st.sampled_from(["---\n", "\n---\n", "", "---\r\n", "\ufeff---\n"]))
    tail = draw(st.sampled_from(["---\n", "", "--- \n"]))
    body = "".join(draw(st.lists(st.one_of(html_bits, st.text(max_size=20)), max_size=30)))
    text = head + "\n".join(lines) + "\n" + tail + body
    return text.encode(draw(st.sampled_from(["utf-8", "gb18030", "utf-16"])), errors="replace")


def _accounted(blobs: list[bytes]) -> None:
    files = [RawFile(f"f{i}.md", len(b), None, b) for i, b in enumerate(blobs)]
    batch = parsed_batch(files, OPTIONS)
    assert batch.articles.height + batch.quarantine.height == len(files)
    paths = set(batch.articles["source_path"]) | set(batch.quarantine["source_path"])
    assert paths == {f.source_path for f in files}
    assert Reason.PARSE_ERROR not in set(batch.quarantine["reason"]), batch.quarantine["message"].to_list()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(raw_files(), min_size=1, max_size=5))
def test_generated_files_are_all_accounted_for(blobs: list[bytes]) -> None:
    _accounted(blobs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_files_are_all_accounted_for(data: st.DataObject) -> None:
    if not REAL:
        pytest.skip("real corpus not found (../shared beside the project); CI always has it")
    blob = bytearray(data.draw(st.sampled_from(REAL)))
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(0, max(len(blob) - 1, 0)))
        action = data.draw(st.sampled_from(["flip", "cut", "dup", "insert"]))
        if action == "flip" and blob:
            blob[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del blob[at : at + data.draw(st.integers(1, 200))]
        elif action == "dup":
            blob[at:at] = blob[at : at + data.draw(st.integers(1, 200))]
        else:
            blob[at:at] = data.draw(st.binary(max_size=16))
    _accounted([bytes(blob)])
