"""Credit lines, line keys, and taking learned lines out of a text and putting them back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transforms.boilerplate import (
    GUARD_BIT,
    PAIR_BIT,
    LearningRule,
    hashed_length,
    is_credit,
    is_guarded,
    is_learnable,
    is_notice,
    learnable_hashes,
    line_hash,
    line_key,
    pair_hash,
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
        # A slash, a bar or spaces for the colon, half- and full-width.
        "翻译/Ann Lee",
        "校对 / 李四",
        "编辑 王五",
        "编辑| 段炼 何小桃 杜恒峰",
        "作者丨张三",
        "文／张三",
        "图/视觉中国",
        "翻译:张三",
        "翻译︰张三",
        "采访/撰文：张三",
        "头图 | 《西虹市首富》剧照",
        "*头图来源：The Verge",
        "*题图及部分文内配图来源于视觉中国。",
        # A newsroom's word before the role; a newsroom's compilation of its sources.
        "每经编辑 王鑫",
        "本报记者 张三 李四",
        "每日经济新闻综合自环球网、",
        "新华社综合外电",
        # No space between the role and a name that ends the line; a one-character word and a mark.
        "中国基金报记者方丽",
        "中国基金报记者 方丽 张燕北 曹雯璟",
        "（文章来源：证券时报）",
        "本文来自华尔街见闻（ID：wallstreetcn），欢迎下载华尔街见闻App",
        "每经记者 郭荣村 每经实习记者 陈浩 每经编辑 文多",
        "►文 观察者网 陶梦",
    ]:
        assert is_credit(line), line
    for line in [
        "By the way, the market fell.",
        "来源于市场的消息显示，股价上涨。",
        "查看知乎讨论",
        "作者认为这一政策将在明年见效，" * 4,
        "他告诉记者，这很好。",
        "文章很好",
        "设计 很好",
        "公司综合实力较强",
        "互联网综合服务平台",
        "本报记者了解到",
        "文 化自信是关键，我们要坚持",
        # Headings and captions that open like a credit.
        "央视记者探访",
        "财联社记者获悉",
        "中国记者节快乐",
        "图 1 2020年各季度营收（亿元）",
    ]:
        assert not is_credit(line), line


def test_notices_are_boilerplate_in_any_feed_and_their_topics_are_not() -> None:
    for line in [
        "免责声明：本文内容与数据仅供参考",
        "Download PDFnull",
        "阅读原文",
        "关注疫情动态，请点击↓↓",
        "*免责声明：在任何情况下，本文中的信息均不构成投资建议。",
        "注：本文部分图片来自网络，且未能核实版权归属，如有侵犯，敬请与本文作者联系。",
        "转载请注明出处：快科技",
        # A blog's previous/next links.
        "上一篇",
        "下一篇：如何用好 Obsidian",
        "« Previous",
        "Older posts",
        "返回顶部 ↑",
        # A dateline alone on its line; the title as first published; calls to follow or download.
        "每日经济新闻 2021-07-31 16:06:27",
        "2021-10-23 12:35:34",
        "2021年7月31日 16:06",
        "原标题：中美人士纪念“乒乓外交”50周年",
        "> 下载 少数派 2.0 客户端、关注 少数派公众号，解锁全新阅读体验 📰",
        "识别下方海报二维码，立即测出你的风格。",
        "欢迎关注我们的公众号",
        "扫码下载APP",
        "#欢迎关注爱范儿官方微信公众号：爱范儿（微信号：ifanr），更多精彩内容第一时间为您奉上。",
        # Disclaimers that do not say they are one; a closing call to read more.
        "注：本文系新闻报道，不构成投资建议，股市有风险，投资需谨慎。",
        "文章代表作者个人观点，少数派仅对标题和排版略作修改。",
        "*文章为作者独立观点，不代表虎嗅立场",
        "市场有风险，投资需谨慎。本文不构成个人投资建议。",
        "（本文来自澎湃新闻，更多原创资讯请下载“澎湃新闻”APP）",
        "本文仅供参考，据此操作风险自担。",
        "声明：本文内容仅代表作者观点",
        "广告声明：文内含有的对外跳转链接，IT之家所有文章均包含本声明。",
        "转载此文请于文首标明作者姓名",
        "发布时间：2021-07-31 16:06:27",
        "2021-07-31 16:06:27 来源：人民网－人民日报",
        "长按识别下方二维码",
        "打开界面新闻APP，查看原文",
        "【纠错】",
        "【打印】 【关闭】",
    ]:
        assert is_notice(line), line
    for line in [
        "风险提示",
        "风险提示：经济下行超预期。",
        "公司发布声明称将回购股份",
        "查看更多的数据可以发现",
        "下一步",
        "Next generation chips",
        "2021年7月31日",  # a date heading (a timeline's) is text
        "会议于2021-07-31 16:06召开",
        "点击 App 首页 右上角按钮",  # a how-to's step
        "下载量突破1亿的App",
        "关注度提升，公众号运营者受益",
        "原来如此：市场的反应",
        "他表示，这一表态并不代表公司的最终立场，后续仍需董事会讨论决定。",
        "本文认为，市场需要更多关注",
        # News that mentions an app, a group or a code, and reported speech.
        "请问您如何看待微信视频号的发展？",
        "快手小程序日活突破一亿",
        "加入微信群后，对方以刷单返利为由要求受害人转账。",
        "扫描二维码后，受害人的手机被植入木马程序。",
        "记得当时我们在微信群里讨论了一整晚。",
        "关注到这一点的投资者开始在社群里抱团。",
        "请注意，该小程序存在过度收集个人信息的问题。",
        "文章称，这一表态并不代表美国政府的立场。",
        "截至2021年7月31日 16:00",
        "打开App后，点击右上角",
        "【观点】市场回暖",
        "注：本文系新闻报道，" + "分析人士认为行业景气仍将延续，" * 8 + "投资需谨慎。",  # a paragraph
    ]:
        assert not is_notice(line), line


def test_credits_are_taken_only_from_the_ends_of_an_article() -> None:
    lines = ["(记者 张三)", "正文一", "记者：你怎么看？", "正文二", "正文三", "正文四", "译者：boxi。"]
    kept, credits = without_credits(lines)
    assert credits == ["(记者 张三)", "译者：boxi。"]
    assert "记者：你怎么看？" in kept  # an interview's speaker, mid-article


def test_a_block_of_credits_is_taken_whole_and_notices_do_not_hide_it() -> None:
    lines = [
        "作者丨张三",
        "编辑丨李四",
        "正文一",
        "正文二",
        "正文三",
        "正文四",
        "作者：A",
        "翻译/B",
        "校对 / C",
    ]
    lines += ["编辑 D", "免责声明：仅供参考"]
    kept, credits = without_credits(lines)
    assert credits == ["作者丨张三", "编辑丨李四", "作者：A", "翻译/B", "校对 / C", "编辑 D"]
    assert kept == ["正文一", "正文二", "正文三", "正文四", "免责声明：仅供参考"]
    # A credit line not next to the ends, nor to a credit there, is text.
    kept, credits = without_credits(["正文一", "正文二", "翻译/B", "正文三", "正文四", "正文五", "正文六"])
    assert credits == [] and "翻译/B" in kept


def test_credits_are_found_past_a_repeated_title_and_a_dateline() -> None:
    lines = [
        "104岁奶奶的散户人生刷屏！每经独家采访奶奶开户营业部",
        "◎上海周鸿宝奶奶几乎是A股最高龄股民。",
        "每日经济新闻 2021-09-06 22:49:44",
        "每经记者 王砚丹 每经编辑 何剑岭",
        "图片来源：摄图网",
        "正文一",
        "正文二",
        "正文三",
        "正文四",
    ]
    kept, credits = without_credits(lines, "104岁奶奶的散户人生刷屏！独家采访奶奶开户营业部")
    assert credits == ["每经记者 王砚丹 每经编辑 何剑岭", "图片来源：摄图网"]
    assert kept[:3] == lines[:3]  # the title and the dateline stay for the split (a notice goes there)
    # Without the title, its line counts as the first: the credits are past the two looked at.
    assert without_credits(lines)[1] == []


def test_line_keys_fold_digits() -> None:
    assert line_key(" 12 赞 3 收藏 ") == line_key("15 赞 40 收藏") == "# 赞 # 收藏"
    assert line_key("２０２１年") == "#年"  # full-width digits are digits too
    assert not is_learnable(line_key("3")) and not is_learnable(line_key("(12)"))
    assert is_learnable(line_key("查看知乎讨论"))
    assert not is_learnable("长" * 401)
    assert learnable_hashes(["1", "查看知乎讨论", "查看知乎讨论 "]) == [line_hash("查看知乎讨论")]


def test_a_line_hash_carries_the_lines_length_and_guard() -> None:
    assert hashed_length(line_hash("查看知乎讨论")) == 6
    assert hashed_length(line_hash("长" * 400)) == 400
    assert hashed_length(7) == 0  # a bare number: a line of unknown length, weighed as short
    assert not line_hash("欢迎投稿，投稿邮箱见官网") & (GUARD_BIT | PAIR_BIT)
    # A quotation, or a line of figures, is guarded: only its share makes it boilerplate.
    for key in [
        "“正义已经得到伸张，这位恐怖分子头目已不复存在。”",
        "拜登表示：“正义已经得到伸张，这位恐怖分子头目已不复存在。”",
        line_key("10月11日道指开盘下跌22.46点，纳指下跌39.46点"),
    ]:
        assert is_guarded(key) and line_hash(key) & GUARD_BIT, key
    for key in ["欢迎关注“少数派”公众号，获取更多内容", line_key("第 2 页，共 5 页"), "(半岛电视台)"]:
        assert not is_guarded(key), key


def test_an_article_counts_its_lines_and_the_pairs_of_neighbouring_lines() -> None:
    nav, archive = line_hash("首页"), line_hash("归档")
    long, other = line_hash("长" * 70), line_hash("短" * 70)
    found = set(learnable_hashes(["首页", "1", "归档", "归档", "长" * 70, "短" * 70, "首页"]))
    # A list number does not part two lines; the same line twice is no pair; two long lines are
    # weighed by their length, not as a block.
    pairs = {pair_hash(nav, archive), pair_hash(archive, long), pair_hash(other, nav)}
    assert found == {nav, archive, long, other, *pairs}
    assert all(p & PAIR_BIT for p in pairs) and not nav & PAIR_BIT
    # A passage too long to learn parts its neighbours.
    assert set(learnable_hashes(["首页", "长" * 401, "归档"])) == {nav, archive}


def test_a_rule_learns_nothing_in_a_small_feed() -> None:
    rule = LearningRule(min_share=0.3, min_articles=5, min_feed_articles=10)
    assert rule.threshold(9) is None and rule.template_threshold(9) is None
    assert rule.threshold(10) == 5 and rule.threshold(20) == 6 and rule.threshold(100) == 30
    # A template needs 3 articles, or 10% of the feed's (not 4 of 30: 0.1 * 30 is 3.0000000000000004).
    assert [rule.template_threshold(n) for n in (10, 20, 30, 31, 100)] == [3, 3, 3, 4, 10]


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
