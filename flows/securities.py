"""A user's securities list: a CSV or Parquet file of code, name and aliases, read once a run."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

import polars as pl

from transforms.stocks import listed_code

COLUMNS = ("code", "name", "aliases")  # aliases optional: "|"-separated in a CSV, a list in Parquet


def securities_list(path: Path) -> dict[str, str]:
    """Each name and alias of the list, NFC, with its code in Sina's style (sh600519, hk00700,
    gb_aapl). A name given two codes is an error: the list must say which company it means."""
    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValueError(f"securities list {path}: {str(exc).splitlines()[0]}") from None
    missing = [c for c in COLUMNS[:2] if c not in frame.columns]
    if missing:
        raise ValueError(
            f"securities list {path} needs the columns code and name (missing: {', '.join(missing)})"
        )
    if "aliases" not in frame.columns:
        frame = frame.with_columns(aliases=pl.lit(None, pl.String()))
    out: dict[str, str] = {}
    for line, (raw_code, name, more) in enumerate(frame.select(COLUMNS).iter_rows(), 2):
        code = listed_code(str(raw_code or ""))
        if code is None:
            raise ValueError(
                f"securities list {path}, row {line}: {raw_code!r} is not a stock code (sh600519, hk00700, gb_aapl)"
            )
        names = [name, *(more if isinstance(more, list) else str(more or "").split("|"))]
        for written in names:
            key = unicodedata.normalize("NFC", str(written or "").strip())
            if len(key) < 2:
                continue
            if out.get(key, code) != code:
                raise ValueError(
                    f"securities list {path}, row {line}: {key!r} is given two codes ({out[key]}, {code})"
                )
            out[key] = code
    return out


def securities_digest(names: dict[str, str]) -> str:
    """What the lake records of the list (a row setting): its content, not its path."""
    return hashlib.sha256(json.dumps(sorted(names.items()), ensure_ascii=False).encode()).hexdigest()[:16]
