import { DuckDBInstance } from '@duckdb/node-api';
export async function duck() {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  return { con, q: async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS() };
}
