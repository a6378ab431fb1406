from __future__ import annotations

import pytest

from transforms.decoding import decoded_text
from transforms.reasons import Quarantined, Reason


def test_utf8_with_bom_and_crlf() -> None:
    got = decoded_text("\ufeff---\r\ntitle: 标题\r\n---\r\n".encode())
    assert got.text == "---\ntitle: 标题\n---\n"
    assert not got.non_utf8


def test_gb18030_is_decoded_and_flagged() -> None:
    got = decoded_text("---\ntitle: 中文标题\n---\n".encode("gb18030"))
    assert "中文标题" in got.text
    assert got.non_utf8


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", Reason.EMPTY_FILE),
        (b"  \n\t\n", Reason.EMPTY_FILE),
        (b"---\x00\x01binary", Reason.BINARY),
        (bytes(range(1, 32)) * 50, Reason.BINARY),
    ],
)
def test_refused_bytes(raw: bytes, reason: Reason) -> None:
    with pytest.raises(Quarantined) as info:
        decoded_text(raw)
    assert info.value.reason is reason
