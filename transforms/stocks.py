"""Stock codes an article mentions: Sina's news_keyword_pub comments and quote_ spans,
normalised (sh600519, hk00700, gb_aapl), deduplicated, in order of appearance."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

# Literal prefixes keep the scan fast; Sina writes both in lower case. A code list is the run of
# characters after the prefix up to its closing "-->" (see _listed_end).
_STOCK_MENTION = re.compile(r"news_keyword_pub,stock,|id=[\"']?quote_([A-Za-z0-9_.]+)")
_RUN_END = re.compile(r"[\s<>]")
_CLOSING = re.compile(r"\s*-->")
_STOCK_PREFIXED = re.compile(r"^(sh|sz|bj)(\d{6})$")
_STOCK_SUFFIXED = re.compile(r"^(\d{6})\.(sh|sz|bj|ss)$")
_STOCK_HK = re.compile(r"^hk(\d{1,5})$")
_STOCK_US = re.compile(r"^(?:gb_|us)([a-z][a-z.\-]{0,9})$")


def normalised_stock_code(raw: str) -> str | None:
    """sh600519 / sz300059 / bj830799 / hk00700 / gb_aapl; None for anything else."""
    code = raw.strip().lower()
    if _STOCK_PREFIXED.match(code):
        return code
    suffixed = _STOCK_SUFFIXED.match(code)
    if suffixed:
        exchange = "sh" if suffixed.group(2) == "ss" else suffixed.group(2)
        return exchange + suffixed.group(1)
    hk = _STOCK_HK.match(code)
    if hk:
        return "hk" + hk.group(1).zfill(5)
    us = _STOCK_US.match(code)
    if us:
        return "gb_" + us.group(1)
    return None


def _listed_end(html: str, start: int, run_end: int) -> tuple[int, int] | None:
    """Where the code list that starts at `start` ends, and where its "-->" does, or None.

    As the pattern news_keyword_pub,stock,([^\\s<>]*?)\\s*--> reads it: the list is the shortest
    run of characters other than blanks and angle brackets before "-->" (blanks allowed before
    it). A "-->" can only end the run (its ">" does), so there are two places to look.
    """
    if run_end - 2 >= start and html.startswith("-->", run_end - 2):
        return run_end - 2, run_end + 1
    closing = _CLOSING.match(html, run_end)
    return (run_end, closing.end()) if closing is not None else None


def _mentioned(html: str) -> list[str]:
    """The raw codes of news_keyword_pub lists and quote_ ids, in order of appearance.

    In linear time: a regex scanning each unclosed list to the end of its run costs n^2 on a
    run of repeated prefixes. Every prefix in a run ends where the run does, so when the first
    one is not closed none of the others is: they are passed over (a quote_ id in the run is not).
    """
    found: list[str] = []
    position, unclosed_run_end = 0, -1
    while (match := _STOCK_MENTION.search(html, position)) is not None:
        quoted = match.group(1)
        if quoted is not None:
            found.append(quoted)
            position = match.end()
            continue
        position = match.start() + 1
        if match.start() < unclosed_run_end:
            continue
        after_run = _RUN_END.search(html, match.end())
        run_end = after_run.start() if after_run is not None else len(html)
        listed = _listed_end(html, match.end(), run_end)
        if listed is None:
            unclosed_run_end = run_end
            continue
        found.extend(html[match.end() : listed[0]].split("&"))
        position = listed[1]
    return found


def stock_codes_of(html: str) -> list[str]:
    """Codes from news_keyword_pub comments and quote_ spans, in order of appearance."""
    seen: dict[str, None] = {}
    for raw in _mentioned(html):
        code = normalised_stock_code(raw)
        if code is not None:
            seen.setdefault(code, None)
    return list(seen)


# A listed company's code written in the text, in the forms feeds use: "蔚蓝锂芯（002245.SZ）",
# "兆易创新（603986，SH）", "盐湖股份（000792）", "中国华融(02799.HK)", "$奥比中光(SH688322)$",
# "$阿里巴巴-SW(09988)$", "小鹏汽车-W(HK:09868)". A number is a code only right after a name, in
# parentheses or a cashtag: never a date, an amount or a phone number.
_NAME = r"[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9·&]{1,15}(?:-[A-Z]{1,2})?"
_IN_TEXT = re.compile(
    rf"(?P<cashtag>\$)?(?P<name>{_NAME})\s?[（(]\s*(?P<inner>[A-Za-z0-9.:：,，\s]{{4,16}}?)\s*[)）](?(cashtag)\$)"
    r"(?![万亿元股手人家个只份%])"  # "（300000）万元" is an amount
)
_EXCHANGE_FIRST = re.compile(r"^(SH|SZ|BJ|HK)\s*[:：]?\s*(\d{4,6})$", re.I)
_EXCHANGE_LAST = re.compile(r"^(\d{4,6})\s*[.,，]\s*(SH|SZ|BJ|HK|SS)$", re.I)
_US = re.compile(r"^(?:(?:NASDAQ|NYSE|AMEX)\s*[:：]\s*([A-Z]{1,5})|([A-Z]{1,5})\.(?:O|N|US))$")
_LINKED = re.compile(r"(?:xueqiu\.com/S/|[?&]symbol=)(SH|SZ|BJ|HK)?(\d{5,6})\b", re.I)
# Shanghai and Shenzhen A and B shares by their first digits; funds (15, 16, 18, 50, 51, 56, 58)
# and the NEEQ's codes (43, 83, 87: also Beijing's, so only with an explicit BJ) are not listed stocks.
_SHANGHAI = ("60", "68", "90")
_SHENZHEN = ("00", "30", "20")


def _bare_code(digits: str) -> str | None:
    if len(digits) != 6:
        return None
    if digits.startswith(_SHANGHAI):
        return "sh" + digits
    if digits.startswith(_SHENZHEN):
        return "sz" + digits
    return None


def _exchange_code(exchange: str, digits: str) -> str | None:
    exchange = exchange.lower()
    if exchange == "hk":
        return "hk" + digits.zfill(5) if len(digits) <= 5 else None
    if len(digits) != 6:
        return None
    return ("sh" if exchange == "ss" else exchange) + digits


def _code_inside(inner: str, cashtag: bool, name: str) -> str | None:
    inner = inner.strip()
    first = _EXCHANGE_FIRST.match(inner)
    if first:
        return _exchange_code(first.group(1), first.group(2))
    last = _EXCHANGE_LAST.match(inner)
    if last:
        return _exchange_code(last.group(2), last.group(1))
    us = _US.match(inner)
    if us:
        return "gb_" + (us.group(1) or us.group(2)).lower()
    if inner.isdigit():
        # Five digits are Hong Kong's, in a cashtag or after a "-W"/"-SW" name (weighted voting).
        if len(inner) == 5 and (cashtag or re.search(r"-S?W$", name)):
            return "hk" + inner
        return _bare_code(inner)
    return None


# Words that end the clause before a company's name ("除海尔生物", "低于格力电器", "个股是凯普生物").
# Only characters that never end a listed company's name; a cashtag marks the name's start itself.
_BEFORE_NAME = re.compile(r"^.*(?:[的是了在除、，,]|个股|低于|高于|包括|其中|以及)")


def _as_written(match: re.Match[str]) -> str:
    """The mention from the company's name on (what precedes the name in the clause left out)."""
    name = match.group("name")
    trimmed = name if match.group("cashtag") else _BEFORE_NAME.sub("", name)
    start = match.start("name") + len(name) - len(trimmed) if len(trimmed) >= 2 else match.start("name")
    prefix = "$" if match.group("cashtag") else ""
    return prefix + match.string[start : match.end()]


