from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from transforms.fields import (
    categories_of,
    comments_enabled_of,
    image_url_of,
    is_plausible_date,
    published_at_of,
    real_url,
    title_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 29 Apr 2022 07:51:46 GMT", dt.datetime(2022, 4, 29, 7, 51, 46, tzinfo=UTC)),
        ("Mon, 22 Mar 2021 13:00:00 +0800", dt.datetime(2021, 3, 22, 5, 0, tzinfo=UTC)),
        ("2021-08-26 11:06:13", dt.datetime(2021, 8, 26, 3, 6, 13, tzinfo=UTC)),
        (dt.datetime(2022, 9, 10, 5, 10, 12), dt.datetime(2022, 9, 9, 21, 10, 12, tzinfo=UTC)),
        (dt.date(2022, 9, 10), dt.datetime(2022, 9, 9, 16, 0, tzinfo=UTC)),
        ("Invalid Date", None),
        ("", None),
        ("yesterday-ish", None),
        (None, None),
        ("2021-02-30 10:00:00", None),
    ],
)
def test_published_at(value: object, expected: dt.datetime | None) -> None:
    assert published_at_of(value, SHANGHAI) == expected


def test_naive_dates_follow_the_configured_zone() -> None:
    got = published_at_of("2021-08-26 11:06:13", ZoneInfo("UTC"))
    assert got == dt.datetime(2021, 8, 26, 11, 6, 13, tzinfo=UTC)


def test_plausible_dates_have_fixed_bounds_not_the_clock() -> None:
    assert is_plausible_date(dt.datetime(2020, 1, 1, tzinfo=UTC))
    assert is_plausible_date(dt.datetime(2030, 1, 1, tzinfo=UTC))  # the future is the quality view's
    assert not is_plausible_date(dt.datetime(1989, 12, 31, tzinfo=UTC))
    assert not is_plausible_date(dt.datetime(2100, 1, 1, tzinfo=UTC))


def test_title() -> None:
    assert title_of(" ") == (None, False)
    assert title_of("a &amp; b") == ("a & b", False)
    assert title_of(12) == ("12", False)
    assert title_of("x" * 2000, 1000) == ("x" * 1000, True)


def test_categories_mapping() -> None:
    assert categories_of(["金融", "新浪财经", "新浪财经－国內"]) == [
        "金融",
        "新浪财经",
        "新浪财经－国內",
    ]
    assert categories_of("金融") == ["金融"]
    assert categories_of(None) == []
    assert categories_of(["a", None, ["b", "c"], {"x": 1}, 7]) == ["a", "b", "c", "7"]


def test_comments_flag() -> None:
    assert comments_enabled_of(False) is False
    assert comments_enabled_of("true") is True
    assert comments_enabled_of("maybe") is None


def test_image_urls() -> None:
    assert image_url_of("https://picsum.photos/400/300?random=6880") is None
    assert image_url_of("https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png") is None
    assert image_url_of("") is None
    assert image_url_of("data:image/png;base64,AAAA") is None
    assert (
        image_url_of("https://cors.zfour.workers.dev/?http://i0.hdslb.com/a.jpg")
        == "http://i0.hdslb.com/a.jpg"
    )
    assert image_url_of("https://n.sinaimg.cn/x/real.jpg") == "https://n.sinaimg.cn/x/real.jpg"
    assert real_url("https://example.com/a?b=1") == "https://example.com/a?b=1"
