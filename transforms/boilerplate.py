"""Boilerplate: credit lines an article carries, and the lines a feed repeats across its articles.

Credits ("作者：…", "翻译/…", "(记者 …)") are recognised in one article; the lines a feed repeats
(a link label, a disclaimer, a promo, a column's template) only across many: the lake learns them
per feed (the counts are kept by warehouse/, the thresholds are settings) and hands each parse the
learned lines of its feed. Lines are compared by a normalised key, each run of digits one '#', so
that "12 赞" and "15 赞" are one line.

What the lake counts of a line is its hash, and the hash carries what the rule weighs besides the
count (line_hash): the line's length, and whether it is guarded (a quotation, a line of figures:
only a share of the feed's articles makes those boilerplate). Each article also counts the pairs of
neighbouring lines it carries (pair_hash), so that lines recurring together, as a block (a call
for submissions, navigation tabs), are seen to. So the model stays a function of the counts alone:
the same whichever runs loaded the articles.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

FEED_TOTAL = 0  # the line_hash an article's feed is counted under (no line hashes to 0)
MAX_LEARNABLE_CHARS = 400  # a longer paragraph is article text, however often it recurs
MIN_LETTERS = 2  # "1", "2", "(3)" recur as list numbers: structure, not boilerplate
# Pairs of neighbouring lines are counted when one of them is shorter than this: a block is
# evidence for short lines (two long ones are weighed by their length already).
BLOCK_MAX_CHARS = 64
# A line with more numbers than this is a line of figures ("道指开盘下跌#.#点，纳指下跌#.#点"): a
# feed's news repeat its form, so only the share rule learns it.
MAX_TEMPLATE_NUMBERS = 2

# A line hash (63 bits, never negative): bits 54-62 the key's length (0: unknown, weighed as a short
# line), bit 53 the guard, bit 52 set for a pair of lines, bits 0-51 a digest of the key. A pair's
# hash keeps the first line's length and guard, the high half of its digest in bits 0-25 and the
# low half of the second line's in bits 26-51 (warehouse.feed_model joins them back to the lines).
LENGTH_UNIT = 1 << 54
GUARD_BIT = 1 << 53
PAIR_BIT = 1 << 52
HALF_DIGEST = 1 << 26
_MAX_LENGTH = (1 << 9) - 1
_DIGEST = PAIR_BIT - 1

_DIGITS = re.compile(r"\d+")
# A separator after a credit's word: a colon (half- or full-width), a bar or a slash.
_SEP = r"[:：︰∶|｜丨︱/／]"
# Words that open a credit: followed by a separator or a space ("记者 姚祥云", "翻译/Ann")...
_CREDIT_WORDS = (
    "本文作者|作者|译者|翻译|编译|撰文|撰稿|文字|记者|特约记者|实习记者|通讯员|编辑|责任编辑|责编|执行编辑|主编|"
    "校对|审校|审核|审稿|排版|美编|策划|统筹|采写|"
    "图片来源|封面图片来源|封面来源|题图来源|头图来源|题图|头图|图源|摄影|本文来源|文章来源|来源|出品|监制|原文链接|原文地址"
)
# ...and words that open one only before a separator ("文：张三", "图/视觉中国", "Author: Jane Doe").
_COLON_CREDIT_WORDS = (
    "文|图|译|校|图文|文案|视觉|设计|插图|插画|制图|配图|视频|剪辑|整理|口述|采访|运营|出品人|制作|"
    "author|authors|editor|edited by|translator|translated by|translation|proofreading|proofreader|"
    "photo|photos|image|illustration|design|reporter|text|words|source|via"
)
# "本文来自微信公众号“极客公园”（ID:geekpark），作者：Jesse，36氪经授权发布。", "题图来自 Unsplash"
_SOURCE_CREDIT = re.compile(
    r"^(?:编者按[:：]\s*)?(?:(?:本文来自|本文转载自|转载自|本文首发于)\s*(?:微信公众号|公众号|[“「\"《]|\S{0,12}(?:特邀作者|作者|专栏|投稿)"
    # "本文来自华尔街见闻（ID：wallstreetcn），…": a source named with its account.
    r"|\S{1,20}?[（(]\s*(?:ID|微信号)\s*[:：])"
    r"|(?:题图|头图|封面|配图|图片)\S{0,10}?(?:来自|来源于|源自)|ps[:：]\s*数据来自"
    # "每日经济新闻综合自环球网、", "新华社综合外电": a newsroom's compilation of sources.
    r"|\S{0,8}(?:新闻|日报|晚报|时报|社)综合\S|\S{0,8}综合(?:报道|外电))",
    re.I,
)
_WHO = r"(?P<who>[^\n]{1,60}?)\s*[)）】\]]?[。.]?$"
# What follows a reporter in a heading, not a name ("央视记者探访", "财联社记者获悉", "中国记者节").
_HEADING_VERBS = "探访|调查|连线|观察|发现|获悉|了解|走访|直击|手记|采访|讲述|实探|节"
_NO_SENTENCE = r"(?=[^，。？！；,?!;]+$)"  # what follows is a name or a list of them, not a sentence
_MARKS = "*※>·•►▶◆■"  # what a credit line may open with ("*头图来源：…", "► 文 观察者网 陶梦")
# A line may open with a mark or a bracket ("(记者 姚祥云)").
_CREDIT = re.compile(
    rf"^(?:[{_MARKS}]\s*)?[(（【\[]?\s*(?:(?:{_CREDIT_WORDS})\s*(?:{_SEP}\s*|\s+)|(?:{_COLON_CREDIT_WORDS})\s*{_SEP}\s*"
    # "文 观察者网 陶梦": the one-character words before a space, when names follow.
    rf"|(?:文|图|摄)\s+(?!\d){_NO_SENTENCE}"
    # "每经编辑 王鑫", "本报记者 张三", "中国基金报记者方丽": a newsroom's word before the role, a
    # name after it (with no space only when the name, two to four characters, ends the line).
    rf"|[\u4e00-\u9fff]{{1,6}}(?:记者|编辑|通讯员)(?:\s*{_SEP}\s*{_NO_SENTENCE}|\s+{_NO_SENTENCE}|(?!{_HEADING_VERBS})(?=[\u4e00-\u9fff]{{1,3}}[^\W\d_到了说称道讯]$)))"
    + _WHO,
    re.IGNORECASE,
)
_SOURCE_MARK = re.compile(rf"^[{_MARKS}]\s*")  # a mark a source credit may open with
_MAX_CREDIT_CHARS = 80
# Credits open or close an article: only its first and last lines are looked at ("记者：" inside
# an interview is a speaker, not a credit), and the credit lines next to those (a block of them).
_CREDIT_HEAD, _CREDIT_TAIL = 2, 3


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


@lru_cache(maxsize=4096)  # an archive has a few hundred feeds; every row asks for its own
def feed_key(source: str | None, feed: str | None) -> int | None:
    """What a feed's lines are learned under: a hash of its source and feed (None: nothing is
    learned). A number, not the names: the lake counts millions of (feed, line) pairs."""
    if source is None and feed is None:
        return None
    return (_digest(f"\x1d{source or ''}\x1f{feed or ''}") >> 1) or 1


def _at_least(share: float, articles: int) -> int:
    """The articles that make that share of a feed of that many (30% of 10 is 3, not 4)."""
    return math.ceil(round(share * articles, 9))


@dataclass(frozen=True)
class LearningRule:
    """When a line is a feed's boilerplate, in a feed of min_feed_articles or more articles.

    By its share: it recurs in at least min_share of the feed's loaded articles and in at least
    min_articles of them. Or as a template: a line of long_chars characters or more, or one that
    recurs with the same neighbour (a block: a call for submissions, navigation tabs), needs only
    template_min_share and template_min_articles (a sub-series of a feed, a weekly column, is a few
    of its articles); unless it is guarded (a quotation, a line of figures): a 2-character heading
    or the same statement quoted across a feed's news is not a template.

    The defaults are the settings' (flows/settings.py takes them from here)."""

    # Lines in 30% of a feed's articles, at least 5, once it has 10 (measured on the ten feeds of
    # corpus-feeds: see docs/parsing.md, "Boilerplate learned per feed").
    min_share: float = 0.3
    min_articles: int = 5
    min_feed_articles: int = 10
    # ...or, as a template, in 10% of them and at least 3 (a sub-series: 3 to 5 of a feed's 20),
    # when it has 6 characters or more or recurs with the same neighbour. On corpus-feeds the
    # headings 格隆汇 repeats in 3 of 20 ("摘要", "风险提示", "报告正文", "核心观点") have 2 to 4
    # characters; the shortest line a reader takes out that recurs below 30% is Aljazeera's photo
    # credit "(半岛电视台)" (7, in 3 of 20). No other line recurs in 3 articles of a feed, alone or
    # as a pair.
    long_chars: int = 6
    template_min_share: float = 0.1
    template_min_articles: int = 3

    def threshold(self, feed_articles: int) -> int | None:
        """The articles a line must recur in, for a feed of that many (None: it learns nothing)."""
        if feed_articles < self.min_feed_articles:
            return None
        return max(self.min_articles, _at_least(self.min_share, feed_articles))

    def template_threshold(self, feed_articles: int) -> int | None:
        """The articles a template line (long, or in a block) must recur in (None: none is learned)."""
        if feed_articles < self.min_feed_articles:
            return None
        return max(self.template_min_articles, _at_least(self.template_min_share, feed_articles))


