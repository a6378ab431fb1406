"""A deterministic generator of raw article files with the structures of real RSS archives.

The text is made up here (not copied from any archive); the structures are the ones found in
real files: front-matter variants, Sina boilerplate, stock mentions, <br>-only and tag-less
bodies, tables, images, proxies and placeholders. `make run` and the benchmarks use it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

from flows.defaults import SAMPLE_SIZE

_SUBJECTS = ["央行", "证监会", "多家券商", "新能源车企", "光伏龙头", "地方政府", "外资机构", "公募基金",
             "银行理财", "保险资金", "芯片企业", "物流公司", "消费品牌", "港股科技股", "期货市场"]  # fmt: skip
_VERBS = [
    "宣布",
    "表示",
    "预计",
    "披露",
    "调整",
    "加大",
    "收紧",
    "放宽",
    "上调",
    "下调",
    "布局",
    "回应",
]
_OBJECTS = ["三季度业绩", "信贷投放节奏", "海外市场扩张计划", "分红方案", "研发投入", "产能利用率",
            "融资成本", "监管新规", "渠道库存", "估值中枢", "现金流状况", "行业景气度"]  # fmt: skip
_TAILS = ["市场人士认为短期影响有限。", "分析师建议关注后续政策落地情况。", "相关板块午后明显走强。",
          "这一数据高于此前市场预期。", "业内普遍认为拐点已经出现。", "投资者情绪随之回暖。"]  # fmt: skip
_EN_WORDS = ["market", "shares", "revenue", "growth", "quarter", "investors", "guidance", "analysts",
             "rally", "outlook", "demand", "supply", "rates", "earnings", "forecast"]  # fmt: skip
_FEEDS = [
    ("金融", "新浪财经", "新浪财经－国內"),
    ("金融", "新浪财经", "新浪财经－国际"),
    ("金融", "证券时报网", "快讯"),
    ("金融", "雪球", "用户动态"),
    ("金融", "财联社", "电报"),
    ("金融", "finviz", "美股股票新闻"),
    ("科技", "示例科技", "首页更新"),
]
_EDITORS = ["林晓", "陈默", "周远", "郑一帆", "高歌"]
_STOCKS = ["sh600519", "sz300750", "sz000858", "sh601318", "sz002594", "sh688981", "sz300059"]
PROMO_IMAGE = "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"


def _sentence(rng: random.Random) -> str:
    return rng.choice(_SUBJECTS) + rng.choice(_VERBS) + rng.choice(_OBJECTS) + "，" + rng.choice(_TAILS)


def _paragraph(rng: random.Random) -> str:
    return "".join(_sentence(rng) for _ in range(rng.randint(1, 4)))


def _english(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_EN_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _title(rng: random.Random, i: int) -> str:
    kind = i % 17
    if kind == 3:
        return "' '"  # blank title
    if kind == 5:
        return "'\"" + rng.choice(_SUBJECTS) + '"' + rng.choice(_VERBS) + "！它''s 第" + str(i) + "号 📈'"
    if kind == 13:  # unescaped inner quotes: invalid YAML, read by the line-based fallback
        return '"' + rng.choice(_SUBJECTS) + ' says "buy" ' + rng.choice(_OBJECTS) + f' {i}"'
    if kind == 11:
        return "'" + _english(rng, 6).rstrip(".") + f" #{i}'"
    return "'" + rng.choice(_SUBJECTS) + rng.choice(_VERBS) + rng.choice(_OBJECTS) + f"（{i}）'"


def _date(rng: random.Random, i: int, base: dt.datetime) -> str:
    moment = base + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 540))
    kind = i % 13
    if kind == 7:
        return "Invalid Date"
    if kind in (2, 9):
        return moment.strftime("%Y-%m-%d %H:%M:%S")  # naive: read in the configured zone
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _sina_body(rng: random.Random, i: int) -> str:
    parts = ["<div>   "]
    codes = rng.sample(_STOCKS, k=rng.randint(0, 3))
    for n in range(rng.randint(2, 8)):
        text = _paragraph(rng)
        if n == 0 and codes:
            code = codes[0]
            text = (
                f'<span id="stock_{code}"><a href="https://finance.sina.com.cn/realstock/company/{code}/nc.shtml" '
                f'class="keyword">示例股份</a></span><span id="quote_{code}"></span>' + text
            )
        parts.append(f'<p cms-style="font-L">　　{text}</p>')
        if n == 1 and i % 4 == 0:
            parts.append(
                f'<div class="img_wrapper"><img src="https://img.example.com/news/{i}/{n}.jpg" alt>'
                '<span class="img_descr">示意图</span></div>'
            )
        if n == 1 and i % 9 == 0:
            parts.append("<p>　　</p><p>&nbsp;</p>")
    parts.append(f"<!-- news_keyword_pub,stock,{'&'.join(codes)} -->")
    parts.append("<!-- 正文下iframe -->\n<!-- 总声明-->\n<!-- 文末二维码 start -->")
    parts.append(
        "<style>\n.appendQr_wrap&#123;border:1px solid #E6E6E6;padding:8px;&#125;\n"
        ".appendQr_normal&#123;float:left;&#125;\n</style>\n"
        '<div class="clearfix appendQr_wrap"><div class="appendQr_normal">'
        f'<img src="{PROMO_IMAGE}" referrerpolicy="no-referrer"></div>'
        '<div class="appendQr_normal_txt">海量资讯、精准解读，尽在新浪财经APP</div></div>'
    )
    editor = rng.choice(_EDITORS)
    code = f" SF{rng.randint(1, 199):03d}" if i % 2 else " "
    parts.append(
        f'<!-- 编辑姓名及工作代码 -->\n<p class="article-editor">责任编辑：{editor}{code}</p>\n</div>'
    )
    return "\n".join(parts)


def _other_body(rng: random.Random, i: int) -> str:
    kind = i % 5
    if kind == 0:  # <br>-separated lines, no <p>
        lines = [_sentence(rng) for _ in range(rng.randint(2, 4))]
        return "<div>   \n<br> " + " <br> ".join(lines) + "  \n</div>"
    if kind == 1:  # bare text
        return "<div>   \n" + _paragraph(rng) + "  \n</div>"
    if kind == 2:  # table with header and rows
        rows = "".join(
            f"<tr><td>{rng.choice(_SUBJECTS)}</td><td>{rng.randint(1, 999)}.{rng.randint(0, 99):02d}</td></tr>"
            for _ in range(rng.randint(2, 5))
        )
        return (
            f"<div>   \n<p>{_paragraph(rng)}</p><table><tr><th>名称</th><th>数值</th></tr>{rows}</table>"
            f"<p>{_sentence(rng)}</p>\n</div>"
        )
    if kind == 3:  # English post with a link, a proxied image and a video
        return (
            f"<div>   \n<p>{_english(rng, 25)}</p><p>{_english(rng, 18)} "
            f'<a href="https://example.com/post/{i}">Read more</a></p>'
            f'<img src="https://cors.zfour.workers.dev/?http://img.example.org/{i}.png">'
            f'<iframe src="https://player.example.com/v/{i}"></iframe>\n</div>'
        )
    return (  # headings, list, blockquote, code
        f"<div>   \n<h2>{rng.choice(_OBJECTS)}</h2><ul><li>{_sentence(rng)}</li><li>{_sentence(rng)}</li></ul>"
        f"<blockquote>{_sentence(rng)}</blockquote><pre><code>x = {i}\nprint(x)</code></pre>\n</div>"
    )


def sample_article(i: int, seed: int = 0) -> tuple[str, bytes]:
    """The i-th sample file: (file name, bytes). Same (i, seed), same file."""
    rng = random.Random(seed * 1_000_003 + i)
    feed = _FEEDS[i % len(_FEEDS)]
    sina = feed[1] == "新浪财经"
    base = dt.datetime(2021, 1, 1)
    indent = "    " if i % 6 == 1 else " "
    head = (
        f"https://img.example.com/head/{i}.jpg"
        if sina and i % 3
        else f"https://picsum.photos/400/300?random={i}"
    )
    lines = ["", "---", f"title: {_title(rng, i)}", "categories: "]
    lines += [f"{indent}- {c}" for c in feed]
    if i % 8 != 4:  # sometimes headimg is missing entirely
        lines.append(f"headimg: '{PROMO_IMAGE if sina and i % 5 == 0 else head}'")
    lines += [
        f"author: {feed[1]}",
        "comments: false",
        f"date: {_date(rng, i, base)}",
        f"thumbnail: '{head if i % 8 != 4 else ''}'",
        "---",
        "",
    ]
    body = _sina_body(rng, i) if sina else _other_body(rng, i)
    return f"{i:06d}.md", ("\n".join(lines) + body + "\n            ").encode("utf-8")


def sample_articles(count: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    for i in range(count):
        yield sample_article(i, seed)


def write_sample(folder: Path, count: int = SAMPLE_SIZE, seed: int = 0) -> int:
    """Write the sample into folder (files are rewritten only when their bytes differ)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in sample_articles(count, seed):
        target = folder / name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    return count
