"""`make bench`: newslake against its baselines, measured in the same run on the same files.

    python -m benchmarks.run [--sizes 10000,100000] [--out bench-results]

For each size N: generate N synthetic articles (the sample generator), then measure
- the parse-only ceiling and a trafilatura loop (both on all cores),
- a full newslake run (no Prefect, all cores): articles/s and peak RSS of the process tree,
- the same run through the command line, end to end (interpreter, imports, summary) against the ceiling,
- a no-op `newslake run` and a `newslake query` against `python -c "import polars, duckdb"`,
- a no-op rerun, an incremental run with 1% of the files changed,
- a dashboard query's latency and the files a year/month-filtered query reads (EXPLAIN ANALYZE),
- what keywords and the per-feed boilerplate cost against parsing the same files,
- for the largest N, an empty Prefect flow against a no-op rerun through the Prefect flow.
Results are ratios against the baselines of the same run; a table is printed and JSON written.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import psutil

from benchmarks.baselines import ceiling_batch, trafilatura_batch
from benchmarks.corpus import realistic_copies
from flows.defaults import TZ
from flows.keyword_table import jieba_keyword_weights
from flows.pipeline import run_pipeline
from flows.sample import sample_articles
from flows.settings import Settings
from transforms.article import ParseOptions
from transforms.batch import RawFile, parsed_batch

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD_SQL = (
    "SELECT date, source, feed, articles, avg_chars FROM daily_feed_stats "
    "WHERE date >= DATE '2021-06-01' ORDER BY date, source, feed"
)


class PeakRss:
    """Samples the summed RSS of a process (this one by default) and its children every 20 ms."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process(self.pid)
        while not self._stop.is_set():
            total = 0
            try:
                tree = [me, *me.children(recursive=True)]
            except psutil.Error:  # the process has ended
                break
            for proc in tree:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _real_articles(real: Path, n: int, plain: bool = False) -> Iterator[tuple[str, bytes]]:
    """n files from real article files: realistic copies (benchmarks.corpus: each copy's own text
    unique, what several files share kept), or plain copies with only the title numbered (no
    measure of learning or stories: every line of a copy recurs across its feed)."""
    if not plain:
        for i, data in realistic_copies(real, n):
            yield f"{i:06d}.md", data
        return
    originals = sorted(p for p in real.iterdir() if p.suffix in (".txt", ".md"))
    for i in range(n):
        data = originals[i % len(originals)].read_bytes()
        yield (
            f"{i:06d}.md",
            re.sub(
                rb"^title: ?(['\"]?)", rb"title: \g<1>" + str(i).encode() + b" ", data, count=1, flags=re.M
            ),
        )


def _corpus(folder: Path, n: int, real: Path | None = None, plain: bool = False) -> list[str]:
    marker = folder / f".complete-{n}"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in _real_articles(real, n, plain) if real else sample_articles(n, seed=42):
            (folder / name).write_bytes(data)
        marker.touch()
    return sorted(str(p) for p in folder.iterdir() if not p.name.startswith("."))


def _on_all_cores(fn: Callable[[list[str]], int], paths: list[str], cores: int) -> float:
    chunks = [paths[i : i + 500] for i in range(0, len(paths), 500)]
    ctx = multiprocessing.get_context("forkserver")
    start = time.perf_counter()
    with ProcessPoolExecutor(cores, mp_context=ctx) as pool:
        list(pool.map(fn, chunks))
    return time.perf_counter() - start


ROUNDS = 2

_FULL_RUN = """
import json, sys, time
from flows.keyword_table import jieba_keyword_weights
from flows.pipeline import run_pipeline
from flows.settings import Settings
settings = Settings.model_validate_json(sys.argv[1])
start = time.perf_counter()
summary = run_pipeline(settings)
print(json.dumps(summary.stage_seconds))
print(time.perf_counter() - start)
"""


