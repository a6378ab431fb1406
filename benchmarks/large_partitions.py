"""Large partitions: N realistic real-derived articles (benchmarks.corpus) dated into three months,
run through the command line.

    python -m benchmarks.large_partitions [--sizes 200000] [--real ../shared/corpus]

Measures, each against a baseline of the same run:
- the full run's wall time and the peak RSS of its whole process tree (pool workers included),
- a run after 1% of the files changed, against the full run,
- a no-op run, against listing and stat'ing the source plus importing polars and duckdb,
- the files of each partition and their largest row count (bounded by --rows-per-file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.corpus import realistic_copies
from benchmarks.run import ROOT, PeakRss

MONTHS = ((2022, 1, "Jan"), (2022, 2, "Feb"), (2022, 3, "Mar"))
_DATE = re.compile(rb"^date: .*$", re.M)


def _articles(real: Path, n: int) -> Iterator[tuple[str, bytes]]:
    """n realistic copies of the real files (benchmarks.corpus), dated in one of three months."""
    for i, data in realistic_copies(real, n):
        year, _month, name = MONTHS[i % len(MONTHS)]
        day, seconds = 1 + (i // 3) % 28, i % 86_400
        date = f"date: {day:02d} {name} {year} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d} GMT"
        yield f"{i:07d}.md", _DATE.sub(date.encode(), data, count=1)


def _corpus(folder: Path, n: int, real: Path) -> None:
    marker = folder / f".complete-realistic-{n}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, data in _articles(real, n):
        (folder / name).write_bytes(data)
    marker.touch()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def _cli(args: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS of the process tree of one `newslake ARGS`."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=_env())
    with PeakRss(proc.pid) as rss:
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"newslake {' '.join(args)} failed ({proc.returncode})")
    return time.perf_counter() - start, rss.peak


_LISTING = """
import os, sys
import polars, duckdb
n = 0
for entry in os.scandir(sys.argv[1]):
    if entry.is_file(follow_symlinks=False):
        entry.stat()
        n += 1
"""


def _listing_floor_s(source: Path) -> float:
    command = [sys.executable, "-c", _LISTING, str(source)]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, check=True, env=_env())
        best = min(best, time.perf_counter() - start)
    return best


def _file_sizes(lake: Path) -> dict[str, Any]:
    import polars as pl

    state = json.loads((lake / "_state.json").read_text())
    rows = {
        name: [pl.scan_parquet(lake / "_files" / rel).select(pl.len()).collect().item() for rel in files]
        for name, files in state["partitions"].items()
    }
    return {
        "partitions": len(rows),
        "files": sum(len(v) for v in rows.values()),
        "largest_partition_rows": max(sum(v) for v in rows.values()),
        "largest_file_rows": max(max(v) for v in rows.values()),
    }


def measure(n: int, work: Path, real: Path) -> dict[str, Any]:
    source, lake = work / f"corpus-months-{n}", work / f"lake-months-{n}"
    _corpus(source, n, real)
    shutil.rmtree(lake, ignore_errors=True)
    run = ["run", "--quiet", "--source", str(source), "--lake", str(lake)]
    full_s, full_rss = _cli(run)
    result: dict[str, Any] = {
        "articles": n,
        "full_run_s": round(full_s, 1),
        "full_peak_rss_mb": full_rss >> 20,
    }
    result.update(_file_sizes(lake))
    changed = sorted(source.glob("*.md"))[::100]
    for path in changed:
        path.write_bytes(path.read_bytes().replace(b"title: ", b"title: 1% ", 1))
    try:
        inc_s, inc_rss = _cli(run)
    finally:
        for path in changed:
            path.write_bytes(path.read_bytes().replace(b"title: 1% ", b"title: ", 1))
    _cli(run)  # back to the corpus as built
    noop_s = min(_cli(run)[0] for _ in range(3))
    floor_s = _listing_floor_s(source)
    result.update(
        incremental_1pct_s=round(inc_s, 1),
        incremental_peak_rss_mb=inc_rss >> 20,
        incremental_vs_full=round(inc_s / full_s, 3),
        noop_run_s=round(noop_s, 2),
        listing_and_imports_s=round(floor_s, 2),
        noop_vs_listing=round(noop_s / floor_s, 2),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="200000", help="comma-separated corpus sizes")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "data" / "bench", help="where corpora and lakes go"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="where the JSON goes")
    parser.add_argument(
        "--real", type=Path, default=ROOT.parent / "shared" / "corpus", help="real article files"
    )
    args = parser.parse_args()
    results = [measure(int(s), args.work, args.real) for s in args.sizes.split(",") if s]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench-large-partitions.json").write_text(json.dumps(results, indent=1))
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
