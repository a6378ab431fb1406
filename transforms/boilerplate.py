"""Boilerplate: credit lines an article carries, and the lines a feed repeats across its articles.

Credits ("作者：…", "译者：…", "(记者 …)") are recognised in one article; the lines a feed repeats
(a link label, a disclaimer, a promo) only across many: the lake learns them per feed (the counts
are kept by warehouse/, the thresholds are settings) and hands each parse the learned lines of its
feed. Lines are compared by a normalised key, each run of digits one '#', so that "12 赞" and
"15 赞" are one line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FEED_TOTAL = 0  # the line_hash an article's feed is counted under (no line hashes to 0)
MAX_LEARNABLE_CHARS = 400  # a longer paragraph is article text, however often it recurs
MIN_LETTERS = 2  # "1", "2", "(3)" recur as list numbers: structure, not boilerplate

_DIGITS = re.compile(r"\d+")
# Words that open a credit: followed by a colon, a bar or a space ("记者 姚祥云")...
_CREDIT_WORDS = (
    "本文作者|作者|译者|翻译|编译|撰文|文字|记者|编辑|责任编辑|责编|校对|审校|排版|美编|"
    "图片来源|封面图片来源|封面来源|题图来源|题图|图源|摄影|本文来源|来源|出品|监制|原文链接|原文地址"
)
# "本文来自微信公众号“极客公园”（ID:geekpark），作者：Jesse，36氪经授权发布。", "题图来自 Unsplash"
_SOURCE_CREDIT = re.compile(
    r"^(?:编者按[:：]\s*)?(?:(?:本文来自|本文转载自|转载自|本文首发于)\s*(?:微信公众号|公众号|[“「\"《]|\S{0,12}(?:特邀作者|作者|专栏|投稿))"
    r"|题图来自|封面来自|图片来自|ps[:：]\s*数据来自)",
    re.I,
)
# ...and words that open one only before a colon or a bar ("文：张三", "Author: Jane Doe").
_COLON_CREDIT_WORDS = "文|图|author|authors|editor|edited by|translator|translated by|photo|image|source|via"
_WHO = r"(?P<who>[^\n]{1,60}?)\s*[)）】\]]?[。.]?$"
_CREDIT = re.compile(
    rf"^[(（【\[]?\s*(?:(?:{_CREDIT_WORDS})\s*(?:[:：|｜/]\s*|\s+)|(?:{_COLON_CREDIT_WORDS})\s*[:：|｜]\s*){_WHO}",
    re.IGNORECASE,
)
_MAX_CREDIT_CHARS = 80
# Credits open or close an article: only its first and last lines are looked at ("记者：" inside
# an interview is a speaker, not a credit).
_CREDIT_HEAD, _CREDIT_TAIL = 2, 3


def feed_key(source: str | None, feed: str | None) -> int | None:
    """What a feed's lines are learned under: a hash of its source and feed (None: nothing is
    learned). A number, not the names: the lake counts millions of (feed, line) pairs."""
    if source is None and feed is None:
        return None
    return line_hash(f"\x1d{source or ''}\x1f{feed or ''}")


@dataclass(frozen=True)
class LearningRule:
    """When a line is a feed's boilerplate: it recurs in at least min_share of the feed's loaded
    articles and in at least min_articles of them, and the feed has min_feed_articles or more."""

    min_share: float = 0.3
    min_articles: int = 5
    min_feed_articles: int = 10

    def threshold(self, feed_articles: int) -> int | None:
        """The articles a line must recur in, for a feed of that many (None: it learns nothing)."""
        if feed_articles < self.min_feed_articles:
            return None
        return max(self.min_articles, -int(-self.min_share * feed_articles // 1))


def line_key(text: str) -> str:
    """The normalised form lines are compared by: each run of digits '#'. The parser's lines are
    NFC and whitespace-collapsed already (folding full-width forms as NFKC does cost a third of
    a parse, and a feed's template repeats its own characters)."""
    return _DIGITS.sub("#", text.strip())


_TWO_LETTERS = re.compile(r"[^\W\d_].*?[^\W\d_]", re.S)  # two letters (no digits, no "_")


def is_learnable(key: str) -> bool:
    """Whether a line may be learned as boilerplate: not a list number, not a long passage."""
    return len(key) <= MAX_LEARNABLE_CHARS and _TWO_LETTERS.search(key) is not None


def line_hash(key: str) -> int:
    """A stable 63-bit hash of a line key (what the lake counts; never 0)."""
    digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big")
    return (digest >> 1) or 1


def learnable_hashes(lines: Iterable[str]) -> list[int]:
    """The distinct hashes of an article's learnable lines (one count per article). A line
    over twice the length limit is passed over unread (normalising never halves a line)."""
    keys = {line_key(line) for line in lines if len(line) <= 2 * MAX_LEARNABLE_CHARS}
    return [line_hash(key) for key in keys if is_learnable(key)]


def is_credit(line: str) -> bool:
    """A line that only credits a person or a source: it goes to `credits`, not the text."""
    text = line.strip()
    if len(text) > _MAX_CREDIT_CHARS:
        return False
    return _CREDIT.match(text) is not None or _SOURCE_CREDIT.match(text) is not None


# Lines that are boilerplate wherever they stand, in any feed: disclaimers and notices, link
# labels with nothing behind them, a PDF link's label, a column's sign-off.
_NOTICE = re.compile(
    r"^(?:免责声明|版权声明|特别声明|风险声明|版权所有)\s*[:：]"
    r"|^(?:查看|阅读|点击阅读|点击查看)(?:原文|全文|更多)\s*[>》]*$"
    r"|^Download PDF(?:null)?$"
    r"|请点击\s*[↓⬇]+$"
    r"|^.{0,30}(?:下期再见|我们下期见|感谢阅读|感谢您的阅读)[。！!]?$",
    re.IGNORECASE,
)


def is_notice(line: str) -> bool:
    """A disclaimer, notice, bare link label or sign-off: boilerplate in any feed."""
    return _NOTICE.search(line.strip()) is not None


def without_credits(lines: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the lines less the credit lines among the first and last ones, those credit lines)."""
    ends = set(range(min(_CREDIT_HEAD, len(lines)))) | set(
        range(max(0, len(lines) - _CREDIT_TAIL), len(lines))
    )
    credits = [line for i, line in enumerate(lines) if i in ends and is_credit(line)]
    if not credits:
        return list(lines), []
    return [line for i, line in enumerate(lines) if i not in ends or not is_credit(line)], credits


@dataclass(frozen=True)
class SplitLines:
    """An article's lines, split into the text and what was taken out of it."""

    kept: list[str]
    removed: list[str]  # learned boilerplate, in order
    removed_at: list[int]  # where each removed line stood among all the lines


def split_lines(lines: Sequence[str], learned: frozenset[int]) -> SplitLines:
    """The lines whose keys the feed has learned, and notices (is_notice), are taken out; their
    places are kept, so that the text can be put back together when the feed unlearns one
    (restored_lines)."""
    kept: list[str] = []
    removed: list[str] = []
    removed_at: list[int] = []
    for index, line in enumerate(lines):
        if is_notice(line) or (learned and line_hash(line_key(line)) in learned):
            removed.append(line)
            removed_at.append(index)
        else:
            kept.append(line)
    return SplitLines(kept, removed, removed_at)


def restored_lines(kept: Sequence[str], removed: Sequence[str], removed_at: Sequence[int]) -> list[str]:
    """All of an article's lines, in order, from what split_lines returned."""
    out: list[str] = []
    pending = iter(kept)
    places = dict(zip(removed_at, removed, strict=True))
    for index in range(len(kept) + len(removed)):
        out.append(places[index] if index in places else next(pending))
    return out
