"""The keyword weights newslake uses: jieba's shipped IDF table, read once per process.

Found without importing jieba (0.13 s a process); the parser in transforms/ is handed the table.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from transforms.keywords import KeywordWeights, keyword_weights


def _jieba_file(*parts: str) -> Path:
    spec = find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("jieba is not installed: its IDF table weighs the keywords")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


@lru_cache(maxsize=1)
def jieba_keyword_weights() -> KeywordWeights:
    return keyword_weights(_jieba_file("analyse", "idf.txt").read_bytes())
