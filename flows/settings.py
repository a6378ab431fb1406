"""The one typed settings object, built at the entry point and passed down."""

from __future__ import annotations

import os
from dataclasses import fields
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flows import defaults
from flows.securities import securities_digest, securities_list
from transforms.boilerplate import LearningRule
from transforms.names import NameRule
from warehouse.layout import ROWS_PER_FILE, lock_path
from warehouse.storage import is_remote

# Changing any of these changes rows already in the lake (a zone moves published_date, a rule
# moves boilerplate, a size bound turns a row into a quarantine record); layout and run-control
# settings (rows_per_file, batch sizes, max_bad_ratio, patterns: a file left out is deleted as in
# a clean build) do not.
ROW_SETTINGS = (
    "tz",
    "max_file_bytes",
    *(f"boilerplate_{rule.name}" for rule in fields(LearningRule)),
    "story_min_similarity",
    "names_min_articles",
    "securities",  # recorded as a digest of the list's content (Settings.row_settings)
)


# The boilerplate rule's settings, boilerplate_<field of LearningRule>: the rule's default, the
# least and most value allowed (None: no most) and the help (read in order, one sentence).
_RULE_SETTINGS: dict[str, tuple[float, float | None, str]] = {
    "min_share": (0.0, 1.0, "A line is a feed's boilerplate when this share of its articles carry it..."),
    "min_articles": (2, None, "...and at least this many of them..."),
    "min_feed_articles": (2, None, "...in a feed of at least this many articles."),
    "long_chars": (1, None, "A line this long, or one recurring with the same neighbour, is a template..."),
    "template_min_share": (0.0, 1.0, "...learned when this share of the feed's articles carry it..."),
    "template_min_articles": (2, None, "...and at least this many (a quotation or a line of figures never is)."),
}  # fmt: skip


def _rule_setting(name: str) -> Any:
    """The Field of the setting boilerplate_<name>."""
    least, most, help_text = _RULE_SETTINGS[name]
    return Field(getattr(LearningRule, name), ge=least, le=most, description=help_text)


class Settings(BaseModel):
    """Everything a run depends on. Flow parameters are validated against this model."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(defaults.SOURCE, description="Folder of raw article files, or s3://bucket/prefix.")
    lake: str = Field(
        defaults.LAKE, description="Lake root (folder or s3://bucket/prefix): Parquet and manifest."
    )
    catalog: Path | None = Field(
        None, description="DuckDB catalog file; default LAKE/warehouse.duckdb (required for S3)."
    )
    tz: str = Field(defaults.TZ, description="Time zone of naive front-matter dates.")
    patterns: tuple[str, ...] = Field(defaults.PATTERNS, description="File name globs to load.")
    batch_size: int = Field(defaults.BATCH_SIZE, ge=1, le=100_000, description="Files per transform task.")
    batch_bytes: int = Field(
        defaults.BATCH_BYTES,
        ge=1,
        description="Source bytes per transform task at most (a larger file is a task alone).",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Transform processes."
    )
    max_file_bytes: int = Field(
        defaults.MAX_FILE_BYTES, ge=1, description="Larger files are quarantined unread."
    )
    max_bad_ratio: float = Field(
        defaults.MAX_BAD_RATIO, ge=0.0, le=1.0, description="Above this share of bad files nothing loads."
    )
    full_refresh: bool = Field(False, description="Rebuild the whole lake from the source.")
    allow_mass_delete: bool = Field(False, description="Allow a run to delete more than half of the rows.")
    lock_timeout: float = Field(
        defaults.LOCK_TIMEOUT, ge=0.0, description="Seconds to wait for another run's lock."
    )
    retain_seconds: float = Field(
        defaults.RETAIN_SECONDS, ge=0.0, description="Grace period before superseded files are deleted."
    )
    rows_per_file: int = Field(
        ROWS_PER_FILE,
        ge=1,
        le=1_000_000,
        description="Rows per Parquet file of a partition at most (what a rewrite holds in memory).",
    )
    boilerplate_min_share: float = _rule_setting("min_share")
    boilerplate_min_articles: int = _rule_setting("min_articles")
    boilerplate_min_feed_articles: int = _rule_setting("min_feed_articles")
    boilerplate_long_chars: int = _rule_setting("long_chars")
    boilerplate_template_min_share: float = _rule_setting("template_min_share")
    boilerplate_template_min_articles: int = _rule_setting("template_min_articles")
    story_min_similarity: float = Field(
        defaults.STORY_MIN_SIMILARITY,
        gt=0.0,
        le=1.0,
        description="Two articles are copies of one story when their texts' estimated shingle "
        "Jaccard reaches this.",
    )
    names_min_articles: int = Field(
        NameRule.min_articles,
        ge=1,
        description="A name the archive teaches (a stock link around it, its code after it, a cashtag) "
        "is matched in every article once this many articles teach it with one code.",
    )
    securities: Path | None = Field(
        None,
        description="A CSV or Parquet list of securities (columns code, name, aliases): their names "
        "found in the text become stock mentions.",
    )
    dask_address: str | None = Field(
        None, description="tcp://host:port of a Dask scheduler for the transform tasks."
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec options for s3:// sources and lakes (endpoint, region)."
    )

    @field_validator("source", "lake", mode="before")
    @classmethod
    def _location(cls, value: object) -> str:
        return os.fspath(value) if isinstance(value, os.PathLike) else str(value)

    @model_validator(mode="after")
    def _remote_lake_needs_a_catalog(self) -> Settings:
        if is_remote(self.lake) and self.catalog is None:
            raise ValueError("a remote --lake needs a local --catalog PATH (DuckDB files cannot live on S3)")
        return self

    @model_validator(mode="after")
    def _paths_are_what_they_should_be(self) -> Settings:
        if not is_remote(self.lake) and Path(self.lake).exists() and not Path(self.lake).is_dir():
            raise ValueError(f"--lake {self.lake} is a file, not a folder")
        if self.catalog is not None and self.catalog.is_dir():
            raise ValueError(f"--catalog {self.catalog} is a folder, not a file")
        return self

    @model_validator(mode="after")
    def _securities_list_reads(self) -> Settings:
        if self.securities is not None:
            self.securities_names  # noqa: B018 - read now: a bad list is a usage error, not a failed run
        return self

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def row_settings(self) -> dict[str, str]:
        """The settings that change a value in a row (or whether a file becomes one), as text: the
        lake records them, and a run with other values re-derives every row (incremental == clean)."""
        values = {name: str(getattr(self, name)) for name in ROW_SETTINGS}
        values["securities"] = securities_digest(self.securities_names) if self.securities else "none"
        return values

    @cached_property
    def securities_names(self) -> dict[str, str]:
        """The securities list's names and aliases with their codes (read once)."""
        return securities_list(self.securities) if self.securities else {}

    @property
    def learning_rule(self) -> LearningRule:
        """The boilerplate rule: each of its fields is the setting boilerplate_<field>."""
        return LearningRule(
            **{rule.name: getattr(self, f"boilerplate_{rule.name}") for rule in fields(LearningRule)}
        )

    @property
    def name_rule(self) -> NameRule:
        return NameRule(min_articles=self.names_min_articles)

    @property
    def catalog_path(self) -> Path:
        return defaults.catalog_path(self.lake, self.catalog)

    @property
    def lock_path(self) -> Path:
        return lock_path(self.lake, self.catalog_path)
