"""S3 (moto's server) and Dask (a real scheduler and workers) on loopback: same lake as a local run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import assert_same_lake, run, snapshot
from tests.servers import BIN, dask_cluster, moto_s3, prefect_env

pytestmark = pytest.mark.integration

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("moto")
    old = {k: os.environ.get(k) for k in AWS}
    os.environ.update(AWS)
    try:
        with moto_s3(home) as endpoint:
            import s3fs

            fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
            fs.mkdir("news")
            yield endpoint
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _upload(endpoint: str, local: Path, prefix: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
    for path in sorted(local.iterdir()):
        fs.pipe_file(f"news/{prefix}/{path.name}", path.read_bytes())


def test_s3_source_and_lake_equal_a_local_run(s3: str, tmp_path: Path) -> None:
    local = tmp_path / "src"
    write_sample(local, 40)
    (local / "bad.md").write_bytes(b"no front matter")
    _upload(s3, local, "archive")
    options = {"client_kwargs": {"endpoint_url": s3}}
    catalog = tmp_path / "catalog" / "warehouse.duckdb"
    summary = run("s3://news/archive", "s3://news/lake", catalog=catalog, storage_options=options)  # type: ignore[arg-type]
    assert summary.loaded.rows_written == 40 and summary.loaded.quarantined == 1
    again = run("s3://news/archive", "s3://news/lake", catalog=catalog, storage_options=options)  # type: ignore[arg-type]
    assert again.status == "no_changes"
    run(local, tmp_path / "local-lake")
    remote_view = snapshot_catalog(catalog, options)
    local_view = snapshot(tmp_path / "local-lake")
    for name in ("articles", "quarantine"):
        assert remote_view[name].equals(local_view[name]), name


def snapshot_catalog(catalog: Path, options: dict[str, object]) -> dict[str, object]:
    from warehouse.readonly import connect_read_only

    con = connect_read_only(catalog, options)
    try:
        out = {}
        for view, key in (("articles", "article_id"), ("quarantine", "source_path")):
            frame = con.sql(f"SELECT * FROM {view}").pl()
            out[view] = frame.drop(
                [c for c in frame.columns if c in {"run_id", "ingested_at", "seen_at"}]
            ).sort(key)
        return out
    finally:
        con.close()


def test_cli_on_dask_and_s3_loads_every_article(s3: str, tmp_path: Path) -> None:
    local = tmp_path / "src"
    write_sample(local, 120)
    _upload(s3, local, "dask-archive")
    env = {**prefect_env(tmp_path / "prefect"), **AWS, "AWS_ENDPOINT_URL": s3}
    catalog = tmp_path / "cat" / "warehouse.duckdb"
    with dask_cluster(tmp_path) as address:
        done = subprocess.run(
            [str(BIN / "newslake"), "run", "--source", "s3://news/dask-archive", "--lake", "s3://news/dask-lake",
             "--catalog", str(catalog), "--dask-address", address, "--batch-size", "25", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    query = subprocess.run(
        [str(BIN / "newslake"), "query", "--catalog", str(catalog), "--format", "csv", "SELECT count(*) AS n FROM articles"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert query.returncode == 0, query.stderr
    assert query.stdout.splitlines() == ["n", "120"]


@pytest.mark.parametrize("mode", ["in-process", "prefect-flow"])
def test_dask_run_equals_a_local_run(tmp_path: Path, mode: str, request: pytest.FixtureRequest) -> None:
    """In process (distributed's client) and as the Prefect flow (prefect-dask's DaskTaskRunner)."""
    write_sample(tmp_path / "src", 60)
    if mode == "prefect-flow":
        api, home = request.getfixturevalue("prefect_api")
        env = prefect_env(home, api)
    else:
        env = prefect_env(tmp_path / "prefect")
    with dask_cluster(tmp_path) as address:
        done = subprocess.run(
            [str(BIN / "newslake"), "run", "--source", str(tmp_path / "src"), "--lake", str(tmp_path / "dask-lake"),
             "--dask-address", address, "--batch-size", "10", "--quiet"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run(tmp_path / "src", tmp_path / "local-lake")
    assert_same_lake(tmp_path / "dask-lake", tmp_path / "local-lake")


def test_a_run_without_aws_credentials_says_so_in_one_line(s3: str, tmp_path: Path) -> None:
    env = {k: v for k, v in prefect_env(tmp_path / "prefect").items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path), AWS_ENDPOINT_URL=s3, AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true"
    )
    done = subprocess.run(
        [str(BIN / "newslake"), "run", "--source", "s3://news/archive", "--lake", str(tmp_path / "lake")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    assert done.stderr.strip().splitlines() == [
        "newslake: error: no AWS credentials found: every process that reads or writes S3 needs its own "
        "(this one and each Dask worker: the AWS environment or an instance role); tasks are never sent secrets"
    ]
