// Run with node: open a catalog read-only through DuckDB's Node client and through Evidence's
// connector (its streaming runQuery, in small batches), and count what each query returns.
//   node read_catalog.cjs CLIENT_DIR CATALOG QUERIES_JSON  ->  {"version", "node": {...}, "evidence": {...}}
const { createRequire } = require("node:module");
const [clientDir, catalog, queriesJson] = process.argv.slice(2);
const need = createRequire(`${clientDir}/package.json`);
const { DuckDBInstance, version } = need("@duckdb/node-api");
const runQuery = need("@evidence-dev/duckdb");
const { batchedAsyncGeneratorToArray } = need("@evidence-dev/db-commons");

const message = (err) => `error: ${String(err && err.message ? err.message : err).split("\n")[0]}`;

(async () => {
  const queries = JSON.parse(queriesJson);
  const node = {};
  const evidence = {};
  const instance = await DuckDBInstance.create(catalog, { access_mode: "READ_ONLY" });
  const con = await instance.connect();
  for (const query of queries) {
    try {
      const reader = await con.runAndReadAll(query);
      node[query] = reader.getRowObjectsJS().length;
    } catch (err) {
      node[query] = message(err);
    }
  }
  con.disconnectSync();
  instance.closeSync();
  for (const query of queries) {
    try {
      const result = await runQuery(query, { filename: catalog }, 7);
      evidence[query] = (await batchedAsyncGeneratorToArray(result.rows)).length;
    } catch (err) {
      evidence[query] = message(err);
    }
  }
  console.log(JSON.stringify({ version: version(), node, evidence }));
})().catch((err) => {
  console.error(message(err));
  process.exit(1);
});
