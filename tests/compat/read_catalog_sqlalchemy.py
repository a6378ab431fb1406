"""As Superset reads a catalog: SQLAlchemy and duckdb-engine, read-only (see read_catalog.py)."""

import json
import sys

import duckdb
import sqlalchemy

catalog, queries = sys.argv[1], json.loads(sys.argv[2])
engine = sqlalchemy.create_engine(f"duckdb:///{catalog}", connect_args={"read_only": True})
rows = {}
with engine.connect() as con:
    names = set(sqlalchemy.inspect(con).get_view_names())
    for query in queries:
        try:
            rows[query] = len(con.execute(sqlalchemy.text(query)).fetchall())
        except Exception as exc:
            rows[query] = f"error: {type(exc).__name__}: {str(exc).splitlines()[0]}"
print(json.dumps({"version": duckdb.__version__, "rows": rows, "views": sorted(names)}))
