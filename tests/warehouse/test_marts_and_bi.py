"""Mart views answer, and a BI driver (SQLAlchemy + duckdb-engine, read-only) works during a run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from flows.sample import sample_article, write_sample
from tests.helpers import catalog, run
from warehouse.catalog import mart_sql

VIEWS = ["articles", "quarantine", "runs", *(name for name, _ in mart_sql())]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    write_sample(tmp_path / "src", 80)
    run(tmp_path / "src", tmp_path / "lake")
    return tmp_path / "lake"


def test_every_mart_answers(lake: Path) -> None:
    with catalog(lake) as con:
        for view in VIEWS:
            if view == "quarantine":
                continue
            assert con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0] > 0, view
        assert {
            "daily_feed_stats",
            "stock_mentions_daily",
            "editor_stats",
            "quality",
            "keyword_trends",
        } <= set(VIEWS)
        feeds = con.execute("SELECT sum(articles) FROM daily_feed_stats").fetchall()[0][0]
        assert feeds == 80
        mentions = con.execute("SELECT sum(articles) FROM stock_mentions_daily").fetchall()[0][0]
        direct = con.execute("SELECT count(*) FROM articles, unnest(stock_codes)").fetchall()[0][0]
        assert mentions == direct


def test_sqlalchemy_duckdb_engine_reads_every_view_during_a_run(lake: Path, tmp_path: Path) -> None:
    engine = create_engine(
        f"duckdb:///{lake / 'warehouse.duckdb'}", connect_args={"read_only": True}, poolclass=None
    )
    errors: list[str] = []
    done, first = threading.Event(), threading.Event()
    rounds = 0

    def query_loop() -> None:
        nonlocal rounds
        while not done.is_set() or (
            rounds < 2 and len(errors) < 5
        ):  # a round after the runs, whatever the timing
            try:
                with engine.connect() as conn:
                    for view in VIEWS:
                        conn.execute(text(f"SELECT * FROM {view} LIMIT 5")).fetchall()
                rounds += 1
                first.set()
            except Exception as exc:
                errors.append(repr(exc))
            finally:
                engine.dispose()

    held = engine.connect()  # opened before the runs, kept across them
    before = held.execute(text("SELECT count(*) FROM articles")).fetchall()
    reader = threading.Thread(target=query_loop)
    reader.start()
    first.wait(timeout=120)
    try:
        for i in range(4):
            name, data = sample_article(500 + i)
            (tmp_path / "src" / name).write_bytes(data)
            run(tmp_path / "src", lake, retain_seconds=3600)
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert rounds >= 2
    # a connection opened before the runs still answers, with the data it opened with
    assert held.execute(text("SELECT count(*) FROM articles")).fetchall() == before
    held.close()
