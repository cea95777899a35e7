#!/usr/bin/env bash
# Fill a Tern ClickHouse database with synthetic invocations, server-side, for query-latency
# benchmarks at a size `Store::ingest` cannot reach in reasonable time on a small machine
# (BENCHMARKS.md, "ClickHouse (issue 7)").
#
#   bench/clickhouse_synth.sh URL DATABASE ROWS [FUNCTIONS] [FIRST]
#
# The database must already exist with Tern's schema and a few real invocations of the same
# functions (the store bench's stats data makes both: `fn-0000`… and their `functions` rows):
# the `lines` blob of one stored row is copied into every generated row. Rows have the shape
# of the store bench's synthetic parts (`crates/tern-store/benches/store.rs`, `Gen::part`):
#   - ROWS invocations spread evenly over 30 days from 2026-03-01T00:00:00Z, in time order,
#     one INSERT … SELECT … FROM numbers() per day;
#   - function uniform over FUNCTIONS (default 5000) `fn-NNNN`; 5 log streams per function
#     and day, named like Lambda's (`2026/03/05/[$LATEST]<32 hex>`); UUID request ids;
#   - duration uniform 5–2005 ms (1/100 ms steps), billed = ceil(duration), 512 MB,
#     max memory 60–179 MB, one cold start in 50 with init 150–650 ms;
#   - 1% handler errors (outcome error, a KeyError with its message and a one-frame stack,
#     one more log line); no error groups are made for them (`group_key` NULL);
#   - rows are numbered from FIRST (default 0), which seeds their ids and values: a second
#     run with FIRST past the first run's rows adds as many again without a duplicate key;
#   - log_lines 4 (5 with an error), log_bytes 360–419 (+64 with an error), the same 4-line
#     LZ4 `lines` blob in every row (taken from a stored row).
set -euo pipefail
URL=${1:?URL}
DB=${2:?DATABASE}
ROWS=${3:?ROWS}
FUNCTIONS=${4:-5000}
FIRST=${5:-0}
EPOCH=1772323200000 # 2026-03-01T00:00:00Z
DAY=86400000
DAYS=30

q() { curl -sS --fail-with-body "$URL/" --data-binary "$1"; }

for d in $(seq 0 $((DAYS - 1))); do
    lo=$((ROWS * d / DAYS))
    hi=$((ROWS * (d + 1) / DAYS))
    q "INSERT INTO ${DB}.invocations (log_group, log_stream, request_id, function, day, t,
        start_ms, end_ms, complete, outcome, cold, cold_flag, signals, version, duration_ms,
        billed_ms, memory_mb, max_memory_mb, init_ms, restore_ms, billed_restore_ms, status,
        report_error_type, xray_trace_id, report_format, error_type, error_message,
        error_stack, runtime_version, init_report_ms, lines, log_lines, log_bytes, group_key,
        occ_seq, occ_pos, ver)
    SELECT
        concat('/aws/lambda/', fname) AS log_group,
        concat(replaceAll(toString(dday), '-', '/'), '/[\$LATEST]',
               lower(hex(sipHash128(concat(fname, '/', toString(dday), '/', toString(h2 % 5)))))) AS log_stream,
        lower(concat(substring(u, 1, 8), '-', substring(u, 9, 4), '-4', substring(u, 14, 3), '-a',
                     substring(u, 18, 3), '-', substring(u, 21, 12))) AS request_id,
        fname AS function,
        dday AS day,
        ts AS t,
        toNullable(ts) AS start_ms,
        toNullable(ts + toInt64(billed)) AS end_ms,
        toUInt8(1) AS complete,
        toUInt8(err) AS outcome,
        toUInt8(cold) AS cold,
        toUInt8(0) AS cold_flag,
        toUInt32(err) AS signals,
        toNullable('\$LATEST') AS version,
        toNullable(dur) AS duration_ms,
        toNullable(billed) AS billed_ms,
        toNullable(toInt64(512)) AS memory_mb,
        toNullable(toInt64(60 + h3 % 120)) AS max_memory_mb,
        if(cold, 150 + (h4 % 50000) / 100, NULL) AS init_ms,
        CAST(NULL AS Nullable(Float64)) AS restore_ms,
        CAST(NULL AS Nullable(Float64)) AS billed_restore_ms,
        CAST(NULL AS Nullable(String)) AS status,
        CAST(NULL AS Nullable(String)) AS report_error_type,
        CAST(NULL AS Nullable(String)) AS xray_trace_id,
        toUInt8(0) AS report_format,
        if(err, 'KeyError', NULL) AS error_type,
        if(err, concat('''order-', toString(h4 % 1000000), ''''), NULL) AS error_message,
        if(err, '[\"File \\\\\"/var/task/app.py\\\\\", line 12, in handler\"]', NULL) AS error_stack,
        CAST(NULL AS Nullable(String)) AS runtime_version,
        CAST(NULL AS Nullable(Float64)) AS init_report_ms,
        blob AS lines,
        toInt64(4 + err) AS log_lines,
        toInt64(360 + h4 % 60 + 64 * err) AS log_bytes,
        CAST(NULL AS Nullable(Int64)) AS group_key,
        toInt64(0) AS occ_seq,
        toInt64(0) AS occ_pos,
        toUInt64(1) AS ver
    FROM (
        SELECT
            k,
            intHash64(k + 1000000000000) AS h1,
            intHash64(h1) AS h2,
            intHash64(h2) AS h3,
            intHash64(h3) AS h4,
            intHash64(h4) AS h5,
            concat('fn-', substring(toString(10000 + h1 % ${FUNCTIONS}), 2)) AS fname,
            toInt64(${EPOCH}) + intDiv(toInt64(k - ${FIRST}) * ${DAY} * ${DAYS}, ${ROWS}) AS ts,
            toDate(intDiv(ts, 1000)) AS dday,
            hex(sipHash128(toString(k))) AS u,
            5 + (h2 % 200000) / 100 AS dur,
            ceil(dur) AS billed,
            h5 % 50 = 0 AS cold,
            h5 % 100 = 1 AS err,
            (SELECT any(lines) FROM ${DB}.invocations WHERE log_lines = 4) AS blob
        FROM (SELECT number + ${lo} + ${FIRST} AS k FROM numbers($((hi - lo))))
    )"
    echo "day $d: rows $lo..$hi"
done