_PAREN_CODE = re.compile(r"[（(]\s*[A-Za-z0-9.:：,，\s]{4,16}?\s*[)）]")
_REACH = 20  # a name, its "-SW", a space and a "$": how far before a parenthesis a mention starts


def _candidates(text: str) -> Iterator[re.Match[str]]:
    """_IN_TEXT's matches, tried only just before a parenthesis that holds a code's characters
    (trying the name at every position costs a second per million characters)."""
    end = 0
    for paren in _PAREN_CODE.finditer(text):
        start = max(end, paren.start() - _REACH)
        match = _IN_TEXT.search(text, start, paren.end() + 1)
        if match is not None and match.end() >= paren.end():
            end = match.end()
            yield match


def text_stock_mentions(text: str, links: list[str] | tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(code, the text as it appears) for every code written in the text after a name, in a
    cashtag, or in a quote link (xueqiu.com/S/SZ002714, symbol=SZ002714), in order of appearance."""
    found: list[tuple[str, str]] = []
    for match in _candidates(text):
        code = _code_inside(match.group("inner"), match.group("cashtag") is not None, match.group("name"))
        if code is not None:
            found.append((code, _as_written(match)))
    for link in links:
        for match in _LINKED.finditer(link):
            exchange, digits = match.groups()
            code = _exchange_code(exchange, digits) if exchange else _bare_code(digits)
            if code is not None:
                found.append((code, link))
    return found


@dataclass(frozen=True)
class Securities:
    """A user's securities list: each name and alias with its code (Sina's style)."""

    codes_by_name: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        return securities_pattern(self.codes_by_name)


def stock_mentions_of(
    markup_codes: list[str],
    text: str,
    links: list[str] | tuple[str, ...] = (),
    securities: Securities | None = None,
    names: Securities | None = None,
) -> list[dict[str, str]]:
    """One mention per code (stock_code, found_by, written): Sina's markup first ("markup", the
    code), then codes written in the text or a quote link ("code", the text as it appears), then
    names of the user's securities list ("list", the name), then names the archive teaches
    ("name", the name; transforms/names.py)."""
    mentions: dict[str, dict[str, str]] = {}
    for code in markup_codes:
        mentions.setdefault(code, {"stock_code": code, "found_by": "markup", "written": code})
    for code, written in text_stock_mentions(text, links):
        mentions.setdefault(code, {"stock_code": code, "found_by": "code", "written": written})
    if securities is not None:
        for code, name in listed_name_mentions(text, securities.codes_by_name, securities.pattern):
            mentions.setdefault(code, {"stock_code": code, "found_by": "list", "written": name})
    if names is not None:
        for code, name in listed_name_mentions(text, names.codes_by_name, names.pattern):
            mentions.setdefault(code, {"stock_code": code, "found_by": "name", "written": name})
    return list(mentions.values())


MIN_NAME_CHARS = 2  # a one-character "name" is not looked for


def securities_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation of a securities list's names, longest first (so 中国平安银行 wins over 中国平安)."""
    ordered = sorted({name for name in names if len(name) >= MIN_NAME_CHARS}, key=lambda n: (-len(n), n))
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


