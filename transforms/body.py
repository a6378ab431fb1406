"""The walk over an article's parsed HTML body: clean paragraphs, editor, media facts (the markup
is cut first by transforms/markup.py; stock codes come from transforms/stocks.py)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.builder._lxml import LXMLTreeBuilder

from transforms.fields import image_url_of
from transforms.markup import BLOCK_TAGS, EDITOR_CLASS, PROMO_CLASSES, leaner_markup
from transforms.stocks import linked_stock_names, stock_codes_of
from transforms.text import clean_text

_EDITOR_LINE = re.compile(r"^责任编辑\s*[：:]\s*(.*?)\s*$")
_EDITOR_CODE = re.compile(r"^(.*?)\s+([A-Za-z]{1,4}\d{2,})$")

_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "iframe", "svg", "head", "title", "meta",
     "link", "object", "embed", "video", "audio", "textarea", "select"}
)  # fmt: skip
_VIDEO_TAGS = frozenset({"video", "iframe", "embed", "object"})
_MEDIA_TAGS = _VIDEO_TAGS | {"img", "a", "table"}
_FLUSH = object()
_LINE_TAGS = frozenset({"br", "tr", "pre"})  # each ends a line and is read in its own way
# A fragment with none of these is bare text: its line breaks are its paragraph breaks.
_BLOCK_MARKUP = re.compile(
    r"<(?:p|div|br|li|h[1-6]|table|tr|blockquote|pre|section|article|ul|ol|dl|hr)\b", re.IGNORECASE
)


class _ReusedParserBuilder(LXMLTreeBuilder):
    """BeautifulSoup's lxml builder, keeping its lxml parser from one document to the next.

    Making an lxml target parser inspects the builder's callbacks every time (about a tenth of
    parsing a typical article); lxml parsers are made to be reused after close().
    """

    def __init__(self) -> None:
        # class stays one string: the walk splits it only where it looks (splitting every
        # element's class costs more than that).
        super().__init__(multi_valued_attributes=None)
        self._parsers: dict[Any, Any] = {}

    def parser_for(self, encoding: Any) -> Any:
        parser = self._parsers.get(encoding)
        if parser is None:
            parser = self._parsers[encoding] = super().parser_for(encoding)
        return parser

    # lxml's HTML parser hands over plain names and no namespace maps: what BeautifulSoup's start
    # and end do for namespaces (every name split, every attribute copied twice) does nothing for
    # them. The same calls into the soup, without it; anything namespaced goes the general way.
    # The tag is made and pushed as BeautifulSoup.handle_starttag does (which spends a tenth of
    # its time on a typing.cast), when no parse_only filter or element class changes that.
    def start(self, tag: Any, attrib: Any, nsmap: Any = {}) -> None:  # noqa: B006 (lxml's signature)
        soup: Any = self.soup
        if nsmap or len(self.nsmaps) > 1 or tag[0] == "{" or soup.parse_only or soup.element_classes:
            return super().start(tag, attrib, nsmap)
        attributes = self.attribute_dict_class()
        if attrib:  # most tags have none: lxml's empty mapping iterates in Python
            for name, value in attrib.items():
                if name[0] == "{":
                    return super().start(tag, attrib, nsmap)
                attributes[name] = value
        _end_text(soup)
        recent = soup._most_recent_element
        element = Tag(
            soup,
            self,
            tag,
            None,
            None,
            attributes,
            soup.currentTag,
            recent,
            sourceline=None,
            sourcepos=None,
            namespaces=self.active_namespace_prefixes[-1],
        )
        if recent is not None:
            recent.next_element = element
        soup._most_recent_element = element
        soup.pushTag(element)
        return None

    def end(self, tag: Any) -> None:
        if len(self.nsmaps) > 1 or tag[0] == "{":
            return super().end(tag)
        soup: Any = self.soup
        _end_text(soup)
        soup._popToTag(tag, None)  # BeautifulSoup.handle_endtag, less its second endData
        return None

    def data(self, content: Any) -> None:
        self.soup.current_data.append(content)  # type: ignore[union-attr]


_ASCII_SPACES = " \n\t\f\r"  # what BeautifulSoup collapses to one space or newline


def _end_text(soup: Any) -> None:
    """BeautifulSoup.endData for the text lxml handed over since the last tag: a string, its
    blanks collapsed to one space or newline, as endData makes it (without its typing.cast and
    its loop over characters), when no string container or filter changes that.

    Blank text between a table row's cells never becomes a string: the walk reads a row by its
    cells (_table_row), and a cell's text through get_text(" ") and clean_text, where a blank
    string between two others is one more blank. A third of a typical article's strings are these.
    Not inside a <pre>, whose text is read as it is."""
    data = soup.current_data
    if not data:
        return
    if soup.string_container_stack or soup.parse_only or soup.element_classes:
        soup.endData()
        return
    text = data[0] if len(data) == 1 else "".join(data)
    if not soup.preserve_whitespace_tag_stack and not text.strip(_ASCII_SPACES):
        if soup.currentTag.name == "tr":
            data.clear()
            return
        text = "\n" if "\n" in text else " "
    soup.current_data = []
    soup.object_was_parsed(NavigableString(text))


_PER_THREAD = threading.local()  # a builder holds the soup it is building: one per thread


def parsed_soup(html: str) -> BeautifulSoup:
    """BeautifulSoup on lxml, reusing this thread's builder and parser."""
    builder = getattr(_PER_THREAD, "builder", None)
    if builder is None:
        builder = _PER_THREAD.builder = _ReusedParserBuilder()
    try:
        return BeautifulSoup(html, builder=builder)
    except BaseException:
        _PER_THREAD.builder = None  # a parser stopped midway starts afresh
        raise


