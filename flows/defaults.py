"""The settings' default values and the catalog-path rule, in plain Python.

The settings model (flows/settings.py) takes its defaults from here, and so does the command
line: `newslake --help` and `newslake query` show and use them without importing pydantic,
Polars or the model. The learning rules' defaults (boilerplate, names) are declared on the rules
themselves (transforms.boilerplate.LearningRule, transforms.names.NameRule), which no command's
help shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

SOURCE: Final = "data/sample"  # `newslake run` without --source writes the sample here first
LAKE: Final = "data/lake"
CATALOG_NAME: Final = "warehouse.duckdb"
SAMPLE_SIZE: Final = 200
TZ: Final = "Asia/Shanghai"
PATTERNS: Final = ("*.md", "*.markdown", "*.txt")
BATCH_SIZE: Final = 1000
BATCH_BYTES: Final = 32 * 1024 * 1024
MAX_FILE_BYTES: Final = 20 * 1024 * 1024
MAX_BAD_RATIO: Final = 0.2
LOCK_TIMEOUT: Final = 0.0
RETAIN_SECONDS: Final = 3600.0
REPORT_DAYS: Final = 60
# Copies of one text share 0.63 to 1.0 of their 5-character shingles (a date lead added, a credit
# or the last sentence dropped, another intro); a feed's daily template on other days, or one
# event written twice, 0.2 to 0.43. Halfway, and three standard errors of the 128-position
# estimate from each side.
STORY_MIN_SIMILARITY: Final = 0.53


def catalog_path(lake: str | Path, catalog: str | Path | None = None) -> Path:
    """The catalog a lake is read through: --catalog, or LAKE/warehouse.duckdb."""
    return (Path(catalog) if catalog else Path(lake) / CATALOG_NAME).resolve()
