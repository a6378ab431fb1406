"""After any sequence of add / modify / rename / delete steps, several of them between two runs,
a run leaves a lake equal to a clean build, with bounded files that each hold a range of their
partition in order, and at every step the Parquet tree holds exactly what
the catalog does (DuckDB's glob, Polars and pyarrow read the same rows)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from flows.sample import sample_article
from tests.helpers import assert_partition_files_bounded, assert_same_lake, assert_tree_is_the_catalog, run

# Feeds learn from two articles on, so that a few steps make and unmake boilerplate lines; an
# article made of two others' texts (about half of each) links both, so that it merges stories.
LEARNING = {
    "boilerplate_min_feed_articles": 2,
    "boilerplate_min_articles": 2,
    "boilerplate_min_share": 0.5,
    "story_min_similarity": 0.3,
}


class LakeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="newslake-sm-"))
        self.source = self.tmp / "src"
        self.source.mkdir()
        self.lake = self.tmp / "lake"
        self.counter = 0
        self.builds = 0
        self.runs = 0

    def _files(self) -> list[Path]:
        return sorted(self.source.iterdir())

    @rule(n=st.integers(1, 4), footer=st.booleans())
    def add(self, n: int, footer: bool) -> None:
        for _ in range(n):
            name, data = sample_article(self.counter, seed=3)
            if footer:  # a line the feed repeats: learned once enough of its articles carry it
                data = data.rstrip() + "\n<p>关注公众号，获取更多资讯</p>\n".encode()
            (self.source / name).write_bytes(data)
            self.counter += 1

    @rule(pick=st.integers(0, 1000))
    def add_duplicate(self, pick: int) -> None:
        files = self._files()
        if files:
            original = files[pick % len(files)]
            (self.source / f"dup-{pick}-{original.name}").write_bytes(original.read_bytes())

    def _articles(self) -> list[Path]:
        return [f for f in self._files() if not f.name.startswith("bad-")]

    @precondition(lambda self: any(self.source.iterdir()))
    @rule(pick=st.integers(0, 1000), other=st.integers(0, 1000), bridge=st.booleans())
    def add_copy(self, pick: int, other: int, bridge: bool) -> None:
        """Another feed's copy of an article (another title, a lead added): it joins its story;
        with a bridge, the copy carries a second article's text too and merges their stories."""
        articles = self._articles()
        if not articles:
            return
        text = articles[pick % len(articles)].read_bytes()
        copy = text.replace(b"title: '", f"title: '转载{self.counter} ".encode(), 1)
        copy = copy.replace(b"<div>", "<div><p>据报道，</p>".encode(), 1)
        if bridge:
            second = articles[other % len(articles)].read_bytes()
            copy += second[second.find(b"<div>") :]
        (self.source / f"copy-{self.counter}.md").write_bytes(copy)
        self.counter += 1

    @precondition(lambda self: any(self.source.iterdir()))
    @rule(pick=st.integers(0, 1000), text=st.sampled_from(["改", "edit", "新标题"]))
    def modify(self, pick: int, text: str) -> None:
        files = self._files()
        target = files[pick % len(files)]
        target.write_bytes(target.read_bytes().replace(b"title: ", f"title: {text}".encode(), 1))

    @precondition(lambda self: any(self.source.iterdir()))
    @rule(pick=st.integers(0, 1000))
    def rename(self, pick: int) -> None:
        files = self._files()
        target = files[pick % len(files)]
        target.rename(self.source / f"r{pick}-{target.name}")

    @precondition(lambda self: any(self.source.iterdir()))
    @rule(pick=st.integers(0, 1000))
    def delete(self, pick: int) -> None:
        files = self._files()
        files[pick % len(files)].unlink()

    @rule(bad=st.sampled_from([b"", b"no front matter", b"---\ntitle: [unclosed\n"]))
    def add_bad_file(self, bad: bytes) -> None:
        (self.source / f"bad-{self.counter}.md").write_bytes(bad)
        self.counter += 1

    @rule()
    def run_equals_a_clean_build(self) -> None:
        # Files of three rows: partitions span several files, so runs split, keep and rewrite some.
        run(self.source, self.lake, allow_mass_delete=True, max_bad_ratio=1.0, rows_per_file=3, **LEARNING)
        self.runs += 1
        assert_partition_files_bounded(self.lake, 3)
        clean = self.tmp / f"clean-{self.builds}"
        self.builds += 1
        run(self.source, clean, max_bad_ratio=1.0, **LEARNING)
        assert_same_lake(self.lake, clean)
        shutil.rmtree(clean)

    @invariant()
    def the_tree_is_the_catalog(self) -> None:
        if self.runs:
            assert_tree_is_the_catalog(self.lake)

    def teardown(self) -> None:
        try:
            if self.runs or any(self.source.iterdir()):  # the last changes are loaded too
                self.run_equals_a_clean_build()
                assert_tree_is_the_catalog(self.lake)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


LakeMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=10, deadline=None, suppress_health_check=list(HealthCheck)
)
TestLakeMachine = LakeMachine.TestCase
