#!/usr/bin/env bash
# What the writers write to the WAL: runs run.sh once (one script, one number of agents) and
# prints the WAL per write, how much of it is full-page images, and the relations that wrote
# the most. With CHECKPOINT=1 the run starts right after a checkpoint (every first change to a
# page then writes it whole: the worst case, the same for both sides of a comparison).
#
#   PGHOST=/tmp/scale PGPORT=5499 PGDATABASE=tickets PGPASSWORD=demo \
#     SCRIPT=claim_release AGENTS=32 DURATION=10 CHECKPOINT=1 benches/pgbench/wal.sh
#
# The WAL queries need a superuser (SUPERUSER, default postgres) and pg_walinspect, which is
# created for the run if missing and dropped again after it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
su() { PGUSER=${SUPERUSER:-postgres} psql -X -q -At "$@"; }
created=$(su -c "SELECT NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_walinspect')")
[ "$created" = t ] && su -c "CREATE EXTENSION pg_walinspect"
trap '[ "$created" = t ] && su -c "DROP EXTENSION pg_walinspect"' EXIT
[ "${CHECKPOINT:-0}" = 1 ] && su -c "CHECKPOINT"
start=$(su -c "SELECT pg_current_wal_lsn()")
out=$(AGENTS_LIST=${AGENTS:-32} SCRIPTS=${SCRIPT:-claim_release} DURATION=${DURATION:-10} \
    "$here/run.sh")
line=${out%%$'\n'*}
end=$(su -c "SELECT pg_current_wal_lsn()")
echo "$line"
writes=$(echo "$line" | awk -v d="${DURATION:-10}" '{printf "%d", $4 * d}')
su -F' ' -c "SELECT round(pg_wal_lsn_diff('$end', '$start') / 1024.0 / $writes, 1),
                    round(sum(fpi_size) / 1024.0 / $writes, 1)
             FROM pg_get_wal_stats('$start', '$end', false)" |
    awk '{printf "WAL per write: %s KB (full-page images %s KB)\n", $1, $2}'
# By relation: the relfilenode of each record's first block, as pg_class knows it now.
su -F' | ' -c "
    WITH r AS (SELECT record_length, fpi_length, resource_manager,
                      substring(block_ref FROM 'rel \d+/\d+/(\d+)')::oid AS node
               FROM pg_get_wal_records_info('$start', '$end'))
    SELECT coalesce(c.relname, r.resource_manager), count(*),
           round(sum(record_length) / 1e6, 1), round(sum(fpi_length) / 1e6, 1)
    FROM r LEFT JOIN pg_class c ON c.relfilenode = r.node
    GROUP BY 1 ORDER BY 3 DESC LIMIT ${TOP:-10}" |
    awk 'BEGIN {print "relation | records | MB | of which full pages, MB"} {print}'
