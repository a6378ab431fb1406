"""Cutting markup before parsing is an optimisation only: the collected body never changes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_files
from transforms.body import ArticleBody, collected_body
from transforms.decoding import decoded_text
from transforms.frontmatter import front_matter
from transforms.markup import LINE_BREAK, LeanMarkup, leaner_markup


def _lean_body(html: str) -> ArticleBody:
    lean = leaner_markup(html)
    return collected_body(lean.html, lean.line_break)


def _as_parsed_before(html: str) -> str:
    """The markup as it was parsed before any cutting (comments and scripts were always cut)."""
    from transforms.markup import _COMMENT, _SCRIPT_STYLE

    return _SCRIPT_STYLE.sub("", _COMMENT.sub("", html))


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_real_articles_collect_the_same_body(path):
    html = front_matter(decoded_text(path.read_bytes()).text).body
    assert len(leaner_markup(html).html) <= len(html)
    assert _lean_body(html) == collected_body(_as_parsed_before(html))


def test_it_cuts_formatting_and_whitespace_between_blocks():
    html = '<div>\n<p cms-style="font-L">　　<font color=red><b>粗</b></font>体</p>\n  <p>二</p>\n</div>'
    lean = leaner_markup(html)
    assert lean.html == f'<div><p cms-style="font-L">\u3000\u3000粗体{LINE_BREAK}二</p></div>'
    assert lean.line_break == LINE_BREAK
    misnested = "<b><p>正文</b>正文"
    assert leaner_markup(misnested).html == misnested


@pytest.mark.parametrize(
    "html",
    [
        '<p>a<span style="display: none">hidden</span>b</p>',
        "<p>a<span hidden>hidden</span>b</p>",
        '<p>a<span class="article-editor">责任编辑：王翔</span></p>',
        '<p>a<span class="my-Video">x</span></p>',
    ],
)
def test_formatting_that_matters_is_kept(html):
    assert "<span" in leaner_markup(html).html
    assert _lean_body(html) == collected_body(html)


def test_preformatted_text_is_left_alone():
    html = "<pre>a\n  <b>b</b>\n</pre>\n<p>c</p>"
    assert leaner_markup(html) == LeanMarkup(html)


fragments = st.sampled_from(
    ["<p>", "</p>", "<div>", "</div>", "<br>", "<br/>", "<b>", "</b>", "<i>", "</i>", "<span>", "</span>",
     '<span style="display:none">', "<span hidden>", '<font color="red">', "</font>", "<strong>", "</strong>",
     "<table>", "<tr>", "<td>", "</td>", "</tr>", "</table>", "<li>", "<h2>", "</h2>", "<pre>", "</pre>",
     '<a href="https://example.com/x">', "</a>", '<img src="https://example.com/i.jpg">', "<sup>", "</sup>",
     '<p class="article-editor">', '<div class="appendQr_wrap">', "<!-- c -->", "<style>x</style>",
     "<blockquote>", "</blockquote>", "<span title='a>b'>", "<b/>", "<bdi>", "<em", ">",
     # runs of plain paragraphs, which are merged, and what must stop a merge
     "<p>甲</p><p>乙</p>", '<p cms-style="font-L">', "<P data-x=a>", '<p class="x">', '<p style="color:red">',
     "<p hidden>", "</p >", "</P>", "\ue000", "&#57344;", "&#xE000;", "<select>", "<svg>", "<td><p>"]
)  # fmt: skip
texts = st.sampled_from(
    [
        " ",
        "\n",
        "\u3000\u3000",
        "\xa0",
        "正文",
        "word",
        " two words ",
        "&amp;",
        "&nbsp;",
        "责任编辑：王翔 SF142",
        "\t",
        "a\nb",
        "&amp",
        ";",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(fragments, texts), max_size=40))
def test_generated_markup_collects_the_same_body(parts):
    html = "".join(parts)
    assert _lean_body(html) == collected_body(_as_parsed_before(html))


paragraphs = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["<p>", '<p cms-style="font-L">', "<P data-x=a>", '<p class="x">', "<p hidden>"]),
        st.lists(texts, max_size=3).map("".join),
        st.sampled_from(["</p>", "</p >", "</P>", "</p>\n", ""]),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(paragraphs, paragraphs, fragments, texts), max_size=30))
def test_merged_paragraphs_collect_the_same_body(parts):
    html = "".join(parts)
    assert _lean_body(html) == collected_body(_as_parsed_before(html))


def test_plain_paragraphs_are_merged_unless_the_break_could_be_text():
    assert leaner_markup("<p>a</p>\n<p>b</p><p class=x>c</p>") == LeanMarkup(
        f"<p>a{LINE_BREAK}b</p><p class=x>c</p>", LINE_BREAK
    )
    for held in ("\ue000", "&#57344;", "&#xe000;"):
        html = f"<p>a{held}</p><p>b</p>"
        assert leaner_markup(html) == LeanMarkup(html)
        assert _lean_body(html) == collected_body(html)


@pytest.mark.parametrize(
    "html",
    [
        "x<p hidden></p> <p hidden></p>正文",  # a skipped block ends no line: its space is text
        'x<div class="appendQr_wrap">promo</div> y',
        '<a href="https://e.com/">x</a> <div class="clearfix appendQr_wrap">promo</div>y',
        "<span>&amp</span>;",  # unwrapped, the reference would take in the ";"
        "&am<b>p;</b>",
    ],
)
def test_cuts_that_would_join_or_split_text_are_not_made(html):
    assert _lean_body(html) == collected_body(html)


def test_a_long_run_of_closing_tags_is_cut_in_linear_time():
    """Hostile markup: 200,000 stray closing tags. With an unbounded lookahead this took hours
    (each whitespace looked past every later closing tag); the alarm turns a hang into a failure."""
    import signal

    html = "<p>x" + "</b> " * 200_000 + "y</p><p>z"

    def too_slow(*_args: object) -> None:
        raise TimeoutError("leaner_markup went quadratic")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(30)  # linear takes well under a second
    try:
        assert _lean_body(html).paragraphs == ["x y", "z"]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