# A run of the characters jieba segments together (its re_han_default): rjieba cuts each run on
# its own, so a text's word boundaries inside a run are the run's, and every other character
# stands alone.
_SEGMENTED_RUN = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")


def _is_boundary(text: str, position: int, runs: dict[int, set[int]]) -> bool:
    """Whether rjieba's words of the text start or end at position (runs: the boundaries of each
    run segmented so far, by the run's start)."""
    if position <= 0 or position >= len(text):
        return True
    if not (
        _SEGMENTED_RUN.match(text, position - 1, position)
        and _SEGMENTED_RUN.match(text, position, position + 1)
    ):
        return True
    start = position
    while start > 0 and _SEGMENTED_RUN.match(text, start - 1, start):
        start -= 1
    if start not in runs:
        import rjieba  # here: only a run that holds a listed name is segmented

        run = _SEGMENTED_RUN.match(text, start)
        assert run is not None
        runs[start] = {
            start + offset for _word, begin, end in rjieba.tokenize(run.group(0)) for offset in (begin, end)
        }
    return position in runs[start]


def _word_mentions(
    text: str, codes_by_name: Mapping[str, str], spans: Iterable[tuple[int, str]]
) -> list[tuple[str, str]]:
    """(code, name) of the spans (start, name) that start and end where rjieba's words do."""
    runs: dict[int, set[int]] = {}
    return [
        (codes_by_name[name], name)
        for start, name in spans
        if _is_boundary(text, start, runs) and _is_boundary(text, start + len(name), runs)
    ]


