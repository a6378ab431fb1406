"""The newslake command line: run, query, sample."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.settings import Settings

# An option's default is the settings model's: declared once.
_DEFAULTS: dict[str, Any] = {name: field.default for name, field in Settings.model_fields.items()}


app = typer.Typer(
    help="newslake: raw RSS article files → typed Parquet lake → DuckDB catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SAMPLE_SIZE = 200


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"newslake: error: {message}", err=True)
    raise typer.Exit(code)


def _quiet_prefect(console_level: str = "CRITICAL") -> None:
    """Prefect reads these when imported: no telemetry calls (no network here), stage logs to the
    API (the UI shows them), and the console kept to console_level so the CLI prints one summary."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", console_level)
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")


# Options that several commands share, declared once.
LakeOption = Annotated[str, typer.Option(help="Lake root: folder or s3://bucket/prefix.")]
CatalogOption = Annotated[
    Path | None, typer.Option(help="DuckDB catalog file (default LAKE/warehouse.duckdb; required for S3).")
]
TzOption = Annotated[str, typer.Option(help="Time zone of naive front-matter dates.")]
BatchSizeOption = Annotated[int, typer.Option(help="Files per transform task.")]
BatchBytesOption = Annotated[int, typer.Option(help="Source bytes per transform task at most.")]
BadRatioOption = Annotated[float, typer.Option(help="Above this share of bad files, load nothing and fail.")]


