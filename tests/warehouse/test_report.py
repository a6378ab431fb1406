"""The offline HTML report: escaped, self-contained, and rendered by headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.sample import sample_article, write_sample
from tests.conftest import ROOT
from tests.helpers import run
from tests.servers import BIN

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_sample(root / "src", 60)
    name, data = sample_article(999)
    data = re.sub(rb"\ndate: [^\n]*", b"\ndate: 2023-01-01 00:00:00", data, count=1)  # newest: listed first
    (root / "src" / name).write_bytes(data.replace(b"title: ", f"title: '{HOSTILE}' #".encode(), 1))
    (root / "src" / "broken.md").write_bytes(b"<p>no front matter</p>")
    copied = sample_article(3)[1].replace(b"title: '", "title: '转载：".encode(), 1)
    (root / "src" / "copy.md").write_bytes(copied)  # another feed's copy: one story of two
    run(root / "src", root / "lake")
    out = root / "report.html"
    done = subprocess.run(
        [str(BIN / "newslake"), "report", "--lake", str(root / "lake"), "--out", str(out), "--days", "10000"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_article_text_is_escaped(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_page_loads_nothing_from_the_network(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # the CSP forbids any fetch


def test_every_chart_is_there(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    for title in ("Articles per day, by feed", "Top stock codes", "Top editors", "Body length",
                  "Quarantine by reason", "Run history"):  # fmt: skip
        assert title in page
    assert page.count("<svg") >= 5 and "missing_front_matter" in page
    copied = page[page.index("Stories copied across feeds") :]
    assert "转载" not in copied.split("</tr>")[1] and "<td>2</td>" in copied.split("</tr>")[1]


def test_it_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    flags = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--window-size=1400,1800",
    ]  # fmt: skip
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [*flags, f"--screenshot={shot}", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # a page with content, not a blank screen
    console = [ln for ln in done.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console == [], console
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0
    generated = re.search(r'<p id="generated">([^<]*)</p>', dom.stdout)
    assert generated and "T" not in generated.group(1), "the inline script did not run"
