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


# A common word of jieba's dictionary (the one rjieba segments with): this frequent, and not tagged
# an organisation's or another proper noun's name (nt, nz). Sina links 太平洋 (2721), 老百姓 (2994)
# and 太阳能 (464) to their companies; 苹果, 联想, 大众, 长城, 光明 are as frequent. Company names
# the dictionary knows are rarer (格力电器 6, 招商银行 85, 腾讯 98) or tagged nt/nz (中国移动,
# 搜狐); 百度 and 小米 (tagged n) are the losses.
COMMON_WORD_FREQUENCY = 200


@lru_cache(maxsize=1)
def jieba_common_words() -> frozenset[str]:
    """Words a learned name must not be (transforms.names.learned_names): matched as a name, a
    common word would be a stock mention in every text that uses the word."""
    # Read by Polars' CSV reader: 349,046 lines split in Python took 0.16 to 0.5 s of each run.
    import polars as pl

    entries = pl.read_csv(
        _jieba_file("dict.txt"),
        separator=" ",
        has_header=False,
        new_columns=["word", "frequency", "tag"],
        schema={"word": pl.String(), "frequency": pl.String(), "tag": pl.String()},
        quote_char=None,
        truncate_ragged_lines=True,
    )
    frequent = pl.col("frequency").cast(pl.Int64(), strict=False) >= COMMON_WORD_FREQUENCY
    named = pl.col("tag").is_in(["nt", "nz"]).fill_null(False)
    return frozenset(entries.filter(frequent & ~named)["word"].to_list())
