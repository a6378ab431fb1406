"""Run under an older DuckDB client: open a catalog read-only and count what each query returns.

    python read_catalog.py CATALOG QUERIES_JSON   ->  {"version": ..., "rows": {query: n | "error: ..."}}

Rows are fetched, not only counted, so that every column's type is converted by the client
(TIMESTAMP WITH TIME ZONE needs pytz before DuckDB 2.0.1).
"""

import json
import sys

import duckdb

catalog, queries = sys.argv[1], json.loads(sys.argv[2])
con = duckdb.connect(catalog, read_only=True)
rows = {}
for query in queries:
    try:
        rows[query] = len(con.execute(query).fetchall())
    except Exception as exc:
        rows[query] = f"error: {type(exc).__name__}: {str(exc).splitlines()[0]}"
print(json.dumps({"version": duckdb.__version__, "rows": rows}))
