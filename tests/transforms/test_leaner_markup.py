"""Cutting markup before parsing is an optimisation only: the collected body never changes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_files
from transforms.body import collected_body, leaner_markup
from transforms.decoding import decoded_text
from transforms.frontmatter import front_matter


def _as_parsed_before(html: str) -> str:
    """The markup as it was parsed before any cutting (comments and scripts were always cut)."""
    from transforms.body import _COMMENT, _SCRIPT_STYLE

    return _SCRIPT_STYLE.sub("", _COMMENT.sub("", html))


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_real_articles_collect_the_same_body(path):
    html = front_matter(decoded_text(path.read_bytes()).text).body
    leaner = leaner_markup(html)
    assert len(leaner) <= len(html)
    assert collected_body(leaner) == collected_body(_as_parsed_before(html))


def test_it_cuts_formatting_and_whitespace_between_blocks():
    html = '<div>\n<p cms-style="font-L">　　<font color=red><b>粗</b></font>体</p>\n  <p>二</p>\n</div>'
    assert leaner_markup(html) == '<div><p cms-style="font-L">　　粗体</p><p>二</p></div>'
    misnested = "<b><p>正文</b>正文"
    assert leaner_markup(misnested) == misnested


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
    assert "<span" in leaner_markup(html)
    assert collected_body(leaner_markup(html)) == collected_body(html)


def test_preformatted_text_is_left_alone():
    html = "<pre>a\n  <b>b</b>\n</pre>\n<p>c</p>"
    assert leaner_markup(html) == html


fragments = st.sampled_from(
    ["<p>", "</p>", "<div>", "</div>", "<br>", "<br/>", "<b>", "</b>", "<i>", "</i>", "<span>", "</span>",
     '<span style="display:none">', "<span hidden>", '<font color="red">', "</font>", "<strong>", "</strong>",
     "<table>", "<tr>", "<td>", "</td>", "</tr>", "</table>", "<li>", "<h2>", "</h2>", "<pre>", "</pre>",
     '<a href="https://example.com/x">', "</a>", '<img src="https://example.com/i.jpg">', "<sup>", "</sup>",
     '<p class="article-editor">', '<div class="appendQr_wrap">', "<!-- c -->", "<style>x</style>",
     "<blockquote>", "</blockquote>", "<span title='a>b'>", "<b/>", "<bdi>", "<em", ">"]
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
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(fragments, texts), max_size=40))
def test_generated_markup_collects_the_same_body(parts):
    html = "".join(parts)
    assert collected_body(leaner_markup(html)) == collected_body(_as_parsed_before(html))


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
        assert collected_body(leaner_markup(html)).paragraphs == ["x y", "z"]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
