"""Names the archive teaches, over the real files of ../shared/corpus and corpus-feeds: what is
learned (golden, each pair read and checked against the exchanges' listings), where learned
names are found, and that a lake built in two halves equals a clean build."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from flows.learn import lake_names
from flows.settings import Settings
from tests.conftest import CORPUS
from tests.helpers import assert_same_lake, catalog, run
from warehouse.load import LakeWriter
from warehouse.storage import Storage

FEEDS = CORPUS.parent / "corpus-feeds"
# Every pair the two folders teach, read: 20 from Sina's stock links (13 brokers in one article),
# 9 from a code after a name in 每经网 and 财联社 articles. All are the listed company's name and
# code. 太平洋 (太平洋证券), 老百姓 (老百姓大药房) and 太阳能 are taught too, but as common words
# of the segmenter's dictionary they are never matched (flows/keyword_table.py).
LEARNED = {
    "东兴证券": "sh601198", "东北证券": "sz000686", "东吴证券": "sh601555", "东方证券": "sh600958",
    "东方财富": "sz300059", "东方通": "sz300379", "中信建投": "sh601066", "中原证券": "sh601375",
    "兴业证券": "sh601377", "凯普生物": "sz300639", "华西证券": "sz002926", "国泰君安": "sh601211",
    "国瓷材料": "sz300285", "天泽信息": "sz300209", "天风证券": "sh601162", "新东方在线": "hk01797",
    "格力电器": "sz000651", "梅花生物": "sh600873", "海尔生物": "sh688139", "紫金矿业": "sh601899",
    "红塔证券": "sh601236", "舍得酒业": "sh600702", "良品铺子": "sh603719", "西南证券": "sh600369",
    "金晶科技": "sh600586", "青岛港": "sh601298",
}  # fmt: skip


def _source(tmp_path: Path, corpus: bool = True, feeds: bool = True) -> Path:
    if not (CORPUS.is_dir() and FEEDS.is_dir()):
        pytest.skip(f"{CORPUS} or {FEEDS} not found (../shared beside the project); CI always has it")
    source = tmp_path / "src"
    for folder, wanted in ((CORPUS, corpus), (FEEDS, feeds)):
        if wanted:
            shutil.copytree(
                folder, source / folder.name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.tsv")
            )
    return source


def _name_mentions(lake: Path) -> list[tuple[str, str, str]]:
    with catalog(lake) as con:
        return con.execute(
            "SELECT source, stock_code, mention_text FROM article_stocks WHERE found_by = 'name' ORDER BY ALL"
        ).fetchall()


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("names")
    lake = folder / "lake"
    run(_source(folder), lake)
    return lake


def test_the_names_the_archive_teaches(clean_lake: Path) -> None:
    settings = Settings(source=clean_lake, lake=clean_lake)
    assert lake_names(LakeWriter(Storage(clean_lake)), settings.name_rule, {}) == LEARNED


def test_learned_names_are_found_in_the_other_feeds(clean_lake: Path) -> None:
    found = _name_mentions(clean_lake)
    # 25 mentions, read in their sentences: each names the listed company (brokers ranked,
    # quoted for their research, a stock bought); none inside a longer word.
    assert len(found) == 25
    assert {source for source, _, _ in found} == {"财联社", "格隆汇"}
    assert all(LEARNED[written] == code for _, code, written in found)


def test_a_lake_built_in_two_halves_equals_a_clean_build(tmp_path: Path, clean_lake: Path) -> None:
    """The feeds first (they teach 9 names), then Sina's articles: the 20 names their links teach
    are found in the feeds' rows already in the lake, in the same run."""
    lake = tmp_path / "lake"
    source = _source(tmp_path, corpus=False)
    run(source, lake)
    before = len(_name_mentions(lake))
    _source(tmp_path)
    assert run(source, lake).files_new == len(list(CORPUS.glob("*.txt")))
    assert len(_name_mentions(lake)) > before
    assert_same_lake(lake, clean_lake)
    with catalog(lake) as con:
        taught = con.execute("SELECT count(*) FROM articles WHERE len(stock_names) > 0").fetchall()[0][0]
    assert taught == 9  # 4 Sina articles, 2 of 每经网, 3 of 财联社


def test_taking_the_teachers_out_takes_their_names_out(tmp_path: Path) -> None:
    lake, clean = tmp_path / "lake", tmp_path / "clean"
    source = _source(tmp_path)
    run(source, lake)
    shutil.rmtree(source / CORPUS.name)
    run(source, lake, allow_mass_delete=True)
    run(source, clean)
    assert_same_lake(lake, clean)
    mentions = pl.DataFrame(_name_mentions(lake), schema=["source", "code", "written"], orient="row")
    assert set(mentions["written"].to_list()) <= {"格力电器"}  # taught by a 财联社 article