def _full_run(settings: Settings) -> tuple[float, int, dict[str, float]]:
    """A full run in a fresh process, as a user's would be: (seconds of the run, peak RSS of its
    process tree, each stage's seconds). The interpreter's start and imports are not timed; the
    ceiling pays none."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _FULL_RUN, settings.model_dump_json()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    with PeakRss(proc.pid) as rss:
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"full run failed ({proc.returncode})")
    lines = out.strip().splitlines()
    return float(lines[-1]), rss.peak, json.loads(lines[-2])


def _explain_partition_files(catalog: Path) -> dict[str, Any]:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        year, month = con.execute(
            "SELECT year, month FROM articles WHERE year IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
        ).fetchall()[0]
        state = json.loads((catalog.parent / "_state.json").read_text())
        plan = con.execute(
            f"EXPLAIN ANALYZE SELECT count(*) FROM articles WHERE year = {year} AND month = {month}"
        ).fetchall()
        text = "\n".join(str(row[-1]) for row in plan)
        match = re.search(r"Total Files Read:\s*(\d+)", text)
        latencies = []
        for _ in range(7):
            latencies.append(_timed(lambda: con.execute(DASHBOARD_SQL).fetchall()))
        return {
            "filtered_partition": f"{year}-{month:02d}",
            "files_read_for_one_partition": int(match.group(1)) if match else None,
            "partition_files_in_lake": len(state["partitions"]),
            "dashboard_query_ms_median": round(statistics.median(latencies) * 1000, 1),
            "explain_excerpt": [ln for ln in text.splitlines() if "Files" in ln or "File Filters" in ln][:6],
        }
    finally:
        con.close()


def _keyword_cost(paths: list[str]) -> dict[str, float]:
    """Parse the same files in this process with and without keyword extraction."""
    files = [RawFile(p, 0, None, Path(p).read_bytes()) for p in paths]
    options = ParseOptions(
        timezone=TZ, now=datetime.datetime.now(datetime.UTC), keyword_weights=jieba_keyword_weights()
    )
    parsed_batch(files[:50], options)  # warm up: the IDF table and imports
    with_kw = min(_timed(lambda: parsed_batch(files, options)) for _ in range(2))
    without = min(
        _timed(lambda: parsed_batch(files, replace(options, keyword_weights=None))) for _ in range(2)
    )
    return {
        "keywords_parse_ms_per_article": round(with_kw / len(files) * 1000, 3),
        "no_keywords_parse_ms_per_article": round(without / len(files) * 1000, 3),
        "keywords_throughput_cost": round(1 - without / with_kw, 2),
    }


def _boilerplate_cost(paths: list[str]) -> dict[str, float]:
    """What the per-feed boilerplate adds to parsing the same files in this process: each row's
    line hashes (computed on the workers), learning the feeds' lines from them, and re-deriving
    the rows that carry a learned line (the merge's worst case: none was known when they were
    parsed)."""
    import polars as pl

    from transforms.boilerplate import LearningRule
    from transforms.relearn import article_lines, relearned_articles
    from transforms.schema import ARTICLE_LINES_SCHEMA
    from warehouse.feed_model import learned_lines, model_of, next_line_counts
    from warehouse.tables import LINE_COUNTS

    files = [RawFile(p, 0, None, Path(p).read_bytes()) for p in paths]
    weights = jieba_keyword_weights()
    options = ParseOptions(timezone=TZ, now=datetime.datetime.now(datetime.UTC), keyword_weights=weights)
    parsed_batch(files[:50], options)
    parse = min(_timed(lambda: parsed_batch(files, options)) for _ in range(2))
    articles = parsed_batch(files, options).articles
    lines = min(_timed(lambda: article_lines(articles)) for _ in range(2))
    counts = next_line_counts(
        LINE_COUNTS.empty_frame(), pl.DataFrame(schema=ARTICLE_LINES_SCHEMA), article_lines(articles)
    )
    model = model_of(learned_lines(counts, LearningRule()))
    relearn = _timed(lambda: relearned_articles(articles, model, weights))
    return {
        "boilerplate_lines_cost": round(lines / parse, 3),
        "boilerplate_relearn_all_cost": round(relearn / parse, 3),
        "boilerplate_learned_lines": sum(len(v) for v in model.values()),
    }


def _prefect_overhead(source: Path, lake: Path) -> dict[str, float]:
    """An empty Prefect flow against a no-op `newslake run --prefect` (both start a temporary server)."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL"}  # fmt: skip
    empty = "from prefect import flow\n@flow\ndef empty():\n    return 1\nempty()\n"
    run = [
        sys.executable,
        "-m",
        "flows.cli",
        "run",
        "--prefect",
        "--quiet",
        "--source",
        str(source),
        "--lake",
        str(lake),
    ]
    t_empty = min(_timed(lambda: subprocess.run([sys.executable, "-c", empty], env=env, check=True,
                                                capture_output=True)) for _ in range(2))  # fmt: skip
    t_noop = min(
        _timed(lambda: subprocess.run(run, env=env, check=True, cwd=ROOT, capture_output=True))
        for _ in range(2)
    )
    return {"empty_prefect_flow_s": round(t_empty, 2), "noop_rerun_via_prefect_s": round(t_noop, 2),
            "noop_minus_empty_s": round(t_noop - t_empty, 2)}  # fmt: skip


