from __future__ import annotations

import gc

from bs4 import BeautifulSoup, NavigableString, Tag
from hypothesis import example, given, settings
from hypothesis import strategies as st

from transforms.body import article_body, editor_of
from transforms.stocks import normalised_stock_code, stock_codes_of

SINA = """<div>
<p cms-style="font-L">　　<span id="stock_sz300059"><a href="https://finance.sina.com.cn/realstock/company/sz300059/nc.shtml">东方财富</a></span><span id="quote_sz300059"></span>日前发布&amp;公告。</p>
<p>　　</p><p>&nbsp;</p>
<p>　　第二段　内容。</p><!-- news_keyword_pub,stock,sh600519&sz300059 -->
<!-- 文末二维码 start -->
<style>.appendQr_wrap&#123;border:1px solid #E6E6E6;&#125;</style>
<div class="clearfix appendQr_wrap"><div class="appendQr_normal"><img src="https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"></div>
<div class="appendQr_normal_txt">海量资讯、精准解读，尽在新浪财经APP</div></div>
<p class="article-editor">责任编辑：王翔 SF142</p>
</div>"""


def test_sina_boilerplate_is_removed_and_fields_extracted() -> None:
    body = article_body(SINA)
    assert body.paragraphs == ["东方财富日前发布&公告。", "第二段 内容。"]
    assert (body.editor, body.editor_code) == ("王翔", "SF142")
    assert body.stock_codes == ["sz300059", "sh600519"]
    assert body.image_urls == []
    assert body.link_urls == ["https://finance.sina.com.cn/realstock/company/sz300059/nc.shtml"]


def test_editor_line_without_code() -> None:
    assert editor_of("责任编辑：王翔 ") == ("王翔", None)
    assert editor_of("作者：某人") == (None, None)


def test_br_lines_and_bare_text() -> None:
    assert article_body("<div><br> 最新净值 2.2177 <br> 今日跌幅 1%  </div>").paragraphs == [
        "最新净值 2.2177",
        "今日跌幅 1%",
    ]
    assert article_body("<div>\n第一行\n第二行\n</div>").paragraphs == ["第一行", "第二行"]


def test_blocks_lists_headings_quotes_code_and_tables() -> None:
    html = (
        "<div><h2>标题</h2><ul><li>一</li><li>二</li></ul><blockquote>引用</blockquote>"
        "<pre><code>x = 1\n  print(x)</code></pre>"
        "<table><tr><th>名称</th><th>值</th></tr><tr><td>A</td><td>1.5</td></tr></table></div>"
    )
    body = article_body(html)
    assert body.paragraphs == [
        "标题",
        "一",
        "二",
        "引用",
        "x = 1",
        "  print(x)",
        "名称\t值",
        "A\t1.5",
    ]
    assert body.table_count == 1


def test_a_table_nested_in_a_cell_is_that_cells_text_not_more_cells() -> None:
    html = (
        "<table><tr><td>外</td><td><table><tr><td>内1</td><td>内2</td></tr></table></td></tr></table>"
        '<table><tr><td><a href="https://example.com/x">链接</a><img src="https://example.com/i.jpg"></td></tr></table>'
    )
    body = article_body(html)
    assert body.paragraphs == ["外\t内1 内2", "链接"]
    assert body.link_urls == ["https://example.com/x"]
    assert body.image_urls == ["https://example.com/i.jpg"]


def test_media() -> None:
    html = (
        '<div><img src="https://cors.zfour.workers.dev/?http://img.example.org/a.png">'
        '<img src="data:image/png;base64,AAA"><img src="https://picsum.photos/1?random=2">'
        '<picture><source srcset="x.webp"><img src="https://img.example.org/b.jpg"></picture>'
        '<iframe src="https://player.bilibili.com/x"></iframe><a href="javascript:void(0)">x</a></div>'
    )
    body = article_body(html)
    assert body.image_urls == ["http://img.example.org/a.png", "https://img.example.org/b.jpg"]
    assert body.has_video
    assert body.link_urls == []


def test_hidden_and_script_text_is_not_article_text() -> None:
    html = '<div><p>正文</p><a hidden>查看原文</a><script>var a = 1;</script><p style="display: none">隐藏</p></div>'
    assert article_body(html).paragraphs == ["正文"]


