from __future__ import annotations

import pytest

from transforms.frontmatter import front_matter, split_front_matter
from transforms.reasons import Quarantined, Reason


def test_leading_blank_line_is_normal() -> None:
    yaml_text, body = split_front_matter("\n---\ntitle: a\n---\n<div>x</div>")
    assert yaml_text.strip() == "title: a"
    assert body.strip() == "<div>x</div>"


def test_yaml_values_and_four_space_indented_categories() -> None:
    fm = front_matter(
        "---\ntitle: 'a'\ncategories: \n    - 金融\n    - 天天基金\n    - 用户动态\n\ndate: Mon, 23 Mar 2020 15:00:12 GMT\n---\n"
    )
    assert fm.fields["categories"] == ["金融", "天天基金", "用户动态"]
    assert not fm.recovered


def test_invalid_yaml_title_is_recovered_line_by_line() -> None:
    text = (
        '---\ntitle: "There\'s No Stopping Apple\'s iPhone "Supercycle," Says Analyst"\n'
        "categories: \n    - 金融\n    - finviz\n    - 美股股票新闻\n\nauthor: finviz\n"
        "date: Mon, 22 Mar 2021 13:00:00 GMT\nthumbnail: ''\n---\n<div>x</div>"
    )
    fm = front_matter(text)
    assert fm.recovered
    assert fm.fields["title"] == "There's No Stopping Apple's iPhone \"Supercycle,\" Says Analyst"
    assert fm.fields["categories"] == ["金融", "finviz", "美股股票新闻"]
    assert fm.fields["date"] == "Mon, 22 Mar 2021 13:00:00 GMT"
    assert fm.fields["thumbnail"] == ""


def test_tab_indented_yaml_is_recovered() -> None:
    fm = front_matter("---\ntitle: t\ncategories:\n\t- a\n\t- b\n---\n")
    assert fm.fields["categories"] == ["a", "b"]


def test_python_tags_are_never_constructed(tmp_path) -> None:
    marker = tmp_path / "pwned"
    text = f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\ndate: 2021-01-01\n---\n"
    fm = front_matter(text)
    assert not marker.exists()
    assert isinstance(fm.fields.get("title"), str)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<div>no front matter</div>", Reason.MISSING_FRONT_MATTER),
        ("---\ntitle: a\n<div>never closed</div>", Reason.UNTERMINATED_FRONT_MATTER),
        ("---\n- a\n- b\n---\n", Reason.FRONT_MATTER_NOT_MAPPING),
        ("---\n'just a string'\n---\n", Reason.FRONT_MATTER_NOT_MAPPING),
        ("---\n{{{: [\n---\n", Reason.INVALID_YAML),
    ],
)
def test_front_matter_problems(text: str, reason: Reason) -> None:
    with pytest.raises(Quarantined) as info:
        front_matter(text)
    assert info.value.reason is reason


def test_empty_front_matter_is_an_empty_mapping() -> None:
    assert front_matter("---\n---\n<p>x</p>").fields == {}


def test_a_line_with_a_long_run_of_blanks_is_read_in_linear_time() -> None:
    """Hostile front matter that YAML rejects, with a million blanks inside a value: a lazy value
    pattern took minutes (n^2); the alarm turns a hang into a failure."""
    import signal

    from transforms.frontmatter import front_matter

    text = "---\ntitle: 'It's a" + " " * 1_000_000 + "b  \ncategories:\n  - 金融 \t\n---\n<p>正文</p>"

    def too_slow(*_args: object) -> None:
        raise TimeoutError("front matter fallback went quadratic")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(30)
    try:
        matter = front_matter(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert matter.recovered
    assert matter.fields["title"].endswith("a" + " " * 1_000_000 + "b")
    assert matter.fields["categories"] == ["金融"]
