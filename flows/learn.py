"""The learn stage: what the archive teaches, between transform and merge.

plan → transform → learn → merge → commit → publish. A model is learned from the whole lake,
not from one file (the lines each feed repeats, its boilerplate; copies of one story; the names
of listed companies the archive pairs with their codes). The stage takes the
merge plan (which rows enter the lake, which leave it) and the stored model, and gives the next
model and every row whose fields the model change alters, re-derived and staged in place of the
parsed ones, so that an incremental lake always equals a clean build. The model arithmetic is
pure (warehouse.feed_model); this module reads rows through the lake writer's read API and stages
through the run's staging; the writer only stores and commits what it is given.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import polars as pl

from transforms.boilerplate import FEED_TOTAL, LearningRule, feed_key, line_hash, line_key
from transforms.names import (
    NAME_PAIRS_SCHEMA,
    NameModel,
    NameRule,
    changed_names,
    learned_names,
    matched_names,
    name_pairs,
    next_name_counts,
    with_name_mentions,
)
from transforms.relearn import article_lines, relearned_articles
from transforms.schema import ARTICLE_FEED, ARTICLE_LINES, ARTICLE_LINES_SCHEMA, ARTICLES, NAME_COUNTS
from transforms.stocks import Securities
from transforms.stories import kept_stories, story_edges, story_members, text_signatures, with_stories
from warehouse.feed_model import (
    SIGHTING_BUCKETS,
    LineText,
    Model,
    boilerplate_rows,
    changed_lines,
    learned_lines,
    line_count_changes,
    model_of,
    model_of_boilerplate,
    next_bucket_counts,
    next_line_counts,
    sighting_bucket,
)
from warehouse.layout import partition_key, partition_name_expr
from warehouse.load import LakeWriter, Learned, MergePlan
from warehouse.staging import STAGED_KEYS, StagedRun
from warehouse.tables import LINE_COUNTS, LINE_KEY, LINE_SIGHTINGS, STORY_EDGES, STORY_SIGNATURES

Rederive = Callable[[pl.DataFrame, Model], pl.DataFrame]
# The run's lines are counted this many articles' worth at a time (a share of the buckets per
# pass): a clean build of a million articles never groups its 30 million lines at once.
ARTICLES_PER_PASS = 50_000
# Buckets of line sightings counted in one query: a query costs ~3 ms whatever its size (64 made
# half the learn stage of a small run), and a bucket of a million-article lake holds ~500,000 rows.
BUCKETS_AT_ONCE = 8


def _loaded_for_learning() -> None:
    from flows.keyword_table import jieba_keyword_weights

    importlib.import_module("rjieba")  # its dictionary loads with the module (~0.2 s)
    jieba_keyword_weights()


def learning_tables_loading() -> threading.Thread:
    """Load, on a thread, what the learn stage segments and weighs texts with (rjieba's dictionary
    and jieba's keyword weights: ~0.3 s and 79 MB a process; the common words, 0.04 s and 29 MB,
    load with the stage). Started while pool workers transform, when this process only waits on
    them; joined before the stage."""
    loading = threading.Thread(target=_loaded_for_learning, name="learning-tables", daemon=True)
    loading.start()
    return loading


def _rederived_with_keywords(rows: pl.DataFrame, model: Model) -> pl.DataFrame:
    from flows.keyword_table import jieba_keyword_weights

    return relearned_articles(rows, model, jieba_keyword_weights())


def sample_model(lake_model: Model, sampled: pl.LazyFrame, share: float, rule: LearningRule) -> Model:
    """The model to parse the rest of a run with, after a sample of it (share of its files): the
    lake's, and the lines the sample repeats, learned by the rule scaled to the sample. Only a
    hint: the learn stage learns from every row and re-derives the rows it got wrong."""
    scaled = replace(
        rule,
        min_articles=max(2, round(rule.min_articles * share)),
        min_feed_articles=max(2, round(rule.min_feed_articles * share)),
        template_min_articles=max(2, round(rule.template_min_articles * share)),
    )
    hint = dict(lake_model)
    counts = next_line_counts(LINE_COUNTS.empty_frame(), pl.DataFrame(schema=ARTICLE_LINES_SCHEMA), sampled)
    for key, hashes in model_of(learned_lines(counts, scaled)).items():
        hint[key] = hint.get(key, frozenset()) | hashes
    return hint


def _keys_frame(model: Model) -> pl.DataFrame:
    return pl.DataFrame(
        [(k, h) for k, hashes in model.items() for h in hashes],
        schema=LINE_COUNTS.schema_of(*LINE_KEY),
        orient="row",
    )


def _of_leaving_rows(
    plan: MergePlan,
    lake: LakeWriter,
    columns: list[str],
    derived: Callable[[pl.DataFrame], pl.DataFrame],
    schema: pl.Schema,
) -> pl.DataFrame:
    """What the rows leaving the lake count for (derived: article lines, name pairs; of schema),
    from those columns of their files (none in a clean build)."""
    frames = [pl.DataFrame(schema=schema)]
    if plan.fresh:
        return frames[0]
    partitions = lake.state().partitions
    removed = plan.removed.with_columns(_p=partition_name_expr())
    for (name,), part in removed.partition_by("_p", as_dict=True).items():
        paths = part["source_path"].implode()
        for rel in partitions.get(str(name), []):
            frames.append(derived(lake.rows(rel, columns).filter(pl.col("source_path").is_in(paths))))
    return pl.concat(frames)


@dataclass
class _BoilerplateRun:
    """One run's learning of boilerplate: the lake it reads, the staging it re-derives into."""

    lake: LakeWriter
    staged: StagedRun
    plan: MergePlan
    rows_per_file: int
    rederive: Rederive

    def __post_init__(self) -> None:
        self.texts: dict[tuple[int, int], LineText] = {}  # the text of each learned line found
        # Rows whose text changed, signed at once (their texts are not held): ids, and signatures.
        self.rewritten_ids: list[pl.Series] = []
        self.resigned: list[pl.DataFrame] = []

    def learned(self, rule: LearningRule) -> _BoilerplateLearned:
        plan, lake = self.plan, self.lake
        state = lake.state()
        old_counts = LINE_COUNTS.empty_frame() if plan.fresh else lake.dataset("line_counts")
        leaving = _of_leaving_rows(plan, lake, ARTICLE_LINES, article_lines, ARTICLE_LINES_SCHEMA)
        incoming = self.staged.lines().join(
            plan.winners.select("source_path").lazy(), on="source_path", how="semi"
        )
        counts, sightings = self._next_counts(old_counts, leaving, incoming)
        learned = learned_lines(counts, rule)
        old_boilerplate = lake.dataset("boilerplate")
        model = model_of(learned)
        changed = changed_lines(model_of_boilerplate(old_boilerplate), model)
        for source, feed, line, hashed in old_boilerplate.select(
            "source", "feed", "line", "line_hash"
        ).iter_rows():
            self.texts[(feed_key(source, feed) or 0, hashed)] = (source, feed, line)
        self._rederive_parsed_rows(incoming, model)
        keys = [plan.winners.clear().select(STAGED_KEYS)]
        if changed and not plan.fresh and state.partitions:
            keys.extend(self._rederived_lake_rows(changed, model))
        self._find_texts(learned, incoming)
        return _BoilerplateLearned(
            rederived=pl.concat(keys),
            line_counts=counts,
            old_line_counts=old_counts,
            line_sightings=sightings,
            boilerplate=boilerplate_rows(learned, self.texts),
            rewritten=pl.concat([pl.Series("article_id", [], pl.String()), *self.rewritten_ids]),
            resigned=pl.concat([STORY_SIGNATURES.empty_frame(), *self.resigned]),
        )

    def _next_counts(
        self, old_counts: pl.DataFrame, leaving: pl.DataFrame, incoming: pl.LazyFrame
    ) -> tuple[pl.DataFrame, dict[str, str]]:
        """The next LINE_COUNTS (lines of two or more articles: few, kept whole) and the files of
        LINE_SIGHTINGS by bucket: only the buckets this run's lines fall in are read and written
        again, one at a time, and the run's lines are counted a share of the buckets at a time."""
        plan, lake = self.plan, self.lake
        files = {} if plan.fresh else dict(lake.state().line_sightings)
        old = old_counts.with_columns(_bucket=sighting_bucket())
        # A lake from before sightings were kept apart has lines of one article among its counts.
        legacy = set(
            old.filter((pl.col("articles") == 1) & (pl.col("line_hash") != FEED_TOTAL))["_bucket"].to_list()
        )
        passes = max(1, -(-(plan.winners.height + plan.removed.height) // ARTICLES_PER_PASS))
        counts, touched = [], set()
        for first in range(passes):
            buckets = range(first, SIGHTING_BUCKETS, passes)
            change = line_count_changes(leaving, incoming, buckets).with_columns(_bucket=sighting_bucket())
            by_bucket = change.partition_by("_bucket", as_dict=True, include_key=False)
            hit = sorted({int(key[0]) for key in by_bucket} | (legacy & set(buckets)))
            for start in range(0, len(hit), BUCKETS_AT_ONCE):
                group = hit[start : start + BUCKETS_AT_ONCE]
                seen = {
                    bucket: lake.model_part(files[str(bucket)], LINE_SIGHTINGS)
                    for bucket in group
                    if str(bucket) in files
                }
                group_counts, now_once = next_bucket_counts(
                    old.filter(pl.col("_bucket").is_in(group)).drop("_bucket"),
                    pl.concat([LINE_SIGHTINGS.empty_frame(), *seen.values()]),
                    pl.concat(
                        [
                            LINE_COUNTS.empty_frame(),
                            *(by_bucket.get((b,), LINE_COUNTS.empty_frame()) for b in group),
                        ]
                    ),
                )
                counts.append(group_counts)
                now_by_bucket = now_once.with_columns(_bucket=sighting_bucket()).partition_by(
                    "_bucket", as_dict=True, include_key=False
                )
                rewritten = {}
                for bucket in group:
                    now = now_by_bucket.get((bucket,), LINE_SIGHTINGS.empty_frame())
                    if now.is_empty():
                        files.pop(str(bucket), None)
                    elif bucket not in seen or not now.equals(seen[bucket]):
                        rewritten[bucket] = now
                files.update(self._stored_sightings(rewritten))
            touched |= set(hit)
        counts.append(old.filter(~pl.col("_bucket").is_in(sorted(touched))).drop("_bucket"))
        return LINE_COUNTS.conform(pl.concat(counts)).sort(LINE_KEY), files

    def _stored_sightings(self, buckets: dict[int, pl.DataFrame]) -> dict[str, str]:
        """Each bucket's LINE_SIGHTINGS written (bucket -> its file), the files side by side: a
        file's write is mostly waiting on its fsync, and a clean build writes all 64."""

        def stored(bucket: int) -> str:
            return self.lake.stored_model_part(
                buckets[bucket], LINE_SIGHTINGS, "_line_sightings", self.plan.run_id, bucket
            )

        with ThreadPoolExecutor(max_workers=BUCKETS_AT_ONCE) as pool:
            return {str(bucket): rel for bucket, rel in zip(buckets, pool.map(stored, buckets), strict=True)}

    def _stage(self, rows: pl.DataFrame, model: Model) -> None:
        rows = self.rederive(rows, model)
        self.staged.staged_relearned(rows)
        self.rewritten_ids.append(rows["article_id"])
        self.resigned.append(signed_texts(rows))
        for source, feed, lines in rows.select("source", "feed", "boilerplate_lines").iter_rows():
            for line in lines:
                self.texts.setdefault(
                    (feed_key(source, feed) or 0, line_hash(line_key(line))), (source, feed, line_key(line))
                )

    def _rederive_parsed_rows(self, incoming: pl.LazyFrame, model: Model) -> None:
        """This run's rows were parsed with the lake's model or a sample's: those whose learned
        lines are not the final model's are re-derived."""
        in_model = _keys_frame(model).with_columns(in_model=pl.lit(True))
        carrying = (
            incoming.filter(pl.col("line_hash") != FEED_TOTAL)
            .join(in_model.lazy(), on=LINE_KEY, how="left")
            .filter(pl.col("learned") != pl.col("in_model").fill_null(False))
            .select("source_path")
            .unique()
            .collect(engine="streaming")["source_path"]
        )
        if carrying.is_empty():
            return
        winners = self.plan.winners.filter(pl.col("source_path").is_in(carrying.implode()))
        for (name,), part in (
            winners.with_columns(_p=partition_name_expr()).partition_by("_p", as_dict=True).items()
        ):
            paths = part["source_path"].to_list()
            for start in range(0, len(paths), self.rows_per_file):  # a file's worth at a time
                rows = self.staged.articles(str(name), paths[start : start + self.rows_per_file])
                self._stage(rows, model)

    def _rederived_lake_rows(self, changed: Model, model: Model) -> list[pl.DataFrame]:
        """Keys of the lake's rows (staying ones) that carry a changed line, re-derived and staged;
        one file is read at a time, and only files holding rows of a changed feed are read whole."""
        changed_frame = _keys_frame(changed)
        gone = self.plan.removed["source_path"].implode()
        out = []
        for name, files in sorted(self.lake.state().partitions.items()):
            year, month = partition_key(name)
            for rel in files:
                heads = self.lake.rows(rel, ARTICLE_FEED)
                pairs = heads.select("source", "feed").unique()
                hit_feed = [feed_key(source, feed) in changed for source, feed in pairs.iter_rows()]
                wanted = heads.join(
                    pairs.filter(pl.Series(hit_feed, dtype=pl.Boolean())),
                    on=["source", "feed"],
                    nulls_equal=True,
                ).filter(~pl.col("source_path").is_in(gone))
                if wanted.is_empty():
                    continue
                rows = self.lake.rows(rel).filter(
                    pl.col("source_path").is_in(wanted["source_path"].implode())
                )
                hit = article_lines(rows).join(changed_frame, on=LINE_KEY)["source_path"].unique()
                rows = rows.filter(pl.col("source_path").is_in(hit.implode()))
                if rows.is_empty():
                    continue
                rows = ARTICLES.conform(
                    rows.with_columns(year=pl.lit(year, pl.Int32()), month=pl.lit(month, pl.Int32()))
                )
                self._stage(rows, model)
                out.append(rows.select(STAGED_KEYS))
        return out

    def _find_texts(self, learned: pl.DataFrame, incoming: pl.LazyFrame) -> None:
        """The text of each learned line not known yet, from one of this run's rows carrying it."""
        keys = learned.select(LINE_KEY)
        missing = keys.filter(
            pl.Series([key not in self.texts for key in keys.iter_rows()], dtype=pl.Boolean())
        )
        if missing.is_empty():
            return
        holders = (
            incoming.join(missing.lazy(), on=LINE_KEY)
            .unique(LINE_KEY)
            .select("source_path")
            .collect(engine="streaming")
        )
        wanted = set(missing.iter_rows())
        located = self.plan.winners.join(holders, on="source_path").with_columns(_p=partition_name_expr())
        for (name,), part in located.partition_by("_p", as_dict=True).items():
            rows = self.staged.articles(str(name), part["source_path"].to_list())
            for source, feed, paragraphs, removed in rows.select(
                "source", "feed", "paragraphs", "boilerplate_lines"
            ).iter_rows():
                key = feed_key(source, feed) or 0
                for line in [*paragraphs, *removed]:
                    found = (key, line_hash(line_key(line)))
                    if found in wanted:
                        self.texts.setdefault(found, (source, feed, line_key(line)))


@dataclass(frozen=True)
class _BoilerplateLearned:
    rederived: pl.DataFrame  # STAGED_KEYS of lake rows re-derived
    line_counts: pl.DataFrame
    old_line_counts: pl.DataFrame
    line_sightings: dict[str, str]
    boilerplate: pl.DataFrame
    rewritten: pl.Series  # article_id of every row whose text changed
    resigned: pl.DataFrame  # their STORY_SIGNATURES, from their final texts


@dataclass(frozen=True)
class _StoriesLearned:
    rederived: pl.DataFrame  # STAGED_KEYS of lake rows re-derived
    signatures: pl.DataFrame
    old_signatures: pl.DataFrame
    edges: pl.DataFrame
    old_edges: pl.DataFrame


@dataclass
class _StoryRun:
    """One run's stories: signatures of the rows whose text is new, edges to the lake's, and every
    row whose story changes given its story columns (read from staging when a row was staged
    there already, by its batch or by the boilerplate pass, else from its lake file)."""

    lake: LakeWriter
    staged: StagedRun
    plan: MergePlan
    rows_per_file: int

    def learned(self, threshold: float, rewritten: pl.Series, resigned: pl.DataFrame) -> _StoriesLearned:
        plan, lake = self.plan, self.lake
        old_signatures = STORY_SIGNATURES.empty_frame() if plan.fresh else lake.dataset("story_signatures")
        old_edges = STORY_EDGES.empty_frame() if plan.fresh else lake.dataset("story_edges")
        # A row whose text the boilerplate pass changed was signed again, from its final text.
        # (One expression: the staged signatures, a million at 1M, are not held beside `new`.)
        new = pl.concat(
            [
                STORY_SIGNATURES.conform(
                    self.staged.signatures()
                    .join(plan.winners.select("source_path"), on="source_path", how="semi")
                    .filter(~pl.col("article_id").is_in(rewritten.implode()))
                ),
                resigned,
            ]
        )
        gone = pl.concat([plan.removed["article_id"], plan.winners["article_id"], rewritten]).unique()
        known = old_signatures.filter(~pl.col("article_id").is_in(gone.implode()))
        signatures = pl.concat([known, new])
        # The stories that keep every signature keep their edges; the new signatures, and those
        # of a story that lost one, are linked to every other (a spanning forest of the links).
        kept_edges, relinked = kept_stories(old_edges, signatures["signature"])
        fresh = pl.concat([new["signature"], relinked])
        settled = known["signature"].filter(~known["signature"].is_in(relinked.implode()))
        found = story_edges(fresh, settled, threshold, linked=kept_edges)
        edges = pl.concat([STORY_EDGES.conform(kept_edges), STORY_EDGES.conform(found)]).unique(["a", "b"])
        before = story_members(old_edges, old_signatures)
        after = story_members(edges, signatures)
        return _StoriesLearned(
            rederived=self._restaged(before, after),
            signatures=signatures,
            old_signatures=old_signatures,
            edges=edges,
            old_edges=old_edges,
        )

    def _restaged(self, before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
        """Stage every row whose story columns are not what `after` says; the keys of the lake's
        rows among them (this run's parsed rows are its own: their keys are the plan's)."""
        plan = self.plan
        incoming = plan.winners.select("source_path", "article_id", "year", "month")
        staying = (
            plan.old_loaded.join(plan.removed.select("source_path"), on="source_path", how="anti")
            .join(incoming.select("article_id"), on="article_id", how="anti")
            .select("source_path", "article_id", "year", "month")
        )
        # What each row carries now: a parsed row its own one-copy story, a lake row its old one.
        story = ["story_id", "story_size"]
        now = pl.concat(
            [
                incoming.with_columns(story_id=pl.col("article_id"), story_size=pl.lit(1, pl.Int32())),
                _with_members(staying, before),
            ]
        )
        wanted = _with_members(now.select("source_path", "article_id", "year", "month"), after)
        differ = now.join(wanted, on=["source_path", *story], how="anti")
        if differ.is_empty():
            return plan.winners.clear().select(STAGED_KEYS)
        keys = []
        for (name,), part in (
            differ.with_columns(_p=partition_name_expr()).partition_by("_p", as_dict=True).items()
        ):
            paths = part["source_path"].sort().to_list()
            missing: list[str] = []
            # A file's worth of rows at a time: the copies of a big partition are its whole text.
            for start in range(0, len(paths), self.rows_per_file):
                chunk = paths[start : start + self.rows_per_file]
                rows = self.staged.articles(str(name), chunk)
                missing.extend(sorted(set(chunk) - set(rows["source_path"].to_list())))
                keys.append(self._staged_stories(rows, after, staying))
            if missing:  # lake rows no pass staged yet: each lake file read once
                lake_rows = self._lake_rows(str(name), missing)
                for start in range(0, lake_rows.height, self.rows_per_file):
                    keys.append(
                        self._staged_stories(lake_rows.slice(start, self.rows_per_file), after, staying)
                    )
        return pl.concat(keys)

    def _staged_stories(self, rows: pl.DataFrame, after: pl.DataFrame, staying: pl.DataFrame) -> pl.DataFrame:
        """Stage rows with their story columns from `after`; the STAGED_KEYS of the lake's among them."""
        rows = ARTICLES.conform(with_stories(rows, after))
        if not rows.is_empty():
            self.staged.staged_relearned(rows)
        return rows.join(staying.select("source_path"), on="source_path", how="semi").select(STAGED_KEYS)

    def _lake_rows(self, partition: str, paths: list[str]) -> pl.DataFrame:
        year, month = partition_key(partition)
        wanted = pl.Series(paths).implode()
        frames = [
            self.lake.rows(rel).filter(pl.col("source_path").is_in(wanted))
            for rel in self.lake.state().partitions.get(partition, [])
        ]
        rows = pl.concat(frames) if frames else ARTICLES.empty_frame().drop(ARTICLES.partition_keys)
        return ARTICLES.conform(
            rows.with_columns(year=pl.lit(year, pl.Int32()), month=pl.lit(month, pl.Int32()))
        )


def _with_members(rows: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """rows (source_path, article_id, year, month) with the story_id and story_size members give
    them (their own one-copy story when members does not name them)."""
    return (
        rows.join(members.select("article_id", "story_id", "story_size"), on="article_id", how="left")
        .with_columns(
            story_id=pl.coalesce("story_id", "article_id"),
            story_size=pl.col("story_size").fill_null(1).cast(pl.Int32()),
        )
        .select("source_path", "article_id", "year", "month", "story_id", "story_size")
    )


def signed_texts(rows: pl.DataFrame) -> pl.DataFrame:
    """STORY_SIGNATURES of rows (article_id, published_at, body_text) whose text has one."""
    signatures = pl.Series("signature", text_signatures(rows["body_text"].to_list()), dtype=pl.Binary())
    return STORY_SIGNATURES.conform(
        rows.select("article_id", "published_at")
        .with_columns(signatures)
        .filter(pl.col("signature").is_not_null())
    )


def _common_words() -> frozenset[str]:
    from flows.keyword_table import jieba_common_words

    return jieba_common_words()


def lake_names(
    lake: LakeWriter, rule: NameRule, listed: Mapping[str, str], common_words: Collection[str] | None = None
) -> NameModel:
    """The names the committed lake has learned, as this run's batches match them (the user's
    list's names left out): its rows were all derived with them."""
    counts = lake.dataset("name_counts")
    if counts.is_empty():
        return {}
    return matched_names(
        learned_names(counts, rule, _common_words() if common_words is None else common_words), listed
    )


_MATCHED = ["source_path", "body_text", "stock_mentions"]  # what a row's name mentions come from
_REMATCHED = ["source_path", "stock_mentions", "stock_codes"]  # what matching them again changes
# Staged files read in one scan: a read costs ~1 ms whatever its size, and a clean build stages
# thousands. Of the texts fewer (a batch's texts are megabytes).
_FILES_AT_ONCE = 256
_TEXT_FILES_AT_ONCE = 8
# Texts matched at once against the changed names: Polars builds the names' automaton on each
# match, and the copies of a realistic million-article corpus teach hundreds of thousands of
# names (built 200 times at 5,000 texts a match). 20,000 texts are ~80 MB.
_TEXTS_AT_ONCE = 20_000


def _rematched(rows: pl.DataFrame, changed: list[str], matcher: Securities) -> pl.DataFrame:
    """Of the rows (_MATCHED columns), those whose name mentions the matcher changes, with their
    new mentions (source_path, stock_mentions, stock_codes): a substring prefilter on the changed
    names, then the word match on its hits only."""
    # One chunk: Polars builds the Aho-Corasick automaton of the names once per chunk of the
    # column (~10 ms for 8,000 names), and a frame of staged files has a chunk per file.
    hit = rows.rechunk().filter(pl.col("body_text").str.contains_any(changed))
    if hit.is_empty():
        return ARTICLES.empty_frame().select(_REMATCHED)
    again = with_name_mentions(hit, matcher)
    differ = pl.Series(
        [
            a != b
            for a, b in zip(hit["stock_mentions"].to_list(), again["stock_mentions"].to_list(), strict=True)
        ],
        dtype=pl.Boolean(),
    )
    return again.filter(differ).select(_REMATCHED)


def _partitioned(rows: pl.DataFrame, partition: str) -> pl.DataFrame:
    return rows.with_columns(_p=pl.lit(partition, pl.String()))


@dataclass(frozen=True)
class _NamesLearned:
    name_counts: pl.DataFrame
    old_name_counts: pl.DataFrame
    model: NameModel  # the names every row is matched with after the run
    changed: list[str]  # names whose code the run changed (learned, unlearned, another code)


@dataclass
class _NamesRun:
    """One run's names: the pairs the rows entering and leaving the lake teach counted into the
    lake's NAME_COUNTS, the names learned from them, and every row whose "name" mentions the
    change alters re-derived and staged (found by a scan of the texts for the changed names)."""

    lake: LakeWriter
    staged: StagedRun
    plan: MergePlan
    rows_per_file: int
    keys: list[pl.DataFrame] = field(default_factory=list)  # STAGED_KEYS of lake rows re-derived

    def learned(
        self, rule: NameRule, listed: Mapping[str, str], common_words: Collection[str] | None
    ) -> _NamesLearned:
        plan, lake = self.plan, self.lake
        old_counts = NAME_COUNTS.empty_frame() if plan.fresh else lake.dataset("name_counts")
        leaving = _of_leaving_rows(plan, lake, ["source_path", "stock_names"], name_pairs, NAME_PAIRS_SCHEMA)
        winners = plan.winners.select("source_path")
        # Pairs of every staged row first (few rows teach any), then one join with the winners: a
        # join per staged file rebuilt the winners' hash table 3,000 times in a 1M clean build.
        incoming = (
            pl.concat(
                [pl.DataFrame(schema=NAME_PAIRS_SCHEMA)]
                + [
                    name_pairs(frame)
                    for _, frame in self.staged.article_columns(
                        ["source_path", "stock_names"], _FILES_AT_ONCE
                    )
                ]
            )
            .unique()
            .join(winners, on="source_path", how="semi")
        )
        counts = next_name_counts(old_counts, leaving, incoming)
        words: Collection[str] = ()
        if not (counts.is_empty() and old_counts.is_empty()):
            words = _common_words() if common_words is None else common_words
        old_model = matched_names(learned_names(old_counts, rule, words), listed)
        model = matched_names(learned_names(counts, rule, words), listed)
        return _NamesLearned(counts, old_counts, model, changed_names(old_model, model))

    def restaged(self, names: _NamesLearned, done: pl.DataFrame) -> pl.DataFrame:
        """Stage every row whose "name" mentions the final model changes: this run's parsed rows
        were matched with the lake's names, the lake's rows too, so only rows whose text holds a
        changed name can differ. done: source paths another pass staged with the final names.
        Gives the STAGED_KEYS of the lake's rows staged."""
        if not names.changed:
            return self.plan.winners.clear().select(STAGED_KEYS)
        matcher = Securities(names.model)
        changed = names.changed
        # Rows another pass staged again were matched with the final names then; their batch's
        # copy is stale. The rest have one copy, their batch's: its mentions are matched again.
        skip = pl.concat([done["source_path"], self.staged.relearned_paths()]).implode()
        entering = self.plan.winners.select("source_path").filter(~pl.col("source_path").is_in(skip))
        found: list[pl.DataFrame] = [_partitioned(ARTICLES.empty_frame().select(_REMATCHED), "")]
        held: list[pl.DataFrame] = []  # up to _TEXTS_AT_ONCE staged texts, of any partition

        def matched() -> None:
            if held:
                texts = pl.concat(held)
                rematched = _rematched(texts.drop("_p"), changed, matcher).join(entering, on="source_path")
                found.append(rematched.join(texts.select("source_path", "_p"), on="source_path"))
                held.clear()

        for partition, frame in self.staged.article_columns(_MATCHED, _TEXT_FILES_AT_ONCE):
            if sum(f.height for f in held) >= _TEXTS_AT_ONCE:
                matched()
            held.append(_partitioned(frame, partition))
        matched()
        for (partition,), rows in (
            pl.concat(found).partition_by("_p", as_dict=True, include_key=False).items()
        ):
            rematched = rows.sort("source_path")
            for start in range(0, rematched.height, self.rows_per_file):
                part = rematched.slice(start, self.rows_per_file)
                self._stage_changed(self.staged.articles(str(partition), part["source_path"].to_list()), part)
        if not self.plan.fresh:
            self._restaged_lake_rows(changed, matcher, done)
        return pl.concat([self.plan.winners.clear().select(STAGED_KEYS), *self.keys])

    def _stage_changed(self, rows: pl.DataFrame, rematched: pl.DataFrame) -> pl.DataFrame:
        """Stage the rows with the mentions _rematched found for them; their keys."""
        if rows.is_empty():
            return rows.select(STAGED_KEYS)
        again = ARTICLES.conform(rows.drop(_REMATCHED[1:]).join(rematched, on="source_path"))
        if not again.is_empty():
            self.staged.staged_relearned(again)
        return again.select(STAGED_KEYS)

    def _restaged_lake_rows(self, changed: list[str], matcher: Securities, done: pl.DataFrame) -> None:
        """The lake's staying rows whose text holds a changed name, matched again: each file's
        texts read (three columns), a substring prefilter, the word-boundary match on the hits only."""
        skip = pl.concat(
            [self.plan.removed["source_path"], self.plan.winners["source_path"], done["source_path"]]
        ).implode()
        for name, files in sorted(self.lake.state().partitions.items()):
            year, month = partition_key(name)
            for rel in files:
                texts = self.lake.rows(rel, _MATCHED).filter(~pl.col("source_path").is_in(skip))
                rematched = _rematched(texts, changed, matcher)
                if rematched.is_empty():
                    continue
                rows = self.lake.rows(rel).filter(
                    pl.col("source_path").is_in(rematched["source_path"].implode())
                )
                rows = ARTICLES.conform(
                    rows.with_columns(year=pl.lit(year, pl.Int32()), month=pl.lit(month, pl.Int32()))
                )
                self.keys.append(self._stage_changed(rows, rematched))


def learned_models(
    lake: LakeWriter,
    staged: StagedRun,
    plan: MergePlan,
    rule: LearningRule,
    rows_per_file: int,
    story_threshold: float,
    rederive: Rederive = _rederived_with_keywords,
    name_rule: NameRule | None = None,
    listed: Mapping[str, str] | None = None,
    common_words: Collection[str] | None = None,
) -> Learned | None:
    """The learn stage: the lake's next models after the merge plan, the rows they change
    re-derived and staged (None for a plan that loads nothing: a rejected or empty run).
    Names first (what they are learned from depends on no other model), then boilerplate (a row
    whose text it changes is matched with the final names and signed again for its story), then
    the rows the names change, then stories. listed: the user's securities list (name -> code),
    whose names are never the archive's; common_words: jieba's, unless given."""
    if not plan.loads:
        return None
    names_run = _NamesRun(lake, staged, plan, rows_per_file)
    names = names_run.learned(name_rule or NameRule(), listed or {}, common_words)
    matcher = Securities(names.model)

    def rederived(rows: pl.DataFrame, model: Model) -> pl.DataFrame:
        return ARTICLES.conform(with_name_mentions(rederive(rows, model), matcher))

    boilerplate = _BoilerplateRun(lake, staged, plan, rows_per_file, rederived).learned(rule)
    named = names_run.restaged(names, boilerplate.rederived)
    stories = _StoryRun(lake, staged, plan, rows_per_file).learned(
        story_threshold, boilerplate.rewritten, boilerplate.resigned
    )
    return Learned(
        rederived=pl.concat([boilerplate.rederived, named, stories.rederived]).unique(
            "source_path", keep="first"
        ),
        line_counts=boilerplate.line_counts,
        old_line_counts=boilerplate.old_line_counts,
        line_sightings=boilerplate.line_sightings,
        boilerplate=boilerplate.boilerplate,
        story_signatures=stories.signatures,
        old_story_signatures=stories.old_signatures,
        story_edges=stories.edges,
        old_story_edges=stories.old_edges,
        name_counts=names.name_counts,
        old_name_counts=names.old_name_counts,
    )
