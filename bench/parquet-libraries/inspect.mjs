import { duck } from './duck.mjs';
const { q } = await duck();
const f = process.argv[2];
console.log(await q(`DESCRIBE SELECT * FROM '${f}'`));
console.log(await q(`SELECT row_group_id, count(*) n, any_value(compression) c FROM parquet_metadata('${f}') GROUP BY 1 ORDER BY 1`));
console.log(await q(`SELECT * FROM parquet_metadata('${f}') LIMIT 5`));
console.log(await q(`SELECT count(*) n, sum(distance) sd, sum(delay) sdel, count(origin) co, count(delay) cd FROM '${f}'`));
