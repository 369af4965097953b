#!/bin/bash
# Memory scaling check: peak RSS vs row count (is the writer's memory bounded by one row group?),
# plus a run with a capped V8 heap (--max-old-space-size) to separate live memory from GC slack.
cd "$(dirname "$0")"
for rows in 200000 1000000 3000000; do
  for c in "none NONE" "hyparquet-writer SNAPPY" "parquet-wasm-stream ZSTD" "dsnp SNAPPY"; do
    set -- $c
    r=$( { ROWS=$rows /usr/bin/time -f "RSS_KB=%M" node write.mjs $1 $2 out/scale.parquet; } 2>&1 )
    echo "rows=$rows lib=$1 codec=$2 $(echo "$r" | grep -o '"ms":[0-9]*') $(echo "$r" | grep -o 'RSS_KB=[0-9]*') $(echo "$r" | grep -o '"ok":[a-z]*')"
  done
done
for c in "hyparquet-writer SNAPPY" "parquet-wasm-stream ZSTD" "dsnp SNAPPY"; do
  set -- $c
  r=$( { ROWS=3000000 /usr/bin/time -f "RSS_KB=%M" node --max-old-space-size=96 write.mjs $1 $2 out/scale.parquet; } 2>&1 )
  echo "capped-heap-96MB rows=3000000 lib=$1 $(echo "$r" | grep -o '"ms":[0-9]*') $(echo "$r" | grep -o 'RSS_KB=[0-9]*') $(echo "$r" | grep -o '"ok":[a-z]*') $(echo "$r" | grep -m1 -o 'heap out of memory')"
done