@dataclass
class ArticleBody:
    paragraphs: list[str] = field(default_factory=list)
    editor: str | None = None
    editor_code: str | None = None
    stock_codes: list[str] = field(default_factory=list)
    linked_names: list[tuple[str, str]] = field(default_factory=list)  # (name, code) of stock links
    image_urls: list[str] = field(default_factory=list)
    link_urls: list[str] = field(default_factory=list)
    has_video: bool = False
    table_count: int = 0


def editor_of(line: str) -> tuple[str | None, str | None]:
    """(editor, work code) from a line like '责任编辑：王翔 SF142'."""
    match = _EDITOR_LINE.match(clean_text(line))
    if not match:
        return None, None
    credit = match.group(1)
    coded = _EDITOR_CODE.match(credit)
    if coded:
        return coded.group(1) or None, coded.group(2).upper()
    return credit or None, None


def _is_hidden(tag: Tag) -> bool:
    if "hidden" in tag.attrs:
        return True
    style = tag.attrs.get("style")
    return isinstance(style, str) and "display:none" in style.replace(" ", "").lower()


def _cells_of(row: Tag) -> list[Tag]:
    """The row's own cells (a table nested in a cell is that cell's text, not more cells)."""
    cells: list[Tag] = []
    stack = list(reversed(row.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            if node.name in ("td", "th"):
                cells.append(node)
            else:
                stack.extend(reversed(node.contents))
    return cells


def _cell_text(cell: Tag) -> str:
    contents = cell.contents
    if len(contents) == 1 and type(contents[0]) is NavigableString:
        return contents[0]  # most cells: what get_text would return, without its generator
    return cell.get_text(" ")


def _table_row(row: Tag, line_break: str | None) -> str:
    texts = (_cell_text(cell) for cell in _cells_of(row))
    if line_break is not None:  # a merged paragraph in a cell: its breaks were get_text's spaces
        texts = (text.replace(line_break, " ") for text in texts)
    cells = [clean_text(text) for text in texts]
    return "\t".join(cells) if any(cells) else ""


class _Collector:
    """Walks the parsed body once, iteratively (no recursion limit on deep HTML)."""

    def __init__(self, line_break: str | None = None, in_editor_line: bool = False) -> None:
        self.line_break = line_break  # a character in text that ends a line, as a block would
        # Reading the lines of an editor line: one nested in it is skipped, not read (its credit
        # would be this collector's, which only its lines leave), so nesting never recurses.
        self.in_editor_line = in_editor_line
        self.body = ArticleBody()
        self._line: list[str] = []
        self._images: dict[str, None] = {}
        self._links: dict[str, None] = {}

    def flush(self) -> None:
        if self._line:
            text = clean_text("".join(self._line))
            self._line.clear()
            if text:
                self.body.paragraphs.append(text)

    def media(self, tag: Tag) -> None:
        name = tag.name
        if name == "img":
            src = tag.get("src")
            if not isinstance(src, str) or src.startswith("data:"):
                alt_src = tag.get("data-src") or tag.get("data-original")
                src = alt_src if isinstance(alt_src, str) else None
            url = image_url_of(src)
            if url is not None:
                self._images.setdefault(url, None)
        elif name == "a":
            href = tag.get("href")
            if isinstance(href, str):
                href = href.strip()
                if href.startswith(("http://", "https://")):
                    self._links.setdefault(href, None)
        elif name in _VIDEO_TAGS:
            self.body.has_video = True
        elif name == "table":
            self.body.table_count += 1

    def walk(self, root: Tag) -> ArticleBody:
        self.lines_of(root)
        self._editor_from_last_paragraph()
        self.body.image_urls = list(self._images)
        self.body.link_urls = list(self._links)
        return self.body

    def lines_of(self, root: Tag) -> list[str]:
        stack: list[object] = list(reversed(root.contents))
        while stack:
            node = stack.pop()
            if node is _FLUSH:
                self.flush()
            elif type(node) is NavigableString:
                self._text(node)
            elif isinstance(node, Tag):  # not comments, CDATA, doctype, processing instructions
                name = node.name
                if name in _MEDIA_TAGS:
                    self.media(node)
                if name in _SKIP_TAGS or (node.attrs and self._set_aside(node)):
                    continue
                if name in _LINE_TAGS:
                    self._lines_of_line_tag(node)
                elif name in BLOCK_TAGS:
                    stack.extend((_FLUSH, *reversed(node.contents), _FLUSH))
                else:
                    stack.extend(reversed(node.contents))
        self.flush()
        return self.body.paragraphs

    def _text(self, text: str) -> None:
        if self.line_break is None or self.line_break not in text:
            self._line.append(text)
            return
        first, *rest = text.split(self.line_break)
        self._line.append(first)
        for piece in rest:
            self.flush()
            self._line.append(piece)

    def _set_aside(self, node: Tag) -> bool:
        """Whether a tag's content is not article text: a promo, the editor line (read into its
        fields here), or hidden. Notes a video class on the way."""
        value = node.attrs.get("class")
        if value:
            classes = value.split() if isinstance(value, str) else list(value)
            if PROMO_CLASSES.intersection(classes):
                return True
            if EDITOR_CLASS in classes:
                self.flush()
                if not self.in_editor_line:
                    # Its lines as the walk reads them, so cutting markup never changes it.
                    credit = " ".join(_Collector(self.line_break, in_editor_line=True).lines_of(node))
                    self.body.editor, self.body.editor_code = editor_of(credit)
                return True
            if not self.body.has_video and any("video" in c.lower() for c in classes):
                self.body.has_video = True
        return _is_hidden(node)

    def _lines_of_line_tag(self, node: Tag) -> None:
        """A line break ends the line; a table row is one line of its cells; a pre block keeps
        its own lines."""
        self.flush()
        if node.name == "tr":
            row = _table_row(node, self.line_break)
            if row:
                self.body.paragraphs.append(row)
            for inner in node.descendants:
                if isinstance(inner, Tag) and inner.name in _MEDIA_TAGS:
                    self.media(inner)
        elif node.name == "pre":
            for line in node.get_text().split("\n"):
                if line.strip():
                    self.body.paragraphs.append(line.rstrip())

    def _editor_from_last_paragraph(self) -> None:
        # Some feeds carry the editor credit as a plain last paragraph instead of the classed line.
        paragraphs = self.body.paragraphs
        if self.body.editor is None and paragraphs and _EDITOR_LINE.match(paragraphs[-1]):
            self.body.editor, self.body.editor_code = editor_of(paragraphs.pop())


def collected_body(html: str, line_break: str | None = None) -> ArticleBody:
    """Parse markup (BeautifulSoup on lxml) and walk it into paragraphs, editor and media facts.

    line_break is the character that ends a line in the text (LeanMarkup's); bare text without
    block markup is broken at its newlines.
    """
    if not html.strip():
        return ArticleBody()
    soup = parsed_soup(html)
    inner = html.strip()
    if inner.startswith("<div>"):
        inner = inner[5:]
    if line_break is None and not _BLOCK_MARKUP.search(inner):
        line_break = "\n"
    body = _Collector(line_break).walk(soup)
    # A soup is a web of parent/child cycles: taking it apart frees it at once instead of leaving
    # it to the cycle collector. The soup object itself is not linked to its first element, so
    # its decompose() alone would clear only itself: each top element is taken apart.
    for top in list(soup.contents):
        top.decompose()
    soup.decompose()
    return body


def article_body(html: str) -> ArticleBody:
    """An article's HTML fragment to its clean parts."""
    stock_codes = stock_codes_of(html) if ("quote_" in html or "news_keyword_pub" in html) else []
    lean = leaner_markup(html)
    body = collected_body(lean.html, lean.line_break)
    body.stock_codes = stock_codes
    body.linked_names = linked_stock_names(html)
    return body
