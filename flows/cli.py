"""The newslake command line: run, repair, serve, query, report, sample.

Each command imports what it needs when it runs: `--help`, `query`, `report` and `sample`
never import Prefect, and `--help` and `query` not Polars, pandera or the settings model
(flows/defaults.py holds the defaults they show).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from flows import defaults


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("newslake")
    except PackageNotFoundError:
        package = "(not installed)"
    from transforms.version import PARSER_VERSION

    click.echo(f"newslake {package} (parser {PARSER_VERSION})")
    ctx.exit()


@click.group(
    help="newslake: raw RSS article files → typed Parquet lake → DuckDB catalog.",
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    allow_from_autoenv=False,
    callback=_print_version,
    help="Print the package version and the parser version, and exit.",
)
def app() -> None:
    pass


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


# Control characters in article text would drive the terminal (colours, cursor moves, a title
# that overwrites its line): they are shown as escapes. Tab and newline only lay text out.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# JSON escapes C0 itself; DEL and C1 it leaves raw unless everything non-ASCII is escaped.
_CONTROLS_JSON_KEEPS = re.compile(r"[\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def _visible_text(value: object) -> str:
    """value as text for a terminal: every control character but tab and newline escaped (\\x1b, \\r)."""
    return _CONTROLS_BUT_LAYOUT.sub(_escape, str(value))


def _one_line_text(value: object) -> str:
    """value as one line of text for a terminal: every control character escaped, newlines too."""
    return _CONTROLS.sub(_escape, str(value))


def _json_text(value: Any) -> str:
    """value as JSON whose strings carry no raw control character (still the same JSON values)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _CONTROLS_JSON_KEEPS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"newslake: error: {_one_line_text(message)}", err=True)
    sys.exit(code)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _duckdb_message(exc: BaseException) -> str:
    """DuckDB's error with its hints ("Did you mean", "Candidate bindings") on one line; the
    statement excerpt after the blank line is left out."""
    text = str(exc).strip()
    lines = text.split("\n\n", 1)[0].splitlines() if text else []
    return " ".join(line.strip() for line in lines) or type(exc).__name__


def _quiet_prefect(console_level: str = "CRITICAL") -> None:
    """Prefect reads these when imported: no telemetry calls (no network here), stage logs to the
    API (the UI shows them), and the console kept to console_level so the CLI prints one summary."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", console_level)
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")


def _settings_or_exit(**values: Any) -> Any:
    """The settings model built from the options; invalid values are one line and exit 2."""
    from pydantic import ValidationError

    from flows.settings import Settings

    try:
        return Settings(**values)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()), 2)


class _Text(click.ParamType):
    """Text that is not blank: an empty --lake or --source ("$LAKE" unset) would mean the current folder."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("must not be blank", param, ctx)
        return value


class _PathType(click.Path):
    """A path that is not blank (click would take "" as the current folder)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("must not be blank", param, ctx)
        return super().convert(value, param, ctx)


class _FiniteFloatRange(click.FloatRange):
    """A FloatRange without nan and inf: nan passes every range check, inf one without a maximum."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


_TEXT = _Text()
_PATH = _PathType(path_type=Path)
# Bounds of the numeric options: past them a value is a typo, or a failure far from its cause (a
# process per worker, a file or a batch read into memory, a date range DuckDB cannot hold).
_MAX_WORKERS = 1024
_MAX_BYTES = 2**40
_MAX_LOCK_TIMEOUT_S = 86_400.0
_MAX_REPORT_DAYS = 36_600
_MAX_SAMPLE_FILES = 10_000_000

