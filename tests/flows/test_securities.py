"""A user's securities list: read once at the entry point (a bad list is a one-line usage error),
its names found as words in every feed, and a changed list re-derives the lake."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from flows.securities import securities_list
from flows.settings import Settings
from tests.conftest import CORPUS, ROOT
from tests.helpers import assert_same_lake, catalog_rows, run

LIST = ROOT / "tests" / "golden" / "securities.csv"
FEEDS = CORPUS.parent / "corpus-feeds"


def test_a_list_reads_from_csv_or_parquet_with_aliases(tmp_path: Path) -> None:
    names = securities_list(LIST)
    assert names["腾讯"] == names["腾讯控股"] == "hk00700" and names["宁王"] == "sz300750"
    parquet = tmp_path / "list.parquet"
    pl.DataFrame({"code": ["600519"], "name": ["贵州茅台"], "aliases": [["茅台"]]}).write_parquet(parquet)
    assert securities_list(parquet) == {"贵州茅台": "sh600519", "茅台": "sh600519"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("symbol,title\nsh600519,茅台\n", "needs the columns code and name"),
        ("code,name\n12345678,某公司\n", "row 2: '12345678' is not a stock code"),
        ("code,name,aliases\nsh600519,贵州茅台,茅台\nsz000858,五粮液,茅台\n", "'茅台' is given two codes"),
    ],
)
def test_a_bad_list_is_a_usage_error_naming_the_row(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "list.csv"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError, match=message):
        Settings(source=tmp_path, lake=tmp_path / "lake", securities=bad)


def test_listed_names_become_mentions_and_a_new_list_rebuilds(tmp_path: Path) -> None:
    if not FEEDS.is_dir():
        pytest.skip(f"{FEEDS} not found (../shared beside the project)")
    lake = tmp_path / "lake"
    run(FEEDS, lake, workers=2, batch_size=50)
    assert catalog_rows(lake, "SELECT count(*) FROM article_stocks WHERE found_by = 'list'") == [(0,)]
    again = run(FEEDS, lake, workers=2, batch_size=50, securities=LIST)
    assert "securities" in (again.message or "")
    found = dict(
        catalog_rows(
            lake, "SELECT stock_code, count(*) FROM article_stocks WHERE found_by = 'list' GROUP BY 1"
        )
    )
    assert found["hk00700"] >= 3 and found["gb_tsla"] >= 3 and found["hk09618"] >= 3
    # Sina's markup links 中国动力 inside 中国动力电池...; a listed name is found only as a word.
    inside = catalog_rows(
        lake,
        "SELECT count(*) FROM article_stocks WHERE found_by = 'list' AND mention_text = '中国动力' "
        "AND article_id IN (SELECT article_id FROM articles WHERE body_text LIKE '%中国动力电池%')",
    )
    assert inside == [(0,)]
    clean = tmp_path / "clean"
    run(FEEDS, clean, workers=2, batch_size=50, securities=LIST)
    assert_same_lake(lake, clean)
