"""Run under pandas' or Spark's own environment: read every folder of a lake's Parquet tree the way
their users do, with the defaults, and say what was read.

    python read_tree.py pandas|spark LAKE  ->  {"version": ..., "articles": [[article_id, year, month], ...],
                                                "rows": {folder: n}}
"""

import json
import sys

reader, lake = sys.argv[1], sys.argv[2]
FOLDERS = ("articles", "quarantine", "runs", "boilerplate")


def _key(value):
    return None if value is None or value != value else int(value)  # NaN, pandas' missing float


if reader == "pandas":
    import pandas as pd

    frames = {folder: pd.read_parquet(f"{lake}/{folder}") for folder in FOLDERS}
    articles = frames["articles"]
    out = {
        "version": pd.__version__,
        "articles": [
            [a, _key(y), _key(m)]
            for a, y, m in zip(articles["article_id"], articles["year"], articles["month"], strict=True)
        ],
        "rows": {folder: len(frame) for folder, frame in frames.items()},
    }
else:
    import pyspark
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        frames = {folder: spark.read.parquet(f"{lake}/{folder}") for folder in FOLDERS}
        out = {
            "version": pyspark.__version__,
            "articles": [
                [r["article_id"], r["year"], r["month"]]
                for r in frames["articles"].select("article_id", "year", "month").collect()
            ],
            "rows": {folder: frame.count() for folder, frame in frames.items()},
        }
    finally:
        spark.stop()
print(json.dumps(out))
