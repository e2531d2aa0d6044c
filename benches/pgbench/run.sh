#!/usr/bin/env bash
# Writers beside live clients: claim/release and priority-change throughput and latency at
# 1, 8 and 32 concurrent agent sessions (bench_agent1), each for DURATION seconds.
#
#   PGHOST=/tmp/scale PGPORT=5499 PGDATABASE=tickets benches/pgbench/run.sh
#
# Start the 100 live clients first, beside it (and, since migration 0012, the notifier):
#   tickets notifier --database-url "$URL" &
#   tickets bench --listeners 100 --database-url "$URL" &          # the client's listener
#   tickets bench --listeners 100 --raw-listen --database-url "$URL" &   # before 0012
# Prints one line per run: script, clients, transactions/s, p50 and p99 latency (ms).
# Needs benches/pgbench/setup.sql applied (as a superuser); teardown.sql removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DURATION=${DURATION:-20}
AGENT=${AGENT:-bench_agent1}
out=$(mktemp -d)
for script in claim_release priority; do
    for clients in 1 8 32; do
        (cd "$out" && rm -f pgbench_log.* &&
         pgbench -n -U "$AGENT" -f "$here/$script.sql" -c "$clients" -j "$((clients < 2 ? 1 : 2))" \
             -T "$DURATION" -l >"$out/summary" 2>&1) || { cat "$out/summary"; exit 1; }
        tps=$(awk '/^tps/ {print $3; exit}' "$out/summary")
        # Per-transaction latency (µs) is the third column of pgbench's log.
        cat "$out"/pgbench_log.* | awk '{print $3}' | sort -n | awk -v s="$script" -v c="$clients" -v t="$tps" '
            {v[NR]=$1} END {printf "%-14s %3d clients  %8.1f tps  p50 %8.2f ms  p99 %8.2f ms\n",
                s, c, t, v[int(NR*0.5)]/1000, v[int(NR*0.99)]/1000}'
    done
done
cat /proc/loadavg
rm -rf "$out"