def listed_name_mentions(
    text: str, codes_by_name: Mapping[str, str], pattern: re.Pattern[str] | None
) -> list[tuple[str, str]]:
    """(code, name) for every name of a securities list the text mentions as a word: the match
    must start and end where rjieba's words do, so 中国动力 is not found in 中国动力电池 (only the
    runs of text around a match are segmented: the same boundaries as the whole text's)."""
    if pattern is None or not text:
        return []
    return _word_mentions(text, codes_by_name, ((m.start(), m.group(0)) for m in pattern.finditer(text)))


def name_spans(text: str, names: Iterable[str]) -> list[tuple[int, str]]:
    """(start, name) where securities_pattern(names) matches in text, without compiling it: the
    leftmost occurrence, the longest name there, then on from its end. For a handful of names a
    text holds (found by one Aho-Corasick pass over many texts), compiling a pattern per text
    cost more than the whole match."""
    occurrences = []
    for name in set(names):
        if len(name) < MIN_NAME_CHARS:
            continue
        at = text.find(name)
        while at >= 0:
            occurrences.append((at, -len(name), name))
            at = text.find(name, at + 1)
    occurrences.sort()
    spans, end = [], 0
    for start, _, name in occurrences:
        if start >= end:
            spans.append((start, name))
            end = start + len(name)
    return spans


def held_name_mentions(
    text: str, codes_by_name: Mapping[str, str], held: Iterable[str]
) -> list[tuple[str, str]]:
    """listed_name_mentions with a pattern of the names held, which the text holds (and no other
    name of codes_by_name)."""
    return _word_mentions(text, codes_by_name, name_spans(text, held))


def listed_code(raw: str) -> str | None:
    """A securities list's code in Sina's style: any form normalised_stock_code reads or a text
    writes (600519.SH, SH600519, 00700.HK), a bare A-share code (600519), or a bare Hong Kong
    one (700, 00700)."""
    raw = raw.strip()
    if raw.isdigit() and len(raw) <= 4:
        return "hk" + raw.zfill(5)
    return normalised_stock_code(raw) or _code_inside(raw, cashtag=True, name="")


# Names the archive teaches: a Sina stock link around a name, a name followed by its code in the
# text, a cashtag. Pairs are taken from the markup and from the text before any boilerplate goes,
# so what an article teaches depends on its file alone (the learn stage counts it).
_LINKED_NAME = re.compile(
    r"(?:id=[\"']?stock_([A-Za-z0-9_.]+)[\"']?[^>]*>\s*<a\b[^>]*>"
    r"|<a\b[^>]*?realstock/company/([A-Za-z0-9_.]+)/[^>]*>)\s*([^<>]{1,30}?)\s*</a>"
)
# Share-class marks Hong Kong and STAR names carry (weighted voting, unprofitable, biotech): the
# text mostly writes the name without them ("阿里巴巴" for "阿里巴巴-SW").
_CLASS_MARK = re.compile(r"-(?:SW|W|S|U|UW|WD|B|SB)$")
# Words that a code after them does not make a company's name.
_GENERIC_NAMES = frozenset(
    {
        "股票",
        "代码",
        "股票代码",
        "证券代码",
        "证券简称",
        "简称",
        "公司",
        "本公司",
        "该公司",
        "该股",
        "个股",
        "龙头",
    }
)
_A_SHARE_NAME_CHARS = 4  # an A share's short name has at most four characters (besides ST, A, B marks)
_OTHER_NAME_CHARS = 8
_MARKS = re.compile(r"[A-Za-z*]")


