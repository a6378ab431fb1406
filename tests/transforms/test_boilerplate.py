"""Credit lines, line keys, and taking learned lines out of a text and putting them back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transforms.boilerplate import (
    LearningRule,
    is_credit,
    is_learnable,
    is_notice,
    learnable_hashes,
    line_hash,
    line_key,
    restored_lines,
    split_lines,
    without_credits,
)


def test_credit_lines_are_recognised_and_sentences_are_not() -> None:
    for line in [
        "(记者 姚祥云)",
        "译者：boxi。",
        "作者 | 赵若慈",
        "封面图片来源：摄图网",
        "（编辑 刘琰）",
        "Author: Jane Doe",
        "文：张三",
    ]:
        assert is_credit(line), line
    for line in [
        "By the way, the market fell.",
        "来源于市场的消息显示，股价上涨。",
        "查看知乎讨论",
        "作者认为这一政策将在明年见效，" * 4,
    ]:
        assert not is_credit(line), line


def test_notices_are_boilerplate_in_any_feed_and_their_topics_are_not() -> None:
    for line in [
        "免责声明：本文内容与数据仅供参考",
        "Download PDFnull",
        "阅读原文",
        "关注疫情动态，请点击↓↓",
    ]:
        assert is_notice(line), line
    for line in [
        "风险提示",
        "风险提示：经济下行超预期。",
        "公司发布声明称将回购股份",
        "查看更多的数据可以发现",
    ]:
        assert not is_notice(line), line


def test_credits_are_taken_only_from_the_ends_of_an_article() -> None:
    lines = ["(记者 张三)", "正文一", "记者：你怎么看？", "正文二", "正文三", "正文四", "译者：boxi。"]
    kept, credits = without_credits(lines)
    assert credits == ["(记者 张三)", "译者：boxi。"]
    assert "记者：你怎么看？" in kept  # an interview's speaker, mid-article


def test_line_keys_fold_digits() -> None:
    assert line_key(" 12 赞 3 收藏 ") == line_key("15 赞 40 收藏") == "# 赞 # 收藏"
    assert line_key("２０２１年") == "#年"  # full-width digits are digits too
    assert not is_learnable(line_key("3")) and not is_learnable(line_key("(12)"))
    assert is_learnable(line_key("查看知乎讨论"))
    assert not is_learnable("长" * 401)
    assert learnable_hashes(["1", "查看知乎讨论", "查看知乎讨论 "]) == [line_hash("查看知乎讨论")]


def test_a_rule_learns_nothing_in_a_small_feed() -> None:
    rule = LearningRule(min_share=0.3, min_articles=5, min_feed_articles=10)
    assert rule.threshold(9) is None
    assert rule.threshold(10) == 5 and rule.threshold(20) == 6 and rule.threshold(100) == 30


lines_st = st.lists(
    st.sampled_from(["查看知乎讨论", "正文", "免责声明：仅供参考", "1", "段落 2", "尾声"]), max_size=12
)


@given(lines=lines_st, learned=st.sets(st.sampled_from(["查看知乎讨论", "免责声明：仅供参考", "尾声"])))
def test_taking_lines_out_and_putting_them_back_gives_the_text_again(
    lines: list[str], learned: set[str]
) -> None:
    model = frozenset(line_hash(line_key(x)) for x in learned)
    split = split_lines(lines, model)
    assert not set(split.kept) & learned and not any(is_notice(x) for x in split.kept)
    assert all(line in learned or is_notice(line) for line in split.removed)
    assert restored_lines(split.kept, split.removed, split.removed_at) == lines
    # Unlearning everything restores the text; splitting again with the same model changes nothing.
    again = split_lines(restored_lines(split.kept, split.removed, split.removed_at), model)
    assert again == split