def line_key(text: str) -> str:
    """The normalised form lines are compared by: each run of digits '#'. The parser's lines are
    NFC and whitespace-collapsed already (folding full-width forms as NFKC does cost a third of
    a parse, and a feed's template repeats its own characters)."""
    return _DIGITS.sub("#", text.strip())


_TWO_LETTERS = re.compile(r"[^\W\d_].*?[^\W\d_]", re.S)  # two letters (no digits, no "_")
_OPENING_QUOTES = ("“", "「", "『", '"', "‘")
_QUOTED = re.compile(r"“[^”]*”|「[^」]*」|『[^』]*』|\"[^\"]*\"|‘[^’]*’")


def is_learnable(key: str) -> bool:
    """Whether a line may be learned as boilerplate: not a list number, not a long passage."""
    return len(key) <= MAX_LEARNABLE_CHARS and _TWO_LETTERS.search(key) is not None


def is_guarded(key: str) -> bool:
    """A line only the share rule learns, however long: a quotation (it opens with a quotation
    mark, or quotes make half of it) or a line of figures (more than MAX_TEMPLATE_NUMBERS numbers)."""
    if key.count("#") > MAX_TEMPLATE_NUMBERS or key.startswith(_OPENING_QUOTES):
        return True
    quoted = _QUOTED.findall(key)
    return 2 * sum(map(len, quoted)) >= len(key) if quoted else not key


