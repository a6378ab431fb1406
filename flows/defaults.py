"""The settings' default values and the catalog-path rule, in plain Python.

The settings model (flows/settings.py) takes its defaults from here, and so does the command
line: `newslake --help` and `newslake query` show and use them without importing pydantic,
Polars or the model.
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
# A feed's boilerplate: lines in 30% of its articles, at least 5, once it has 10 (measured on the
# ten feeds of corpus-feeds: see docs/parsing.md, "Boilerplate learned per feed").
BOILERPLATE_MIN_SHARE: Final = 0.3
BOILERPLATE_MIN_ARTICLES: Final = 5
BOILERPLATE_MIN_FEED_ARTICLES: Final = 10
# ...or, as a template, in 10% of them and at least 3 (a sub-series: 3 to 5 of a feed's 20), when
# it has 6 characters or more or recurs with the same neighbour. On corpus-feeds the headings
# 格隆汇 repeats in 3 of 20 ("摘要", "风险提示", "报告正文", "核心观点") have 2 to 4 characters; the
# shortest line a reader takes out that recurs below 30% is Aljazeera's photo credit
# "(半岛电视台)" (7, in 3 of 20). No other line recurs in 3 articles of a feed, alone or as a pair.
BOILERPLATE_LONG_CHARS: Final = 6
BOILERPLATE_TEMPLATE_MIN_SHARE: Final = 0.1
BOILERPLATE_TEMPLATE_MIN_ARTICLES: Final = 3
# Copies of one text share 0.63 to 1.0 of their 5-character shingles (a date lead added, a credit
# or the last sentence dropped, another intro); a feed's daily template on other days, or one
# event written twice, 0.2 to 0.43. Halfway, and three standard errors of the 128-position
# estimate from each side.
STORY_MIN_SIMILARITY: Final = 0.53
# A name the archive teaches is learned from one article: on corpus + corpus-feeds every pair is
# taught once (29 pairs, all true when read: Sina's links and names anchored to a code are precise),
# so two would learn nothing there. What guards the matches is the rest of the rule: one code with
# 80% of a name's evidence, and no common word of the segmenter's dictionary (see docs/parsing.md,
# "Companies in every feed").
NAMES_MIN_ARTICLES: Final = 1


def catalog_path(lake: str | Path, catalog: str | Path | None = None) -> Path:
    """The catalog a lake is read through: --catalog, or LAKE/warehouse.duckdb."""
    return (Path(catalog) if catalog else Path(lake) / CATALOG_NAME).resolve()