# Options that several commands share, declared once.
_lake_option = click.option(
    "--lake", type=_TEXT, default=defaults.LAKE, help="Lake root: folder or s3://bucket/prefix."
)
_catalog_option = click.option(
    "--catalog",
    type=_PATH,
    default=None,
    help=f"DuckDB catalog file (default LAKE/{defaults.CATALOG_NAME}; required for an S3 lake).",
)
_tz_option = click.option(
    "--tz", type=_TEXT, default=defaults.TZ, help="Time zone of naive front-matter dates."
)
_batch_size_option = click.option(
    "--batch-size", type=click.IntRange(min=1), default=defaults.BATCH_SIZE, help="Files per transform task."
)
_batch_bytes_option = click.option(
    "--batch-bytes",
    type=click.IntRange(1, _MAX_BYTES),
    default=defaults.BATCH_BYTES,
    help="Source bytes per transform task at most.",
)
_bad_ratio_option = click.option(
    "--max-bad-ratio",
    type=_FiniteFloatRange(0.0, 1.0),
    default=defaults.MAX_BAD_RATIO,
    help="Above this share of bad files, load nothing and fail.",
)
_LOCK_TIMEOUT = _FiniteFloatRange(0.0, _MAX_LOCK_TIMEOUT_S)
_securities_option = click.option(
    "--securities",
    type=_PathType(path_type=Path, dir_okay=False),
    default=None,
    help="CSV or Parquet list of securities (columns code, name, aliases): their names found in "
    "the text become stock mentions.",
)
_read_lake_option = click.option("--lake", type=_PATH, default=Path(defaults.LAKE), help="Lake root.")
_read_catalog_option = click.option(
    "--catalog",
    type=_PATH,
    default=None,
    help=f"Catalog file (default LAKE/{defaults.CATALOG_NAME}).",
)

_SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the run is, so that it stops the way Ctrl-C stops it."""


def _raise_terminated(_signum: int, _frame: object) -> None:
    raise _Terminated()


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop a run the same way (a shell starts background jobs with SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)


SERVE_STOP_SECONDS = 10.0


def _serve_stops_on_first_interrupt(grace: float = SERVE_STOP_SECONDS) -> None:
    """The first Ctrl-C stops serve: it interrupts as usual (Prefect's runner shuts down, a flow run
    in progress records that it was interrupted), and if the process is still there grace seconds
    later (Prefect's shutdown waiting on its server, or a thread it left behind) it exits anyway,
    as it does at once on a second Ctrl-C."""
    stopping = threading.Event()

    def exit_now(message: str) -> None:
        click.echo(message, err=True)
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(130)

    def on_interrupt(_signum: int, _frame: object) -> None:
        if stopping.is_set():
            exit_now("serve: stopped at the second Ctrl-C")
        stopping.set()
        click.echo("serve: stopping (Ctrl-C again to exit at once)", err=True)
        timer = threading.Timer(
            grace, exit_now, args=(f"serve: not stopped {grace:.0f} s after Ctrl-C: exiting",)
        )
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)


@app.command()
@click.option(
    "--source",
    type=_TEXT,
    default=None,
    help="Folder or s3://bucket/prefix of raw article files (default: generated sample).",
)
@_lake_option
@_tz_option
@_catalog_option
@click.option(
    "--dask-address",
    type=_TEXT,
    default=None,
    help="tcp://host:port of a Dask scheduler to run the transform tasks on.",
)
@_batch_size_option
@_batch_bytes_option
@click.option(
    "--workers",
    type=click.IntRange(1, _MAX_WORKERS),
    default=None,
    help="Transform processes (default: CPU cores).",
)
@click.option(
    "--max-file-bytes",
    type=click.IntRange(1, _MAX_BYTES),
    default=defaults.MAX_FILE_BYTES,
    help="Quarantine larger files unread.",
)
@_bad_ratio_option
@_securities_option
@click.option("--full-refresh", is_flag=True, help="Rebuild the whole lake.")
@click.option("--allow-mass-delete", is_flag=True, help="Allow deleting over half the rows.")
@click.option(
    "--lock-timeout",
    type=_LOCK_TIMEOUT,
    default=defaults.LOCK_TIMEOUT,
    help="Seconds to wait for a concurrent run's lock.",
)
@click.option(
    "--prefect",
    is_flag=True,
    help="Run as the newslake-etl Prefect flow (the default when PREFECT_API_URL is set; "
    "without it a temporary server is started).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def run(
    source: str | None, lake: str, tz: str, catalog: Path | None, dask_address: str | None, batch_size: int,
    batch_bytes: int, workers: int | None, max_file_bytes: int, max_bad_ratio: float,
    securities: Path | None, full_refresh: bool, allow_mass_delete: bool, lock_timeout: float,
    prefect: bool, as_json: bool, quiet: bool,
) -> None:  # fmt: skip
    """Load SOURCE into LAKE incrementally and publish the DuckDB catalog."""
    _stop_on_signals()
    use_prefect = prefect or bool(os.environ.get("PREFECT_API_URL"))
    from warehouse.storage import is_remote

    if source is None:
        from flows.sample import write_sample

        source = defaults.SOURCE
        write_sample(Path(source), defaults.SAMPLE_SIZE)
    if not is_remote(source) and not Path(source).is_dir():
        _fail(f"source {source} is not a folder", 2)
    settings = _settings_or_exit(
        source=source, lake=lake, tz=tz, catalog=catalog, batch_size=batch_size, batch_bytes=batch_bytes,
        workers=workers if workers is not None else (os.cpu_count() or 1), max_file_bytes=max_file_bytes,
        max_bad_ratio=max_bad_ratio, securities=securities, full_refresh=full_refresh,
        allow_mass_delete=allow_mass_delete, lock_timeout=lock_timeout,
        dask_address=dask_address, storage_options=_storage_options(),
    )  # fmt: skip
    progress = not (quiet or as_json) and sys.stdout.isatty()
    if use_prefect:
        summary, where = _run_with_prefect(settings)
    else:
        summary = _run_here(settings, progress)
        where = "in this process" + (
            f", its batches on the Dask cluster at {dask_address}" if dask_address else ""
        )
    # Nothing in the source and nothing in the lake: a wrong --source, or files of another kind.
    found_nothing = (
        summary["status"] in _succeeded() and summary["files_seen"] == 0 and summary["files_deleted"] == 0
    )
    if as_json:
        click.echo(_json_text(summary))
    elif not quiet and not found_nothing:
        _print_summary(summary, settings, where)
        _print_next_steps(settings)
    if found_nothing:
        _fail(f"no file matching {', '.join(settings.patterns)} under {source}")
    if summary["status"] not in _succeeded():
        _fail(summary.get("message") or summary["status"])


@app.command()
@_lake_option
@click.option(
    "--source", type=_TEXT, required=True, help="Folder or s3://bucket/prefix of the raw article files."
)
@_catalog_option
@_tz_option
@_securities_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def repair(
    lake: str, source: str, catalog: Path | None, tz: str, securities: Path | None, as_json: bool
) -> None:
    """Rebuild a damaged or moved lake from SOURCE, keeping the run history that can be read."""
    _stop_on_signals()
    from warehouse.storage import is_remote

    if not is_remote(source) and not Path(source).is_dir():
        _fail(f"source {source} is not a folder", 2)
    settings = _settings_or_exit(
        source=source, lake=lake, tz=tz, catalog=catalog, securities=securities,
        storage_options=_storage_options(),
    )  # fmt: skip
    from flows.pipeline import repaired_lake

    summary = _guarded(lambda: repaired_lake(settings).as_dict())
    if as_json:
        click.echo(_json_text(summary))
        return
    click.echo(
        f"repaired {settings.lake}: {summary['rows_written']} articles and {summary['quarantined']} "
        f"quarantine records rebuilt from {settings.source}; catalog {settings.catalog_path}"
    )


def _storage_options() -> dict[str, Any]:
    """fsspec options from the standard AWS environment; only the entry point reads it."""
    options: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    if os.environ.get("AWS_REGION"):
        options.setdefault("client_kwargs", {})["region_name"] = os.environ["AWS_REGION"]
    return options


def _run_here(settings: Any, progress: bool) -> dict[str, Any]:
    """The stages in this process (no Prefect API configured)."""
    from flows.local_run import run_in_process

    if not progress:
        return _guarded(lambda: run_in_process(settings).as_dict())
    from rich.progress import Progress

    def with_a_bar() -> dict[str, Any]:  # the bar is gone before any message is printed
        with Progress(transient=True) as bar:
            task_id = bar.add_task("transforming", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task_id, completed=done, total=total)

            return run_in_process(settings, progress=advance).as_dict()

    return _guarded(with_a_bar)


def _run_with_prefect(settings: Any) -> tuple[dict[str, Any], str]:
    """The newslake-etl flow, on PREFECT_API_URL's server or on a temporary one of our own: its
    summary, and where it ran (the flow run's page on the server, or the temporary server's run)."""
    _quiet_prefect()
    flow_runs: list[str] = []
    if os.environ.get("PREFECT_API_URL"):
        from flows.etl import run_etl

        summary = _guarded(lambda: run_etl(settings, on_start=flow_runs.append))
        return summary, f"as Prefect flow run {_flow_run_url(flow_runs[-1]) if flow_runs else '(unknown)'}"
    from flows.prefect_server import ServerDidNotStart, temporary_prefect_server

    try:
        with temporary_prefect_server() as api:
            os.environ["PREFECT_API_URL"] = api
            from flows.etl import run_etl

            try:
                summary = _guarded(lambda: run_etl(settings, on_start=flow_runs.append))
            finally:
                _drained_prefect_clients()
    except ServerDidNotStart as exc:
        _fail(str(exc))
    except KeyboardInterrupt as exc:  # while the server was starting: nothing ran
        _exit_interrupted(exc, None)
    flow_run = flow_runs[-1] if flow_runs else "(unknown)"
    return summary, (
        f"as Prefect flow run {flow_run} on a temporary server, now stopped "
        "(set PREFECT_API_URL to keep runs on a server of your own)"
    )


def _flow_run_url(flow_run_id: str) -> str:
    """The flow run's page in the Prefect UI: PREFECT_UI_URL's (Prefect derives it from the API's
    URL, for Prefect Cloud too), or the API's URL without /api."""
    from prefect.utilities.urls import url_for

    api = os.environ.get("PREFECT_API_URL", "").rstrip("/").removesuffix("/api")
    return url_for("flow-run", obj_id=flow_run_id) or f"{api}/runs/flow-run/{flow_run_id}"


def _succeeded() -> tuple[str, ...]:
    from warehouse.tables import RunStatus  # with Polars: only after a run, which has imported it

    return (RunStatus.SUCCEEDED, RunStatus.NO_CHANGES)


def _drained_prefect_clients(timeout_s: float = 5.0) -> None:
    """Send Prefect's queued logs and events while its server is still up: once it is stopped,
    they would be retried at exit for a minute or more."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=timeout_s)


def _exit_interrupted(exc: BaseException, summary: Any) -> NoReturn:
    cause = getattr(exc, "cause", exc)
    # Prefect's own SIGTERM handler raises TerminationSignal, which carries the signal
    terminated = isinstance(cause, _Terminated) or getattr(cause, "signal", None) == signal.SIGTERM
    sig = signal.SIGTERM if terminated else signal.SIGINT
    if summary is None:
        outcome = "before the lake was changed: the lake is unchanged"
    elif summary.committed and summary.status in _succeeded():
        outcome = f"after run {summary.run_id} committed: the lake holds its changes" + (
            "" if summary.stage != "publish" else "; the next run publishes the catalog"
        )
    else:
        outcome = (
            f"during {summary.stage}: the lake is unchanged (run {summary.run_id} recorded as interrupted)"
        )
    click.echo(f"newslake: interrupted by {sig.name} {outcome}", err=True)
    sys.exit(_SIGNAL_EXIT[sig])


def _guarded(work: Any) -> dict[str, Any]:
    """Run work(); every failure becomes one line (the last line of defence: never a traceback)."""
    from flows.pipeline import RunInterrupted

    try:
        result: dict[str, Any] = work()
        return result
    except RunInterrupted as exc:
        _exit_interrupted(exc, exc.summary)
    except SystemExit:
        raise
    except BaseException as exc:
        if isinstance(exc, Exception):
            _fail_in_one_line(exc)
        _exit_interrupted(exc, None)  # an orchestrator's signal, before the run could record it
    raise AssertionError("unreachable")


def _fail_in_one_line(exc: Exception) -> NoReturn:
    from flows.pipeline import RunRejected, StageFailed
    from warehouse.load import MassDeleteRefused
    from warehouse.lock import LakeBusy
    from warehouse.state import LakeDamaged
    from warehouse.validation import ContractViolation

    if isinstance(exc, StageFailed):
        _fail(f"{exc} (the run's changes were {'committed' if exc.summary.committed else 'not committed'})")
    if isinstance(
        exc, MassDeleteRefused | RunRejected | LakeBusy | ContractViolation | LakeDamaged | OSError
    ):
        _fail(_first_line(exc))
    from botocore.exceptions import NoCredentialsError  # s3fs's; imported only on this path

    if isinstance(exc, NoCredentialsError):
        _fail(
            "no AWS credentials found: every process that reads or writes S3 needs its own (this one "
            "and each Dask worker: the AWS environment or an instance role); tasks are never sent secrets"
        )
    _fail(f"unexpected {type(exc).__name__}: {_first_line(exc)}")


def _print_summary(summary: dict[str, Any], settings: Any, where: str) -> None:
    from warehouse.readonly import connect_read_only

    click.echo(
        f"run {summary['run_id']}: {summary['status']} in {summary['seconds']:.2f}s\n"
        f"  files seen {summary['files_seen']} (new {summary['files_new']}, changed {summary['files_changed']}, "
        f"unchanged {summary['files_unchanged']}, deleted {summary['files_deleted']})\n"
        f"  rows loaded {summary['rows_written']}, rows deleted {summary['rows_deleted']}, "
        f"quarantined {summary['quarantined']}"
        + (f" {summary['quarantine_by_reason']}" if summary["quarantine_by_reason"] else "")
        + f"\n  partitions written {len(summary['partitions_rewritten'])}\n"
        f"  ran {_one_line_text(where)}"
    )
    con = connect_read_only(settings.catalog_path, settings.storage_options)
    sample_sql = (
        "SELECT source, feed, count(*) AS articles, round(avg(char_count)) AS avg_chars "
        "FROM articles GROUP BY ALL ORDER BY articles DESC, source, feed LIMIT 5"
    )
    stopped = f" while printing the summary of run {summary['run_id']} ({summary['status']})"
    try:
        total = _result_or_exit_on_signal(
            con, lambda: con.execute("SELECT count(*) FROM articles").fetchall()[0][0], stopped
        )
        click.echo(f"  catalog {settings.catalog_path} ({total} articles)")
        click.echo(f"\nsample query: {sample_sql}")
        columns, rows = _result_or_exit_on_signal(con, lambda: _query_result(con, sample_sql), stopped)
    finally:
        con.close()
    _print_rows(columns, rows, OutputFormat.table)


_NEXT_QUERY = "SELECT published_date, source, title FROM articles ORDER BY published_at DESC LIMIT 10"
_NEXT_PYTHON = (
    'con.sql("SELECT source, feed, count(*) AS n FROM articles GROUP BY ALL ORDER BY n DESC").show()'
)


def _print_next_steps(settings: Any) -> None:
    """What to try next on the lake just written, as commands to paste."""
    from shlex import quote

    from warehouse.storage import is_remote

    catalog = settings.catalog or Path(settings.lake) / defaults.CATALOG_NAME
    # query and report find LAKE's catalog; one elsewhere (or a remote lake's) is given itself
    where = f"--catalog {quote(str(catalog))}" if settings.catalog else f"--lake {quote(settings.lake)}"
    program = _program()
    lines = [
        f"next: {program} query {where} {quote(_NEXT_QUERY)}",
        f"      {program} report {where} --out report.html",
    ]
    # DuckDB's own shell is not installed with newslake, its Python client is; a remote lake's
    # views need the fsspec filesystem that query and report register, so it gets no such line
    if not is_remote(settings.lake):
        python = f"import duckdb; con = duckdb.connect({json.dumps(str(catalog))}, read_only=True); "
        lines.append(f"      {_python()} -c {quote(python + _NEXT_PYTHON)}")
    click.echo("\n" + "\n".join(_one_line_text(line) for line in lines))


def _python() -> str:
    """This interpreter (the one with duckdb installed), as a path from here when it is under here."""
    relative = os.path.relpath(sys.executable)
    if relative.startswith(".."):
        return sys.executable
    return relative if os.sep in relative else os.path.join(".", relative)


def _program() -> str:
    """How to call newslake again: `newslake` when that is what PATH finds, otherwise the path it
    was started by (`make run` starts .venv/bin/newslake, which is not on PATH)."""
    import shutil

    started = sys.argv[0]
    if Path(started).name != "newslake":  # python -m flows.cli
        return "newslake"
    found = shutil.which("newslake")
    with contextlib.suppress(OSError):
        if found and os.path.samefile(found, started):
            return "newslake"
    relative = os.path.relpath(os.path.abspath(started))
    if relative.startswith(".."):
        return os.path.abspath(started)
    return relative if os.sep in relative else os.path.join(".", relative)


@app.command()
@click.option("--cron", type=_TEXT, required=True, help="Cron schedule, e.g. '0 * * * *' (every hour).")
@click.option(
    "--source", type=_TEXT, required=True, help="Folder or s3://bucket/prefix of raw article files."
)
@_lake_option
@_catalog_option
@click.option("--name", type=_TEXT, default="newslake-scheduled", help="Deployment name.")
@_tz_option
@_batch_size_option
@_batch_bytes_option
@_bad_ratio_option
@_securities_option
@click.option(
    "--lock-timeout",
    type=_LOCK_TIMEOUT,
    default=defaults.LOCK_TIMEOUT,
    help="Seconds a scheduled run waits for another writer's lock.",
)
def serve(
    cron: str, source: str, lake: str, catalog: Path | None, name: str, tz: str, batch_size: int,
    batch_bytes: int, max_bad_ratio: float, securities: Path | None, lock_timeout: float,
) -> None:  # fmt: skip
    """Serve a scheduled deployment of newslake-etl on the Prefect server at PREFECT_API_URL, until interrupted."""
    if not os.environ.get("PREFECT_API_URL"):
        _fail(
            "PREFECT_API_URL is not set: start a server (`prefect server start`) and "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api`, or log in to Prefect Cloud",
            2,
        )
    _quiet_prefect(console_level="INFO")
    _check_cron(cron)
    from warehouse.storage import absolute_location

    settings = _settings_or_exit(
        source=absolute_location(source),
        lake=absolute_location(lake),
        catalog=catalog.resolve() if catalog else None,
        tz=tz,
        batch_size=batch_size,
        batch_bytes=batch_bytes,
        max_bad_ratio=max_bad_ratio,
        securities=securities.resolve() if securities else None,  # scheduled runs start elsewhere
        lock_timeout=lock_timeout,
        storage_options=_storage_options(),
    )
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    from flows.etl import etl

    click.echo(
        f"serving deployment newslake-etl/{name} on {os.environ['PREFECT_API_URL']} with cron {cron!r}"
        " (Ctrl-C stops it)"
    )
    _serve_stops_on_first_interrupt()
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
        click.echo("stopped")
    except Exception as exc:
        _fail(f"serve failed: {type(exc).__name__}: {_first_line(exc)}")


def _check_cron(cron: str) -> None:
    """Exit 2 unless Prefect takes cron (it would refuse it only once serving, with its own message)."""
    from prefect.client.schemas.schedules import CronSchedule  # imported after _quiet_prefect
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        _fail(f"--cron: {reason}", 2)


def _non_empty_sql(_ctx: click.Context, param: click.Parameter, sql: str) -> str:
    """SQL that holds a statement: blanks, comments or semicolons alone are a usage error."""
    import duckdb

    if not sql.strip():
        raise click.BadParameter("is empty: give a SELECT statement", param=param)
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return sql  # a syntax error: the query reports it with DuckDB's words
    if not statements:
        raise click.BadParameter("holds no statement, only comments or semicolons", param=param)
    return sql


@app.command()
@click.argument("sql", callback=_non_empty_sql)
@_read_lake_option
@_read_catalog_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in OutputFormat]),
    default="table",
    help="Output format.",
)
def query(sql: str, lake: Path, catalog: Path | None, fmt: str) -> None:
    """Run SQL against the catalog, read-only: SELECT and EXPLAIN only, files of the lake only."""
    _stop_on_signals()
    import duckdb

    from warehouse.readonly import QueryRefused, checked_read_statements, connect_read_only

    try:
        con = connect_read_only(_readable_catalog(lake, catalog), _storage_options())
    except (OSError, duckdb.Error) as exc:
        _fail(_duckdb_message(exc))

    def checked_result() -> tuple[list[str], list[tuple[Any, ...]]]:
        checked_read_statements(con, sql)
        return _query_result(con, sql)

    try:
        columns, rows = _result_or_exit_on_signal(con, checked_result, ": the query was stopped")
    except (QueryRefused, duckdb.Error) as exc:
        _fail(_duckdb_message(exc))
    except Exception as exc:  # a value Python cannot take, say: still one line
        _fail(f"unexpected {type(exc).__name__}: {_first_line(exc)}")
    finally:
        con.close()
    _print_rows(columns, rows, OutputFormat(fmt))


def _readable_catalog(lake: Path, catalog: Path | None) -> Path:
    """The catalog `query` and `report` read. Missing, it is one line naming the path and how to
    give another (exit 2): --lake falls back to data/lake in the current folder."""
    path = defaults.catalog_path(lake, catalog)
    if path.is_file():
        return path
    if catalog is not None:
        _fail(
            f"no catalog at {catalog.absolute()}: give a lake's catalog with --catalog PATH or NEWSLAKE_CATALOG",
            2,
        )
    came_from = click.get_current_context().get_parameter_source("lake")
    given = {"DEFAULT": " (the default)", "ENVIRONMENT": " (from NEWSLAKE_LAKE)"}.get(
        getattr(came_from, "name", ""), ""
    )
    if re.match(r"[a-z][a-z0-9+.-]*:/", str(lake)):
        _fail("a remote lake is read through its local catalog: give --catalog PATH, not --lake", 2)
    where = lake.absolute()
    if not where.exists():
        _fail(
            f"no lake at {where}{given}: give one with --lake PATH or NEWSLAKE_LAKE=PATH, "
            "or make it with `newslake run --source SOURCE --lake PATH`",
            2,
        )
    if not where.is_dir():
        _fail(f"--lake {where}{given} is a file, not a folder", 2)
    _fail(
        f"no catalog in the lake at {where}{given}: {where / defaults.CATALOG_NAME} is missing; "
        f"`newslake run --lake {where} --source SOURCE` publishes it, or give --catalog PATH",
        2,
    )


def _query_result(con: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and rows of sql's last statement."""
    cursor = con.execute(sql)
    return [d[0] for d in cursor.description or []], cursor.fetchall()


_T = TypeVar("_T")
_STOP_ALLOWANCE_S = 2.0


def _result_or_exit_on_signal(con: Any, work: Callable[[], _T], stopped: str) -> _T:
    """work()'s result, work running DuckDB calls on con in a thread of its own while this one waits.

    A query runs in C++: on the main thread, Python's signal handlers would wait for it to end
    (and with the SIGINT a shell gives background jobs ignored, nothing stops it). Waiting here,
    the main thread takes Ctrl-C and SIGTERM at once, and interrupts the query.
    """
    results: list[_T] = []
    errors: list[BaseException] = []
    # An event, not Thread.join: a join that a signal interrupts marks the thread as ended (3.11).
    finished = threading.Event()

    def work_in_thread() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # raised again on the main thread
            errors.append(exc)
        finally:
            finished.set()

    threading.Thread(target=work_in_thread, name="newslake-duckdb", daemon=True).start()
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt as exc:
        _exit_stopping(con, finished, exc, stopped)
    if errors:
        raise errors[0]
    return results[0]


def _exit_stopping(con: Any, finished: threading.Event, exc: KeyboardInterrupt, stopped: str) -> NoReturn:
    """Interrupt con's query, say so in one line and exit 130 (SIGINT) or 143 (SIGTERM)."""
    # A second Ctrl-C would cut short the wait below: the query is being stopped already.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    con.interrupt()
    finished.wait(_STOP_ALLOWANCE_S)
    sig = signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT
    click.echo(f"newslake: interrupted by {sig.name}{stopped}", err=True)
    if not finished.is_set():  # stuck where DuckDB does not look for interrupts (a remote read)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_SIGNAL_EXIT[sig])  # not waiting at exit for a thread that holds the catalog open
    sys.exit(_SIGNAL_EXIT[sig])


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: OutputFormat) -> None:
    """rows as plain text in fmt: markup in a value is not read, control characters are escaped.
    No rows is `(0 rows)` as a table (not an empty box), the header alone as CSV, [] as JSON."""
    if fmt is OutputFormat.json:
        click.echo(_json_text([dict(zip(columns, r, strict=True)) for r in rows]))
    elif fmt is OutputFormat.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(_visible_text(c) for c in columns)
        writer.writerows((None if v is None else _visible_text(v) for v in r) for r in rows)
    elif not rows:
        click.echo("(0 rows)")
    else:
        from rich.console import Console

        console = Console(markup=False, emoji=False, highlight=False)
        console.width = max(120, console.width)
        console.print(_table_of(columns, rows))