def line_hash(key: str) -> int:
    """A stable 63-bit hash of a line key (what the lake counts; never 0), carrying the key's length
    and guard (see LENGTH_UNIT)."""
    hashed = min(len(key), _MAX_LENGTH) * LENGTH_UNIT | (_digest(key) >> 12)
    if key and is_guarded(key):
        hashed |= GUARD_BIT
    return hashed or 1


def pair_hash(first: int, second: int) -> int:
    """What an article counts for a line followed by another (their line hashes)."""
    meta = first - (first & _DIGEST)
    return meta | PAIR_BIT | (second % HALF_DIGEST) * HALF_DIGEST | (first & _DIGEST) // HALF_DIGEST


def hashed_length(hashed: int) -> int:
    """The length a line hash carries (0: unknown)."""
    return hashed // LENGTH_UNIT


def learnable_hashes(lines: Iterable[str]) -> list[int]:
    """The distinct hashes an article counts: of its learnable lines, and of each pair of them that
    stand next to each other (pair_hash; a list number between them does not part them, a passage
    too long to learn does). A line over twice the length limit is passed over unread
    (normalising never halves a line)."""
    hashes: set[int] = set()
    previous: str | None = None  # the previous learnable line's key, and its hash
    previous_hash = 0
    for line in lines:
        if len(line) > 2 * MAX_LEARNABLE_CHARS:
            previous = None
            continue
        key = _DIGITS.sub("#", line.strip())  # line_key, inline: this runs for every line of every row
        if _TWO_LETTERS.search(key) is None:
            continue
        if len(key) > MAX_LEARNABLE_CHARS:
            previous = None
            continue
        hashed = line_hash(key)
        hashes.add(hashed)
        if previous is not None and previous != key and min(len(previous), len(key)) < BLOCK_MAX_CHARS:
            hashes.add(pair_hash(previous_hash, hashed))
        previous, previous_hash = key, hashed
    return list(hashes)