def _cli_env() -> dict[str, str]:
    """What a user's shell has: no Prefect API, so `newslake run` runs in-process."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def _cli_seconds(args: list[str]) -> float:
    """Wall time of one `newslake ARGS` from a fresh interpreter, as a user pays it."""
    command = [sys.executable, "-m", "flows.cli", *args]
    return _timed(lambda: subprocess.run(command, env=_cli_env(), check=True, cwd=ROOT, capture_output=True))


def _import_floor_s() -> float:
    """The least any command of a Polars + DuckDB tool can cost here: the interpreter and the imports."""
    command = [sys.executable, "-c", "import polars, duckdb"]
    return min(_timed(lambda: subprocess.run(command, env=_cli_env(), check=True)) for _ in range(5))


def _command_line_costs(source: Path, lake: Path) -> dict[str, float]:
    """A no-op `newslake run` and a `newslake query` against the import floor (same run, same machine)."""
    floor = _import_floor_s()
    noop = min(
        _cli_seconds(["run", "--quiet", "--source", str(source), "--lake", str(lake)]) for _ in range(3)
    )
    query = min(
        _cli_seconds(["query", "--lake", str(lake), "--format", "csv", "SELECT count(*) FROM articles"])
        for _ in range(5)
    )
    return {
        "import_floor_s": round(floor, 3),
        "cli_noop_run_s": round(noop, 3),
        "cli_noop_vs_floor": round(noop / floor, 2),
        "cli_query_s": round(query, 3),
        "cli_query_vs_floor": round(query / floor, 2),
    }


def measure(
    n: int, work: Path, cores: int, prefect: bool, real: Path | None = None, plain: bool = False
) -> dict[str, Any]:
    kind = ("plain-copies" if plain else "realistic") if real else "synthetic"
    source, lake = work / f"corpus-{kind}-{n}", work / f"lake-{kind}-{n}"
    paths = _corpus(source, n, real, plain)
    shutil.rmtree(lake, ignore_errors=True)
    result: dict[str, Any] = {"articles": n, "corpus": kind}

    t_trafilatura = _on_all_cores(trafilatura_batch, paths, cores)
    settings = Settings(source=source, lake=lake, workers=cores)  # the defaults a user gets
    # This machine's speed drifts between minutes (the ceiling alone has moved 2x between runs), so
    # the ceiling and the full run alternate, ROUNDS times each, and the best of each is compared.
    t_ceiling, t_full, t_cli, peak_rss = float("inf"), float("inf"), float("inf"), 0
    full_stages: dict[str, float] = {}
    cli_lake = work / f"lake-{kind}-{n}-cli"
    for _ in range(ROUNDS):
        t_ceiling = min(t_ceiling, _on_all_cores(ceiling_batch, paths, cores))
        shutil.rmtree(lake, ignore_errors=True)
        seconds, rss, stages = _full_run(settings)
        if seconds < t_full:
            full_stages = stages
        t_full, peak_rss = min(t_full, seconds), max(peak_rss, rss)
        shutil.rmtree(cli_lake, ignore_errors=True)
        t_cli = min(t_cli, _cli_seconds(["run", "--quiet", "--source", str(source), "--lake", str(cli_lake)]))
    result.update(
        ceiling_articles_per_s=round(n / t_ceiling),
        trafilatura_articles_per_s=round(n / t_trafilatura),
        full_run_articles_per_s=round(n / t_full),
        full_run_s=round(t_full, 2),
        ratio_vs_ceiling=round(t_ceiling / t_full, 2),
        ratio_vs_trafilatura=round(t_trafilatura / t_full, 2),
        peak_rss_mb=round(peak_rss / 2**20),
        cli_run_s=round(t_cli, 2),
        cli_ratio_vs_ceiling=round(t_ceiling / t_cli, 2),
    )
    # Each stage's share of the full run (learn: what the archive teaches, boilerplate and stories).
    result.update(
        {f"full_{stage}_share": round(t / sum(full_stages.values()), 3) for stage, t in full_stages.items()}
    )
    result.update(_command_line_costs(source, cli_lake))
    shutil.rmtree(cli_lake, ignore_errors=True)
    result["noop_rerun_s"] = round(_timed(lambda: run_pipeline(settings)), 2)
    for path in paths[:: max(1, n // (n // 100 or 1))][: max(1, n // 100)]:
        data = Path(path).read_bytes()
        Path(path).write_bytes(data.replace(b"title: ", b"title: 1% ", 1))
    start = time.perf_counter()
    one_percent = run_pipeline(settings)
    result["incremental_1pct_s"] = round(time.perf_counter() - start, 2)
    result["incremental_1pct_vs_full"] = round(result["incremental_1pct_s"] / t_full, 3)
    result["incremental_1pct_learn_s"] = one_percent.stage_seconds.get("learn", 0.0)
    result.update(_explain_partition_files(settings.catalog_path))
    # In a child process: parsing here would grow this process, whose RSS the next size's run counts.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        result.update(pool.submit(_keyword_cost, paths[:2000]).result())
        result.update(pool.submit(_boilerplate_cost, paths[:2000]).result())
    if prefect:
        result.update(_prefect_overhead(source, lake))
    for path in paths[:: max(1, n // (n // 100 or 1))][: max(1, n // 100)]:
        data = Path(path).read_bytes()
        Path(path).write_bytes(data.replace(b"title: 1% ", b"title: ", 1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated corpus sizes")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "data" / "bench", help="where corpora and lakes go"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="where the JSON goes")
    parser.add_argument(
        "--real", type=Path, default=None, help="build the corpora from these real files instead"
    )
    parser.add_argument("--no-prefect", action="store_true", help="skip the Prefect start-up comparison")
    parser.add_argument(
        "--plain-copies", action="store_true", help="with --real: plain copies (titles numbered) instead"
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    sizes = [int(s) for s in args.sizes.split(",") if s]
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "cores": cores,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    results = [
        measure(
            n,
            args.work,
            cores,
            prefect=(n == max(sizes) and not args.no_prefect),
            real=args.real,
            plain=args.plain_copies,
        )
        for n in sizes
    ]
    if len(results) > 1:
        small, large = results[0], results[-1]
        large["peak_rss_vs_smallest"] = round(large["peak_rss_mb"] / max(small["peak_rss_mb"], 1), 2)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine,
        "results": results,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    name = f"bench-{results[0]['corpus']}.json"
    (args.out / name).write_text(json.dumps(report, indent=1))
    keys = [k for k in results[0] if k not in ("explain_excerpt",)]
    width = max(len(k) for k in keys)
    print(f"machine: {machine}")
    print(f"{'':{width}}  " + "  ".join(f"{r['articles']:>12}" for r in results))
    for key in keys + [k for k in results[-1] if k not in keys and k != "explain_excerpt"]:
        print(f"{key:{width}}  " + "  ".join(f"{r.get(key, ''):>12}" for r in results))
    print(f"EXPLAIN ANALYZE ({results[-1]['filtered_partition']}): {results[-1]['explain_excerpt']}")
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