def test_stock_code_normalisation() -> None:
    assert normalised_stock_code("SH600519") == "sh600519"
    assert normalised_stock_code("600519.SS") == "sh600519"
    assert normalised_stock_code("hk700") == "hk00700"
    assert normalised_stock_code("gb_aapl") == "gb_aapl"
    assert normalised_stock_code("") is None
    assert normalised_stock_code("../../etc") is None
    assert stock_codes_of("<!-- news_keyword_pub,stock, -->") == []


def test_deeply_nested_html_does_not_recurse() -> None:
    depth = 100_000
    html = "<div>" + "<span>" * depth + "深" + "</span>" * depth + "</div>"
    body = article_body(html)
    assert body.paragraphs == ["深"]  # parsed without recursion, and the text kept


def test_entity_soup_and_unclosed_tags() -> None:
    body = article_body("<div><p>&lt;b&gt; &amp;amp; &#x4e2d;&#25991; &bogus; <b>粗<i>斜</div>")
    assert body.paragraphs == ["<b> & 中文 &bogus; 粗斜"]


def test_a_parse_leaves_no_cyclic_garbage() -> None:
    # The soup is taken apart after the walk: left to the cycle collector it costs every parse.
    # Only the soup's own objects count (other threads may make garbage of their own meanwhile).
    gc.collect()
    gc.disable()
    try:
        article_body(SINA)
        article_body("<table><tr><td>1</td><td><b>2</b></td></tr></table><p>x<br>y</p>")
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, (BeautifulSoup, Tag, NavigableString))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


def test_the_reused_builder_makes_the_soup_beautifulsoup_makes() -> None:
    """Its start and end skip namespace handling lxml's HTML parser never needs: the tree, and
    each element's links, are those of BeautifulSoup's own lxml builder (class kept one string;
    blank text between a row's cells is dropped: see the next test)."""
    from bs4.builder._lxml import LXMLTreeBuilder

    from transforms.body import parsed_soup

    fragments = [
        '<p class="a b" id=x hidden>一<b>二</b>三</p><img src="i.png"><br/>tail',
        '<div xmlns:o="urn:o"><o:p>word</o:p><svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg></div>',
        "<table><tr><td rowspan=2>a</td><td>b</td></tr></table><!-- c --><pre>  x\n y</pre>",
        "<p>unclosed<div>block<span style='display:none'>h</span></p>&amp;&#x4e00;",
        "",
    ]
    for html in fragments:
        ours = parsed_soup(html)
        theirs = BeautifulSoup(html, builder=LXMLTreeBuilder(multi_valued_attributes=None))
        assert str(ours) == str(theirs)
        mine = [(type(e), getattr(e, "name", None), getattr(e, "attrs", None)) for e in ours.descendants]
        stock = [(type(e), getattr(e, "name", None), getattr(e, "attrs", None)) for e in theirs.descendants]
        assert mine == stock
        chain = [str(e)[:20] for e in ours.next_elements]
        assert chain == [str(e)[:20] for e in theirs.next_elements]


_TABLE_PIECES = [
    "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "</th>", "<pre>", "</pre>",
    "<p>", "</p>", "<div>", "</div>", "<b>", "</b>", "<br>", " ", "\n", "  \n\t", "\u3000", "a", "字 词",
    '<td class="x">', '<div class="article-editor">', "责任编辑：王翔", "<img src='http://i/1.png'>",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TABLE_PIECES), max_size=30))
@example(
    ["<pre>", "a", "<tr>", "\n", "<td>", "a", "</td>", "</tr>", "</pre>"]
)  # a <pre>'s text is read whole
@example(
    ["<td>", "<table>", "<tr>", "\n", "<td>", "a", "</td>", " ", "<td>", "b", "</td>", "</tr>", "</table>"]
)
def test_a_rows_whitespace_never_becomes_a_string_and_the_body_is_the_same(pieces: list[str]) -> None:
    """The builder drops blank text between a row's cells (outside <pre>): the walk over its soup
    collects what it collects over BeautifulSoup's own."""
    from unittest import mock

    from bs4.builder._lxml import LXMLTreeBuilder

    from transforms import body

    def stock(html: str) -> BeautifulSoup:
        return BeautifulSoup(html, builder=LXMLTreeBuilder(multi_valued_attributes=None))

    html = "".join(pieces)
    for line_break in (None, "\n"):
        ours = body.collected_body(html, line_break)
        with mock.patch.object(body, "parsed_soup", stock):
            assert ours == body.collected_body(html, line_break)