def is_credit(line: str) -> bool:
    """A line that only credits a person or a source: it goes to `credits`, not the text."""
    text = line.strip()
    if len(text) > _MAX_CREDIT_CHARS:
        return False
    return _CREDIT.match(text) is not None or _SOURCE_CREDIT.match(_SOURCE_MARK.sub("", text)) is not None


# Lines that are boilerplate wherever they stand, in any feed: disclaimers and notices, link
# labels with nothing behind them (a PDF link's, a blog's previous/next links), a column's sign-off.
_NAV = r"上一篇|下一篇|前一篇|后一篇|上一页|下一页|上一章|下一章|返回顶部|回到顶部|返回首页|返回目录|返回列表"
# Each kind of notice is matched only where it can be: at the line's start, and only when the
# line holds what the kind needs (a first character, a word, a short line). Searching one
# alternation of them all tried every kind at every character of every line (a tenth of a parse).
_NOTICE_OPENING = re.compile(
    r"[*※]?\s*(?:免责声明|版权声明|特别声明|风险声明|广告声明|版权所有)\s*[:：]"
    r"|(?:查看|阅读|点击阅读|点击查看)(?:原文|全文|更多)\s*[>》]*$"
    r"|Download PDF(?:null)?$"
    rf"|[«‹<←↑\s]*(?:{_NAV}|previous|next|prev|older|newer)(?:\s*(?:文章|post|posts|page|entries))?[\s»›>→↑]*$"
    rf"|(?:{_NAV}|previous post|next post)\s*[:：]"
    # A page's link labels in brackets, alone ("【纠错】", "【打印】 【关闭】").
    r"|(?:[【\[]\s*(?:纠错|打印|关闭|收藏|分享|返回顶部|字号)\s*[】\]]\s*)+$",
    re.IGNORECASE,
)
# The characters _NOTICE_OPENING can match first (a stripped line opens with no whitespace).
_NOTICE_FIRST = frozenset("*※免版特风广查阅点dD«‹<←↑上下前后返回pPnNoO【[")
_SIGN_OFF = re.compile(r".{0,30}(?:下期再见|我们下期见|感谢阅读|感谢您的阅读)[。！!]?$")
_SIGN_OFF_CHARS = 30 + len("感谢您的阅读") + 1  # a longer line is no sign-off
_NO_COPYING = re.compile(
    r".{0,60}(?:如有侵权|如有侵犯|侵删|未经(?:授权|许可)[，,]?\s*(?:禁止|不得|严禁)转载|转载(?:此文)?请(?:注明|联系|于))"
)
_CLICK_BELOW = re.compile(r"请点击\s*[↓⬇]+$")  # the one notice that ends a line anywhere
# A dateline alone on its line, a newsroom's name before it or not ("每日经济新闻 2021-07-31
# 16:06:27"): the page template's time stamp, not the article's text.
_DATELINE = re.compile(
    r"(?:(?!截至|截止|北京时间|当地时间|更新)[^\W\d_]{2,12}\s*[:：|｜]?\s*)?\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s+|\s*[TＴ]\s*)?\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?"
    r"(?:\s+来源\s*[:：]\s*[^，。,\s]{1,24})?$"  # "… 16:06:27 来源：人民网－人民日报"
)
_ORIGINAL_TITLE = re.compile(
    r"[(（【\[]?\s*原(?:标题|题)\s*[:：]"
)  # "原标题：…": the title as first published
# A call to follow, download or scan, opening the line: "欢迎关注我们的公众号", "> 下载 少数派 2.0
# 客户端、关注 少数派公众号", "长按识别下方二维码".
_PROMO = re.compile(
    r"[>*※▼👇↓#▎|【\s]*(?:(?:欢迎|请|记得|快|戳)\s*)?(?:点击|长按|扫码|扫描|识别|下载|关注|订阅|添加|加入|搜索)"
    # "下载量", "关注到", and what follows one ("加入微信群后，对方…") are news, not a call.
    r"(?![量率次数度者人到])(?![^，。]{0,40}?后[，,])"
    r".{0,40}?(?:公众号|客户端|二维码|小程序|视频号|微信群|社群|星标)"
    r"|[>*※▼👇↓#▎|【\s]*(?:扫码|扫描二维码|点击|立即)?(?:下载|打开)(?![量率次数])(?![^，。]{0,20}?后)[^，。]{0,20}?app\b",
    re.IGNORECASE,
)
_PROMO_CHARS = 80  # a longer line is text that mentions an app, not a call to follow it
# A disclaimer wherever it opens ("注：本文系新闻报道，不构成投资建议", "文章代表作者个人观点，少数派仅
# 对标题和排版略作修改。"), and a closing call to read more ("（本文来自澎湃新闻，更多原创资讯请下载…）").
# It opens as one does (a note, "this article", the market's risk): "他表示，这并不代表公司的
# 立场" is news.
_DISCLAIMER = re.compile(
    r"[*※#▎（(【\s]*(?:注[:：]|声明[:：]|本文|文章(?=为|系|仅|只|内容|观点|代表)|以上(?=内容|观点|文章)|本站|本号|本平台"
    r"|(?:市场|股市|投资)有风险)"
    r".*?(?:不构成(?:任何|对任何人的)?投资建议|(?:并)?不代表.{0,12}(?:立场|观点)|代表作者(?:本人|个人)?(?:观点|立场)"
    r"|投资需谨慎|据此(?:操作|投资)[^。]{0,4}(?:风险自担|责任自负)|更多.{0,12}(?:请|欢迎)(?:下载|关注))"
)
_DISCLAIMER_CHARS = 120  # a longer line is a paragraph that discusses one
_DISCLAIMER_WORDS = ("投资", "代表", "更多", "据此")  # one of them is in every line _DISCLAIMER matches