def taught_name(raw: str) -> str | None:
    """A name as the archive is taught it: NFKC (full-width letters and digits to half width), no
    blanks, no share-class mark; None for what is never a name to learn (one character, digits,
    an ASCII word of fewer than four letters, a generic word)."""
    name = raw
    for _ in range(4):  # to a fixed point: taking blanks out can let characters compose
        before, name = name, _CLASS_MARK.sub("", "".join(unicodedata.normalize("NFKC", name).split()))
        if name == before:
            break
    if len(name) < 2 or name.isdigit() or (name.isascii() and len(name) < 4) or name in _GENERIC_NAMES:
        return None
    if not any(ch.isalpha() for ch in name):
        return None
    return name


def listed_stock_code(code: str | None) -> str | None:
    """The code if it is a listed stock's (an index such as sh000300 or sz399300 is not)."""
    if code is None:
        return None
    if code.startswith(("sh", "sz")):
        return _bare_code(code[2:]) if _bare_code(code[2:]) == code else None
    return code


def linked_stock_names(html: str) -> list[tuple[str, str]]:
    """(name, code) of every Sina stock link around a name (a stock_ span's link, or a link to
    realstock/company/CODE), in order of appearance."""
    if "stock" not in html:
        return []
    found = []
    for match in _LINKED_NAME.finditer(html):
        code = listed_stock_code(normalised_stock_code(match.group(1) or match.group(2)))
        name = taught_name(match.group(3))
        if code is not None and name is not None:
            found.append((name, code))
    return found


def _name_limit(code: str) -> int:
    return _A_SHARE_NAME_CHARS if code[:2] in ("sh", "sz", "bj") else _OTHER_NAME_CHARS


def _fitted_name(name: str, code: str) -> str | None:
    """The name anchored to a code, without what precedes it in the clause: the words before the
    name (_BEFORE_NAME), then, if it is still longer than a name of its market can be, its longest
    ending that starts where one of rjieba's words does and fits ("随后紫金矿业" -> 紫金矿业)."""
    trimmed = _BEFORE_NAME.sub("", name)
    name = trimmed if len(trimmed) >= 2 else name
    limit = _name_limit(code)
    if len(_MARKS.sub("", _CLASS_MARK.sub("", name))) <= limit:
        return name
    import rjieba

    for _word, start, _end in rjieba.tokenize(name):
        ending = name[start:]
        if len(_MARKS.sub("", _CLASS_MARK.sub("", ending))) <= limit:
            return ending if len(ending) >= 2 else None
    return None


def written_stock_names(text: str) -> list[tuple[str, str]]:
    """(name, code) of every code the text writes after a name or in a cashtag (the forms
    text_stock_mentions finds), the name as it is anchored to the code."""
    found = []
    for match in _candidates(text):
        cashtag = match.group("cashtag") is not None
        code = listed_stock_code(_code_inside(match.group("inner"), cashtag, match.group("name")))
        if code is None:
            continue
        fitted = match.group("name") if cashtag else _fitted_name(match.group("name"), code)
        name = taught_name(fitted) if fitted is not None else None
        if name is not None:
            found.append((name, code))
    return found


def stock_names_of(linked: list[tuple[str, str]], text: str) -> list[dict[str, str]]:
    """The (name, code) pairs an article teaches, each once, in order: its stock links' first,
    then the names its text anchors to a code."""
    pairs = dict.fromkeys([*linked, *written_stock_names(text)])
    return [{"stock_name": name, "stock_code": code} for name, code in pairs]
