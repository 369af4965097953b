#!/bin/bash
# Baseline peak RSS of node + importing each library (no I/O)
cd "$(dirname "$0")"
for m in "" "import('hyparquet').then(()=>import('hyparquet-compressors'))" "import('parquet-wasm').then(()=>import('apache-arrow'))" "require('dsnp188')" "require('parquetjs-lite')" "import('hyparquet-writer')"; do
  /usr/bin/time -f "%M kB  <- node -e \"$m\"" node -e "$m" 2>&1 | tail -1
done