def _table_of(columns: list[str], rows: list[tuple[Any, ...]]) -> Any:
    """A rich Table of Text cells: a title like "[直播] 发布会 [/] 实录" is text, not markup."""
    from rich.table import Table
    from rich.text import Text

    table = Table()
    for column in columns:
        table.add_column(Text(_visible_text(column)))
    for row in rows:
        table.add_row(*(Text("" if v is None else _visible_text(v)) for v in row))
    return table


@app.command()
@click.option("--out", type=_PATH, default=Path("report.html"), help="HTML file to write.")
@_read_lake_option
@_read_catalog_option
@click.option(
    "--days",
    type=click.IntRange(1, _MAX_REPORT_DAYS),
    default=defaults.REPORT_DAYS,
    help="Days in the per-day chart: the last DAYS to the newest article (all days when the data spans fewer).",
)
def report(out: Path, lake: Path, catalog: Path | None, days: int) -> None:
    """Write a self-contained, offline HTML dashboard of the lake."""
    _stop_on_signals()
    import datetime as dt

    import duckdb

    from warehouse.readonly import connect_read_only
    from warehouse.report import report_data, report_html

    found = _readable_catalog(lake, catalog)
    try:
        con = connect_read_only(found, _storage_options())
        try:
            now = dt.datetime.now(dt.UTC)
            data = _result_or_exit_on_signal(con, partial(report_data, con, days, now), ": no report written")
        finally:
            con.close()
        out.write_text(report_html(data, now), encoding="utf-8")
    except (OSError, duckdb.Error) as exc:
        _fail(_duckdb_message(exc))
    click.echo(f"wrote {_one_line_text(out)} ({data.totals.get('articles', 0)} articles)")


