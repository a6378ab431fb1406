"""The one typed settings object, built at the entry point and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_SOURCE = Path("data/sample")
DEFAULT_LAKE = Path("data/lake")


class Settings(BaseModel):
    """Everything a run depends on. Flow parameters are validated against this model."""

    model_config = ConfigDict(frozen=True)

    source: Path = Field(DEFAULT_SOURCE, description="Folder of raw article files.")
    lake: Path = Field(DEFAULT_LAKE, description="Lake root: Parquet datasets and the catalog.")
    catalog: Path | None = Field(None, description="DuckDB catalog file; default LAKE/warehouse.duckdb.")
    tz: str = Field("Asia/Shanghai", description="Time zone of naive front-matter dates.")
    patterns: tuple[str, ...] = Field(("*.md", "*.markdown", "*.txt"), description="File name globs to load.")
    batch_size: int = Field(500, ge=1, le=100_000, description="Files per transform task.")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Transform processes."
    )
    max_file_bytes: int = Field(20 * 1024 * 1024, ge=1, description="Larger files are quarantined unread.")
    max_bad_ratio: float = Field(
        0.2, ge=0.0, le=1.0, description="Above this share of bad files nothing loads."
    )
    full_refresh: bool = Field(False, description="Rebuild the whole lake from the source.")
    allow_mass_delete: bool = Field(False, description="Allow a run to delete more than half of the rows.")
    lock_timeout: float = Field(0.0, ge=0.0, description="Seconds to wait for another run's lock.")
    retain_seconds: float = Field(
        3600.0, ge=0.0, description="Grace period before superseded files are deleted."
    )

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def catalog_path(self) -> Path:
        return (self.catalog or self.lake / "warehouse.duckdb").resolve()
