"""Rows re-derived when their feed's model changes equal rows parsed with that model."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest

from flows.defaults import TZ
from flows.keyword_table import jieba_keyword_weights
from tests.conftest import CORPUS
from transforms.article import ParseOptions
from transforms.batch import RawFile, parsed_batch
from transforms.boilerplate import feed_key, line_hash, line_key
from transforms.relearn import article_lines, relearned_articles

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _parsed(paths: list[Path], learned: dict[str, frozenset[int]]) -> pl.DataFrame:
    options = ParseOptions(
        timezone=TZ, now=NOW, keyword_weights=jieba_keyword_weights(), learned_lines=learned
    )
    raws = [
        RawFile(p.name, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest(), p.read_bytes())
        for p in paths
    ]
    return parsed_batch(raws, options).articles


def test_relearning_equals_parsing_with_the_model_and_unlearning_restores() -> None:
    files = sorted((CORPUS.parent / "corpus-feeds").glob("30*.txt"))[:6]  # 知乎日报
    if not files:
        pytest.skip("../shared/corpus-feeds not found")
    model = {feed_key("知乎", "知乎日报") or 0: frozenset({line_hash(line_key("查看知乎讨论"))})}
    plain, learned = _parsed(files, {}), _parsed(files, model)
    assert learned["boilerplate_lines"].to_list() == [["查看知乎讨论"]] * len(files)
    weights = jieba_keyword_weights()
    assert relearned_articles(plain, model, weights).equals(learned)
    assert relearned_articles(learned, {}, weights).equals(plain)
    # Every line is counted once an article, and the feed once an article.
    lines = article_lines(learned)
    assert lines.filter(lines["line_hash"] == 0).height == len(files)
    assert lines.filter(lines["line_hash"] == line_hash("查看知乎讨论")).height == len(files)