@app.command()
def run(
    source: Annotated[
        str | None,
        typer.Option(help="Folder or s3://bucket/prefix of raw article files (default: generated sample)."),
    ] = None,
    lake: LakeOption = "data/lake",
    tz: TzOption = _DEFAULTS["tz"],
    catalog: CatalogOption = None,
    dask_address: Annotated[
        str | None, typer.Option(help="tcp://host:port of a Dask scheduler to run the transform tasks on.")
    ] = None,
    batch_size: BatchSizeOption = _DEFAULTS["batch_size"],
    batch_bytes: BatchBytesOption = _DEFAULTS["batch_bytes"],
    workers: Annotated[int | None, typer.Option(help="Transform processes (default: CPU cores).")] = None,
    max_file_bytes: Annotated[int, typer.Option(help="Quarantine larger files unread.")] = _DEFAULTS[
        "max_file_bytes"
    ],
    max_bad_ratio: BadRatioOption = _DEFAULTS["max_bad_ratio"],
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild the whole lake.")] = False,
    allow_mass_delete: Annotated[
        bool, typer.Option("--allow-mass-delete", help="Allow deleting over half the rows.")
    ] = False,
    lock_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a concurrent run's lock.")
    ] = _DEFAULTS["lock_timeout"],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Load SOURCE into LAKE incrementally and publish the DuckDB catalog."""
    _quiet_prefect()
    from pydantic import ValidationError

    from flows.sample import write_sample
    from warehouse.storage import is_remote

    if source is None:
        source = "data/sample"
        write_sample(Path(source), SAMPLE_SIZE)
    if not is_remote(source) and not Path(source).is_dir():
        _fail(f"source {source} is not a folder")
    try:
        settings = Settings(
            source=source, lake=lake, tz=tz, catalog=catalog, batch_size=batch_size, batch_bytes=batch_bytes,
            workers=workers or (os.cpu_count() or 1), max_file_bytes=max_file_bytes,
            max_bad_ratio=max_bad_ratio, full_refresh=full_refresh,
            allow_mass_delete=allow_mass_delete, lock_timeout=lock_timeout,
            dask_address=dask_address, storage_options=_storage_options(),
        )  # fmt: skip
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), 2)
        return
    summary = _run_flow(settings, progress=not (quiet or as_json) and sys.stdout.isatty())
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, default=str))
    elif not quiet:
        _print_summary(summary, settings)
    if summary["status"] not in ("succeeded", "no_changes"):
        _fail(summary.get("message") or summary["status"])


def _storage_options() -> dict[str, Any]:
    """fsspec options from the standard AWS environment; only the entry point reads it."""
    options: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    if os.environ.get("AWS_REGION"):
        options.setdefault("client_kwargs", {})["region_name"] = os.environ["AWS_REGION"]
    return options


def _run_flow(settings: Any, progress: bool = False) -> dict[str, Any]:
    if progress:
        from rich.progress import Progress

        import flows.etl

        with Progress(transient=True) as bar:
            task_id = bar.add_task("transforming", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task_id, completed=done, total=total)

            flows.etl.PROGRESS = advance
            try:
                return _run_flow(settings)
            finally:
                flows.etl.PROGRESS = None
    from flows.etl import run_etl
    from flows.pipeline import RunRejected
    from warehouse.load import MassDeleteRefused
    from warehouse.lock import LakeBusy
    from warehouse.validation import ContractViolation

    try:
        return run_etl(settings)
    except (MassDeleteRefused, RunRejected, LakeBusy, ContractViolation, OSError) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        from botocore.exceptions import NoCredentialsError  # s3fs's; imported only on this path

        if isinstance(exc, NoCredentialsError):
            _fail(
                "no AWS credentials found: every process that reads or writes S3 needs its own (this one "
                "and each Dask worker: the AWS environment or an instance role); tasks are never sent secrets"
            )
        _fail(f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    raise AssertionError("unreachable")


def _print_summary(summary: dict[str, Any], settings: Any) -> None:
    from warehouse.catalog import connect_read_only

    typer.echo(
        f"run {summary['run_id']}: {summary['status']} in {summary['seconds']:.2f}s\n"
        f"  files seen {summary['files_seen']} (new {summary['files_new']}, changed {summary['files_changed']}, "
        f"unchanged {summary['files_unchanged']}, deleted {summary['files_deleted']})\n"
        f"  rows loaded {summary['rows_written']}, rows deleted {summary['rows_deleted']}, "
        f"quarantined {summary['quarantined']}"
        + (f" {summary['quarantine_by_reason']}" if summary["quarantine_by_reason"] else "")
        + f"\n  partitions written {len(summary['partitions_rewritten'])}"
    )
    con = connect_read_only(settings.catalog_path, settings.storage_options)
    try:
        total = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
        typer.echo(f"  catalog {settings.catalog_path} ({total} articles)")
        sample_sql = (
            "SELECT source, feed, count(*) AS articles, round(avg(char_count)) AS avg_chars "
            "FROM articles GROUP BY ALL ORDER BY articles DESC, source, feed LIMIT 5"
        )
        typer.echo(f"\nsample query: {sample_sql}")
        cursor = con.execute(sample_sql)
        columns = [d[0] for d in cursor.description or []]
        _print_rows(columns, cursor.fetchall(), OutputFormat.table)
    finally:
        con.close()


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="Cron schedule, e.g. '0 * * * *' (every hour).")],
    source: Annotated[str, typer.Option(help="Folder or s3://bucket/prefix of raw article files.")],
    lake: LakeOption = "data/lake",
    catalog: CatalogOption = None,
    name: Annotated[str, typer.Option(help="Deployment name.")] = "newslake-scheduled",
    tz: TzOption = _DEFAULTS["tz"],
    batch_size: BatchSizeOption = _DEFAULTS["batch_size"],
    batch_bytes: BatchBytesOption = _DEFAULTS["batch_bytes"],
    max_bad_ratio: BadRatioOption = _DEFAULTS["max_bad_ratio"],
) -> None:
    """Serve a scheduled deployment of newslake-etl on the Prefect server at PREFECT_API_URL, until interrupted."""
    if not os.environ.get("PREFECT_API_URL"):
        _fail(
            "PREFECT_API_URL is not set: start a server (`prefect server start`) and "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api`, or log in to Prefect Cloud",
            2,
        )
    _quiet_prefect(console_level="INFO")
    from pydantic import ValidationError

    from warehouse.storage import absolute_location

    try:
        settings = Settings(
            source=absolute_location(source),
            lake=absolute_location(lake),
            catalog=catalog.resolve() if catalog else None,
            tz=tz,
            batch_size=batch_size,
            batch_bytes=batch_bytes,
            max_bad_ratio=max_bad_ratio,
            storage_options=_storage_options(),
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), 2)
        return
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    from flows.etl import etl

    typer.echo(
        f"serving deployment newslake-etl/{name} on {os.environ['PREFECT_API_URL']} with cron {cron!r}"
    )
    try:
        etl.serve(
            name=name,
            cron=cron,
            parameters={"settings": settings.model_dump(mode="json")},
            # A run scheduled while another runs is cancelled, not queued: the next tick catches up.
            global_limit=ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
            ),
            description="newslake: raw article files to the Parquet lake, incrementally",
            tags=["newslake"],
            print_starting_message=False,
        )
    except KeyboardInterrupt:
        typer.echo("stopped")
    except Exception as exc:
        _fail(f"serve failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run against the catalog's views.")],
    lake: Annotated[Path, typer.Option(help="Lake root.")] = Path("data/lake"),
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog file (default LAKE/warehouse.duckdb).")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """Run SQL against the catalog, read-only."""
    import duckdb

    from warehouse.catalog import connect_read_only

    path = (catalog or lake / "warehouse.duckdb").resolve()
    try:
        con = connect_read_only(path, _storage_options())
    except (FileNotFoundError, duckdb.Error) as exc:
        _fail(str(exc).splitlines()[0])
        return
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        _fail(str(exc).splitlines()[0])
        return
    finally:
        con.close()
    _print_rows(columns, rows, fmt)


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        typer.echo(
            json.dumps([dict(zip(columns, r, strict=True)) for r in rows], ensure_ascii=False, default=str)
        )
    elif fmt is OutputFormat.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console(width=max(120, Console().width)).print(table)


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    lake: Annotated[Path, typer.Option(help="Lake root.")] = Path("data/lake"),
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog file (default LAKE/warehouse.duckdb).")
    ] = None,
    days: Annotated[int, typer.Option(help="Days shown in the per-day chart.")] = 60,
) -> None:
    """Write a self-contained, offline HTML dashboard of the lake."""
    import datetime as dt

    import duckdb

    from warehouse.catalog import connect_read_only
    from warehouse.report import report_data, report_html

    path = (catalog or lake / "warehouse.duckdb").resolve()
    try:
        con = connect_read_only(path, _storage_options())
        try:
            data = report_data(con, days)
        finally:
            con.close()
        out.write_text(report_html(data, dt.datetime.now(dt.UTC)), encoding="utf-8")
    except (FileNotFoundError, duckdb.Error, OSError) as exc:
        _fail(str(exc).splitlines()[0])
    typer.echo(f"wrote {out} ({data.totals.get('articles', 0)} articles)")


@app.command()
def sample(
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("data/sample"),
    count: Annotated[int, typer.Option(help="Number of files.")] = SAMPLE_SIZE,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same files.")] = 0,
) -> None:
    """Generate deterministic sample article files."""
    from flows.sample import write_sample

    write_sample(out, count, seed)
    typer.echo(f"wrote {count} sample files to {out}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
