#!/usr/bin/env bash
# Writers beside live clients: claim/release and priority-change throughput and latency with 1,
# 8 and 32 concurrent agents, each a different person (bench_agent1 .. bench_agent32, one session
# each, as people work), for DURATION seconds. Every pgbench transaction is one write (one
# claim, one release or one priority change), so the latencies are per write.
#
#   PGHOST=/tmp/scale PGPORT=5499 PGDATABASE=tickets PGPASSWORD=demo benches/pgbench/run.sh
#
# Start the 100 live clients first, beside it, and the notifier:
#   tickets notifier --database-url "$URL" &
#   tickets bench --listeners 100 --database-url "$URL" &
# Prints one line per run: script, agents, writes/s, p50 and p99 latency (ms), failures.
# MODE=prepared sends each write as the client does (src/db/statements.rs prepares every
# statement once per connection); the default, simple, sends it as psql does.
# Needs benches/pgbench/setup.sql applied (as a superuser); teardown.sql removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DURATION=${DURATION:-20}
PREFIX=${PREFIX:-bench}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for script in ${SCRIPTS:-claim_release priority}; do
    for agents in ${AGENTS_LIST:-1 8 32}; do
        rm -rf "${out:?}"/*
        pids=()
        for k in $(seq 1 "$agents"); do
            mkdir "$out/$k"
            (cd "$out/$k" && exec pgbench -n -M "${MODE:-simple}" -U "${PREFIX}_agent$k" -f "$here/$script.sql" \
                -D phase=0 -D slice="$k" -c 1 -j 1 -T "$DURATION" -l >summary 2>&1) &
            pids+=($!)
        done
        status=0
        for p in "${pids[@]}"; do wait "$p" || status=1; done
        # A run may end between a claim and its release: each agent puts back what it holds of
        # its slice, so the pool is as it was (and the next run starts clean).
        for k in $(seq 1 "$agents"); do
            psql -X -q -At -U "${PREFIX}_agent$k" -c "SELECT count(release_ticket(p.id))
                FROM benchpg.pool p JOIN public.tickets t ON t.id = p.id
                WHERE t.agent_id IN (SELECT app.uid())" >/dev/null
        done
        [ "$status" = 0 ] || { cat "$out"/*/summary; exit 1; }
        # Per-transaction latency (µs) is the third column of pgbench's log; writes/s counts
        # every logged transaction over the run.
        failed=$(cat "$out"/*/summary | awk '/number of failed transactions/ {s += $5} END {print s + 0}')
        cat "$out"/*/pgbench_log.* | awk '{print $3}' | sort -n | awk -v s="$script" -v a="$agents" \
            -v d="$DURATION" -v f="$failed" '
            {v[NR]=$1} END {printf "%-14s %3d agents  %8.1f writes/s  p50 %7.2f ms  p99 %7.2f ms  failed %d\n",
                s, a, NR/d, v[int(NR*0.5)]/1000, v[int(NR*0.99)]/1000, f}'
    done
done
cat /proc/loadavg