def is_notice(line: str) -> bool:
    """A disclaimer, notice, bare link label or sign-off: boilerplate in any feed."""
    text = line.strip()
    return (
        (text[:1] in _NOTICE_FIRST and _NOTICE_OPENING.match(text) is not None)
        or (len(text) <= _SIGN_OFF_CHARS and _SIGN_OFF.match(text) is not None)
        or (("侵" in text or "转载" in text) and _NO_COPYING.match(text) is not None)
        or ("请点击" in text and _CLICK_BELOW.search(text) is not None)
        or ((text[-1:].isdigit() or "来源" in text) and _DATELINE.match(text) is not None)
        or (len(text) <= _PROMO_CHARS and _PROMO.match(text) is not None)
        or ("原" in text[:3] and _ORIGINAL_TITLE.match(text) is not None)
        or (
            len(text) <= _DISCLAIMER_CHARS
            and any(word in text for word in _DISCLAIMER_WORDS)
            and _DISCLAIMER.match(text) is not None
        )
    )


def _credit_block(lines: Sequence[str], order: Sequence[int], end: int) -> set[int]:
    """The credit lines among the first `end` of `order` (indexes into lines), and those that
    follow them on without a break (a block of credits runs past the end looked at)."""
    taken: set[int] = set()
    for at, index in enumerate(order):
        if is_credit(lines[index]) and (at < end or order[at - 1] in taken):
            taken.add(index)
        elif at >= end:
            break
    return taken


_TITLE_PREFIX_CHARS = 8


def _repeats_title(line: str, title: str) -> bool:
    """A line that is the article's title again, whole or reworded after its opening (a feed's
    title is often the opening line cut short, or edited: "…刷屏！独家采访…" for "…刷屏！每经独家采访…")."""
    text, head = "".join(line.split()), "".join(title.split())
    return text == head or (
        min(len(text), len(head)) >= _TITLE_PREFIX_CHARS
        and text[:_TITLE_PREFIX_CHARS] == head[:_TITLE_PREFIX_CHARS]
    )


def without_credits(lines: Sequence[str], title: str | None = None) -> tuple[list[str], list[str]]:
    """(the lines less the credit lines among the first and last ones, those credit lines). The
    ends are counted past notices (credits above a disclaimer close the article all the same) and
    past the title repeated as the opening line, and a block of credit lines is taken whole
    ("作者：…", "翻译/…", "校对 / …", "编辑 …")."""
    order = [i for i, line in enumerate(lines) if not is_notice(line)]
    head = order[1:] if title and order and _repeats_title(lines[order[0]], title) else order
    taken = _credit_block(lines, head, _CREDIT_HEAD) | _credit_block(lines, order[::-1], _CREDIT_TAIL)
    if not taken:
        return list(lines), []
    return (
        [line for i, line in enumerate(lines) if i not in taken],
        [line for i, line in enumerate(lines) if i in taken],
    )


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
