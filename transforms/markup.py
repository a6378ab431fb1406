"""Cutting an article's markup before it is parsed: what the walk (transforms/body.py) would
ignore never becomes a node, so building the soup, most of a parse, costs less. Its ArticleBody
is unchanged: differential Hypothesis tests compare the walk with and without the cuts."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Stripped before parsing: the parser never has to build nodes for them, and their text
# (CSS with &#123; entities, ad lists in comments) can never leak into the article.
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_SCRIPT_STYLE = re.compile(
    r"<(script|style|noscript|template)\b[^>]*>.*?(?:(</\1\s*>)|$)", re.DOTALL | re.IGNORECASE
)
# Blocks whose text is not the article: the QR/app promos at the end of Sina articles.
EDITOR_CLASS = "article-editor"  # Sina's editor line: a field, not text
PROMO_CLASSES = frozenset({"appendQr_wrap", "app-kaihu-qr"})
BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "aside", "main", "nav", "h1", "h2",
     "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "figure",
     "figcaption", "table", "thead", "tbody", "tfoot", "caption", "hr", "address", "center",
     "form", "fieldset", "details", "summary", "hgroup", "body", "html"}
)  # fmt: skip
# Leaner markup: what the walk would ignore is cut before BeautifulSoup builds a node for it.
# Building the soup is most of the cost of a parse, and a third of a typical article's nodes
# are whitespace between paragraphs or formatting tags around text.
#
# A formatting tag around nothing but text is transparent to the walk (it joins its text into
# the line) unless it hides the text or has a class the walk looks at; a fragment with such a tag
# keeps them all. Only text-only pairs go: a misnested tag can end a paragraph, so it stays.
_FORMATTING = "font|span|strong|b|em|i|u|sup|sub|small|abbr"
_NAME = r"""[^\s"'<>/=]+"""
_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s"'<>]+)"""
_ATTRIBUTES = rf"(?:\s+{_NAME}(?:\s*=\s*{_VALUE})?)*\s*"
# An attribute the walk never reads: anything but class, hidden and style.
_UNREAD_ATTRIBUTE = rf"""(?!(?:class|hidden|style)(?![^\s"'<>/=])){_NAME}(?:\s*=\s*{_VALUE})?"""
# A class that is not a promo block's (the walk skips a promo without ending the line).
_NO_PROMO_CLASS = rf"""class\s*=\s*(?!["']?[^"'<>]*(?:{"|".join(sorted(PROMO_CLASSES))})){_VALUE}"""
_IGNORED_ATTRIBUTES = rf"(?:\s+{_UNREAD_ATTRIBUTE})*\s*"
_SHOWN_ATTRIBUTES = rf"(?:\s+(?:{_UNREAD_ATTRIBUTE}|{_NO_PROMO_CLASS}))*\s*"
_FORMATTED_TEXT = re.compile(rf"<({_FORMATTING})(?=[\s>]){_ATTRIBUTES}>([^<]*)</\1\s*>", re.I)
_MEANINGFUL_FORMATTING = re.compile(
    rf"<(?:{_FORMATTING})\s[^<>]*?(?:hidden|display|video|{'|'.join(sorted(PROMO_CLASSES | {EDITOR_CLASS}))})",
    re.I,
)
_NESTING_PASSES = 3
# Text ending in an open character reference ("&amp" before a tag) could take in the text
# after a cut tag.
_OPEN_REFERENCE = re.compile(r"&#?[0-9a-z]*<", re.I)
# Whitespace that only closing tags separate from an opening block tag (or from the end) ends a
# line, and clean_text strips it. Not before a closing tag alone: a stray </p> closes nothing;
# nor before a block the walk skips (hidden, or a promo): it ends no line.
_FLUSHING_TAGS = sorted(BLOCK_TAGS - {"html", "body"} | {"br", "tr"}, key=len, reverse=True)
# The lookahead passes at most 8 closing tags: unbounded, a run of n closing tags costs n^2.
_WHITESPACE_ENDING_A_LINE = re.compile(
    rf">\s+(?=(?:</[a-zA-Z][a-zA-Z0-9]*\s*>\s*){{0,8}}(?:<(?:{'|'.join(_FLUSHING_TAGS)})(?=[\s/>]){_SHOWN_ATTRIBUTES}/?>|$))",
    re.I,
)
# Where whitespace is text (preformatted) or a "<" is not a tag's start, nothing is cut.
_UNSURE = re.compile(r"<(?:pre|textarea|xmp|listing|plaintext)\b|<[^>]*<", re.I)


# Runs of paragraphs of plain text become one paragraph whose breaks are a private-use character
# the walk splits on: a quarter of a typical article's nodes are such <p> tags. Only attributes
# the walk ignores are allowed, and markup that could hold the character itself (raw or as a
# reference) is not merged.
LINE_BREAK = "\ue000"
_PLAIN_P = rf"<p(?=[\s>]){_IGNORED_ATTRIBUTES}>"
_PLAIN_PARAGRAPH = re.compile(rf"({_PLAIN_P})([^<]*)</p\s*>", re.I)
_PLAIN_PARAGRAPHS = re.compile(rf"{_PLAIN_P}[^<]*</p\s*>(?:\s*{_PLAIN_P}[^<]*</p\s*>)+", re.I)
_LINE_BREAK_REFERENCE = re.compile(r"&#(?:x0*e000|0*57344)(?![0-9a-f])", re.I)


@dataclass(frozen=True)
class LeanMarkup:
    """Markup to parse, and the character that stands for a paragraph break in it (if any)."""

    html: str
    line_break: str | None = None


def _merged_run(run: re.Match[str]) -> str:
    paragraphs = _PLAIN_PARAGRAPH.findall(run.group(0))
    return paragraphs[0][0] + LINE_BREAK.join(text for _, text in paragraphs) + "</p>"


def _without_scripts(html: str) -> str:
    """_SCRIPT_STYLE.sub("", html), in linear time.

    An opening tag needs a ">": after the last one no element opens, yet the pattern would scan
    to the end from every "<script" there (n^2 on a run of them). So only the text up to the last
    ">" is searched; the rest stays, unless an element left open to the end takes it (all of it
    but a final newline, where "$" matches first).
    """
    end = html.rfind(">") + 1
    if end == len(html):
        return _SCRIPT_STYLE.sub("", html)
    open_to_end = False

    def cut(match: re.Match[str]) -> str:
        nonlocal open_to_end
        open_to_end = match.group(2) is None and match.end() == end
        return ""

    head = _SCRIPT_STYLE.sub(cut, html[:end])
    if not open_to_end:
        return head + html[end:]
    return head + "\n" if html.endswith("\n") else head


def leaner_markup(html: str) -> LeanMarkup:
    """The fragment without the nodes the walk would ignore: its ArticleBody is unchanged."""
    if "<!--" in html:
        html = _COMMENT.sub("", html)
    if "<" not in html:
        return LeanMarkup(html)
    html = _without_scripts(html)
    if _UNSURE.search(html):
        return LeanMarkup(html)
    if not _MEANINGFUL_FORMATTING.search(html) and not _OPEN_REFERENCE.search(html):
        for _ in range(_NESTING_PASSES):  # <font><font>text</font></font> unwraps in two
            html, unwrapped = _FORMATTED_TEXT.subn(r"\2", html)
            if not unwrapped:
                break
    html = _WHITESPACE_ENDING_A_LINE.sub(">", html)
    if LINE_BREAK in html or ("&#" in html and _LINE_BREAK_REFERENCE.search(html)):
        return LeanMarkup(html)
    html, merged = _PLAIN_PARAGRAPHS.subn(_merged_run, html)
    return LeanMarkup(html, LINE_BREAK if merged else None)