@app.command()
@click.option("--out", type=_PATH, default=Path(defaults.SOURCE), help="Folder to write into.")
@click.option(
    "--count",
    type=click.IntRange(0, _MAX_SAMPLE_FILES),
    default=defaults.SAMPLE_SIZE,
    help="Number of files.",
)
@click.option("--seed", type=int, default=0, help="Seed: same seed, same files.")
def sample(out: Path, count: int, seed: int) -> None:
    """Generate deterministic sample article files."""
    _stop_on_signals()
    from flows.sample import write_sample

    try:
        write_sample(out, count, seed)
    except OSError as exc:
        _fail(_first_line(exc))
    click.echo(f"wrote {count} sample files to {_one_line_text(out)}")


# The options every command that has them reads from one variable; any other option from
# NEWSLAKE_<COMMAND>_<OPTION> (named after the flag: NEWSLAKE_QUERY_FORMAT, NEWSLAKE_RUN_JSON).
# A flag on the command line wins over the environment; an empty variable is unset.
_SHARED_OPTIONS = ("--lake", "--source", "--catalog", "--tz", "--securities")


def _environment_variables(group: click.Group) -> None:
    """Name every option's environment variable, shown in --help."""
    for command_name, command in group.commands.items():
        for param in command.params:
            if not isinstance(param, click.Option) or param.envvar:
                continue
            flag = max(param.opts, key=len)
            scope = "" if flag in _SHARED_OPTIONS else f"{command_name}_"
            param.envvar = f"NEWSLAKE_{scope}{flag.lstrip('-')}".upper().replace("-", "_")
            param.show_envvar = True


_environment_variables(app)


# Polars' allocator (jemalloc) keeps freed pages for 10 s by default: a run allocating from stage
# to stage kept ~300 MB it no longer used at 200,000 articles (the run's peak RSS was 990 MB; with
# pages returned after 1 s by jemalloc's own thread, 930 MB, same time). Read when Polars loads, so
# set before any command imports it; inherited by pool workers; a setting of the user's wins.
_POLARS_ALLOCATOR = ("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0")


def main() -> None:
    """Usage errors as one line (exit 2), like every other error of newslake."""
    os.environ.setdefault(*_POLARS_ALLOCATOR)
    try:
        code = app.main(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click.UsageError as exc:
        click.echo(f"newslake: error: {_one_line_text(exc.format_message())}", err=True)
        sys.exit(2)
    except click.Abort as exc:  # a signal outside a run and a query
        sig = signal.SIGTERM if isinstance(exc.__cause__, _Terminated) else signal.SIGINT
        click.echo(f"newslake: interrupted by {sig.name}", err=True)
        sys.exit(_SIGNAL_EXIT[sig])
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
