#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of the pane queries, warm, as the real login roles (RLS) and as a
# superuser without RLS (the floor: the same query plus the filter the policy would apply).
#
# Needs a database seeded by `tickets seed --prefix bench ...`, psql on PATH, python3.
# Connection: the usual libpq variables (PGHOST, PGPORT, PGDATABASE); SUPERUSER names the
# superuser (default postgres); the people log in as <PREFIX>_agent1 (the busiest agent),
# <PREFIX>_customer1 (the busiest customer) and <PREFIX>_admin1 (password from PGPASSWORD or ~/.pgpass, or trust auth on a throwaway cluster).
#
#   PGHOST=/tmp/explain PGPORT=5488 PGDATABASE=tickets benches/sql/explain.sh
#
# Each case runs in one session per role: WARMUP executions are discarded (a new session pays
# once for loading plpgsql and planning app.uid()), then RUNS executions are measured; the
# table shows the median "Execution Time" and the buffers of the last run. Every plan, in
# text form, lands in $OUT/<case>.<who>.plan.
# Result check: each RLS query and its floor must return the same rows (md5 of the rows).
#
# EXTRA=1 adds the queries the TUI itself sent at commit ca56fe8 (src/db/repo.rs), prepared
# with parameters and planned per call (custom plans), as tokio-postgres does.
# The agent queues are also measured through public.agent_queue() (cases fn_*), as the
# client reads them.
set -euo pipefail

SUPERUSER=${SUPERUSER:-postgres}
PREFIX=${PREFIX:-bench}
RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}
EXTRA=${EXTRA:-0}
OUT=${OUT:-${TMPDIR:-/tmp}/tickets-explain}
mkdir -p "$OUT"
: >"$OUT/results.tsv"

AGENT=${PREFIX}_agent1 CUSTOMER=${PREFIX}_customer1 ADMIN=${PREFIX}_admin1

q() { psql -X -At -v ON_ERROR_STOP=1 -U "$SUPERUSER" -c "$1"; }

# The people and the rows the panes are opened on.
A=$(q "SELECT id FROM public.users WHERE login = '$AGENT'")
C=$(q "SELECT id FROM public.users WHERE login = '$CUSTOMER'")
M=$(q "SELECT id FROM public.users WHERE login = '$ADMIN'")
[ -n "$A" ] && [ -n "$C" ] && [ -n "$M" ] || { echo "seed first: no $AGENT/$CUSTOMER/$ADMIN" >&2; exit 1; }
# The heavy customer's ticket with the longest timeline (ties: the newest).
TC=$(q "SELECT h.ticket_id FROM public.ticket_status_history h JOIN public.tickets t ON t.id = h.ticket_id
        WHERE t.customer_id = '$C' GROUP BY h.ticket_id, t.updated_at
        ORDER BY count(*) DESC, t.updated_at DESC LIMIT 1")
# A ticket assigned to the heavy agent, handed to them by another agent (a long timeline).
TA=$(q "SELECT h.ticket_id FROM public.ticket_status_history h JOIN public.tickets t ON t.id = h.ticket_id
        WHERE t.agent_id = '$A' GROUP BY h.ticket_id, t.updated_at
        ORDER BY count(*) DESC, t.updated_at DESC LIMIT 1")
# The audit feed's second page starts after the first page's last row.
CURSOR=$(q "SELECT format('%L::timestamptz, %L::uuid', changed_at, id) FROM (
              SELECT changed_at, id FROM public.ticket_status_history
              ORDER BY changed_at DESC, id DESC LIMIT 100) p ORDER BY changed_at, id LIMIT 1")
echo "agent $AGENT $A; customer $CUSTOMER $C; admin $ADMIN $M"
echo "customer's ticket $TC; agent's ticket $TA; audit cursor ($CURSOR)"
echo "runs: $RUNS measured after $WARMUP warm-up; plans in $OUT"

COLS="id, subject, status, priority, customer_id, agent_id, created_at, updated_at"
QUEUE_ORDER="ORDER BY priority DESC, created_at, id LIMIT 50"
LIST_ORDER="ORDER BY updated_at DESC, id DESC LIMIT 50"
AUDIT_ORDER="ORDER BY changed_at DESC, id DESC LIMIT 100"

# measure CASE WHO LOGIN TARGET [SETUP] [WARMUP]: explain TARGET as LOGIN, RUNS times.
measure() {
    local name=$1 who=$2 login=$3 target=$4 setup=${5:-} warm=${6:-$WARMUP}
    local base="$OUT/$name.$who" i
    {
        echo "SET client_min_messages = warning;"
        [ -n "$setup" ] && echo "$setup;"
        for ((i = 0; i < warm + RUNS; i++)); do
            echo "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) $target;"
        done
        echo "\\echo ---text---"
        echo "EXPLAIN (ANALYZE, BUFFERS) $target;"
    } >"$base.sql"
    psql -X -q -At -v ON_ERROR_STOP=1 -U "$login" -f "$base.sql" >"$base.out"
    # For plain queries, the rows themselves (floor and RLS must agree).
    local sum=-
    if [ -z "$setup" ]; then
        sum=$(psql -X -At -v ON_ERROR_STOP=1 -U "$login" \
              -c "SELECT count(*) || ':' || left(md5(coalesce(string_agg(r::text, '|'), '')), 8) FROM ($target) r")
    fi
    python3 - "$base.out" "$base.plan" "$name" "$who" "$login" "$warm" "$sum" >>"$OUT/results.tsv" <<'PY'
import json, statistics, sys
out, plan_path, name, who, login, warm, rows = sys.argv[1:8]
text = open(out).read()
json_part, _, plan_text = text.partition("---text---\n")
open(plan_path, "w").write(plan_text)
dec, docs, i = json.JSONDecoder(), [], 0
while True:
    while i < len(json_part) and json_part[i].isspace():
        i += 1
    if i >= len(json_part):
        break
    doc, i = dec.raw_decode(json_part, i)
    docs.append(doc[0])
docs = docs[int(warm):]
ex = [d["Execution Time"] for d in docs]
pl = [d["Planning Time"] for d in docs]
last = docs[-1]["Plan"]
def shape(node):
    s = node["Node Type"]
    if "Index Name" in node:
        s += " " + node["Index Name"]
    elif "Relation Name" in node:
        s += " " + node["Relation Name"]
    if node.get("Parent Relationship") in ("InitPlan", "SubPlan"):
        s = node.get("Subplan Name", "sub") + ":" + s
    kids = [shape(k) for k in node.get("Plans", [])]
    return s + ("(" + ", ".join(kids) + ")" if kids else "")
print("\t".join([name, who, login, f"{statistics.median(ex):.3f}", f"{min(ex):.3f}",
                 f"{max(ex):.3f}", f"{statistics.median(pl):.3f}",
                 str(last.get("Shared Hit Blocks", 0)), str(last.get("Shared Read Blocks", 0)),
                 str(last.get("Actual Rows", 0)), rows, shape(last)]))
PY
}

# pair CASE LOGIN RLS_SQL FLOOR_SQL: the query under RLS, and its floor as the superuser.
pair() {
    measure "$1" rls "$2" "$3"
    measure "$1" floor "$SUPERUSER" "$4"
}

# The fixed price of identity: one (SELECT app.uid()) InitPlan, paid by every RLS statement.
pair identity "$AGENT" "SELECT (SELECT app.uid())" "SELECT '$A'::uuid"
pair queue_mine "$AGENT" \
    "SELECT $COLS FROM public.tickets WHERE agent_id = '$A' $QUEUE_ORDER" \
    "SELECT $COLS FROM public.tickets WHERE agent_id = '$A' $QUEUE_ORDER"
pair queue_unassigned "$AGENT" \
    "SELECT $COLS FROM public.tickets WHERE agent_id IS NULL $QUEUE_ORDER" \
    "SELECT $COLS FROM public.tickets WHERE agent_id IS NULL AND status = 'open' $QUEUE_ORDER"
# "All I can see", newest activity first (the client's All queue): RLS alone does the filtering.
pair queue_all_visible "$AGENT" \
    "SELECT $COLS FROM public.tickets $LIST_ORDER" \
    "SELECT $COLS FROM public.tickets WHERE agent_id = '$A' OR (agent_id IS NULL AND status = 'open') $LIST_ORDER"
pair customer_list "$CUSTOMER" \
    "SELECT $COLS FROM public.tickets WHERE customer_id = '$C' $LIST_ORDER" \
    "SELECT $COLS FROM public.tickets WHERE customer_id = '$C' $LIST_ORDER"
pair customer_list_rls_only "$CUSTOMER" \
    "SELECT $COLS FROM public.tickets $LIST_ORDER" \
    "SELECT $COLS FROM public.tickets WHERE customer_id = '$C' $LIST_ORDER"
pair history_customer "$CUSTOMER" \
    "SELECT * FROM public.ticket_status_history WHERE ticket_id = '$TC' ORDER BY seq" \
    "SELECT * FROM public.ticket_status_history WHERE ticket_id = '$TC' ORDER BY seq"
pair history_agent "$AGENT" \
    "SELECT * FROM public.ticket_status_history WHERE ticket_id = '$TA' ORDER BY seq" \
    "SELECT * FROM public.ticket_status_history WHERE ticket_id = '$TA' ORDER BY seq"
pair history_admin "$ADMIN" \
    "SELECT * FROM public.ticket_status_history WHERE ticket_id = '$TC' ORDER BY seq" \
    "SELECT * FROM public.ticket_status_history WHERE ticket_id = '$TC' ORDER BY seq"
pair audit_first "$ADMIN" \
    "SELECT * FROM public.ticket_status_history $AUDIT_ORDER" \
    "SELECT * FROM public.ticket_status_history $AUDIT_ORDER"
pair audit_next "$ADMIN" \
    "SELECT * FROM public.ticket_status_history WHERE (changed_at, id) < ($CURSOR) $AUDIT_ORDER" \
    "SELECT * FROM public.ticket_status_history WHERE (changed_at, id) < ($CURSOR) $AUDIT_ORDER"
pair audit_person "$ADMIN" \
    "SELECT * FROM public.ticket_status_history WHERE changed_by = '$A' $AUDIT_ORDER" \
    "SELECT * FROM public.ticket_status_history WHERE changed_by = '$A' $AUDIT_ORDER"
pair admin_list "$ADMIN" \
    "SELECT $COLS FROM public.tickets $LIST_ORDER" \
    "SELECT $COLS FROM public.tickets $LIST_ORDER"
# An agent's own tickets as a psql user writes it: newest activity first, closed ones too.
pair agent_own_recent "$AGENT" \
    "SELECT $COLS FROM public.tickets WHERE agent_id = '$A' $LIST_ORDER" \
    "SELECT $COLS FROM public.tickets WHERE agent_id = '$A' $LIST_ORDER"
# The open pool as a psql user writes it (the policy adds nothing but the identity check).
pair pool_recent "$AGENT" \
    "SELECT $COLS FROM public.tickets WHERE agent_id IS NULL AND status = 'open' $LIST_ORDER" \
    "SELECT $COLS FROM public.tickets WHERE agent_id IS NULL AND status = 'open' $LIST_ORDER"
# count(*) per role, as a psql user writes it (RLS alone decides what is counted).
pair count_agent "$AGENT" \
    "SELECT count(*) FROM public.tickets" \
    "SELECT count(*) FROM public.tickets WHERE agent_id = '$A' OR (agent_id IS NULL AND status = 'open')"
pair count_agent_own "$AGENT" \
    "SELECT count(*) FROM public.tickets WHERE agent_id = '$A'" \
    "SELECT count(*) FROM public.tickets WHERE agent_id = '$A'"
pair count_pool "$AGENT" \
    "SELECT count(*) FROM public.tickets WHERE agent_id IS NULL AND status = 'open'" \
    "SELECT count(*) FROM public.tickets WHERE agent_id IS NULL AND status = 'open'"
pair count_customer "$CUSTOMER" \
    "SELECT count(*) FROM public.tickets" \
    "SELECT count(*) FROM public.tickets WHERE customer_id = '$C'"
pair count_admin "$ADMIN" \
    "SELECT count(*) FROM public.tickets" \
    "SELECT count(*) FROM public.tickets"
# The counts the client shows (ticket_counts(), a SECURITY DEFINER function), per role.
if [ -n "$(q "SELECT to_regproc('public.ticket_counts')")" ]; then
    pair fn_counts_agent "$AGENT" "SELECT * FROM public.ticket_counts()" \
        "SELECT (SELECT count(*) FROM public.tickets WHERE agent_id = '$A' AND status IN ('open', 'in_progress', 'waiting_on_customer')), (SELECT count(*) FROM public.tickets WHERE agent_id IS NULL AND status = 'open'), (SELECT count(*) FROM public.tickets WHERE agent_id = '$A' OR (agent_id IS NULL AND status = 'open'))"
    pair fn_counts_customer "$CUSTOMER" "SELECT * FROM public.ticket_counts()" \
        "SELECT count(*), 0::bigint, count(*) FROM public.tickets WHERE customer_id = '$C'"
    pair fn_counts_admin "$ADMIN" "SELECT * FROM public.ticket_counts()" \
        "SELECT 0::bigint, (SELECT count(*) FROM public.tickets WHERE agent_id IS NULL AND status = 'open'), (SELECT count(*) FROM public.tickets)"
fi

# The agent queues through the SECURITY DEFINER function agent_queue() (migration 0005), when
# present, next to the same floors.
if [ -n "$(q "SELECT to_regproc('public.agent_queue')")" ]; then
    FCOLS="id, subject, status, priority, customer_id, agent_id, created_at, updated_at"
    pair fn_queue_mine "$AGENT" "SELECT $FCOLS FROM public.agent_queue('mine', 50)" \
        "SELECT $COLS FROM public.tickets WHERE agent_id = '$A' AND status IN ('open', 'in_progress', 'waiting_on_customer') $QUEUE_ORDER"
    pair fn_queue_unassigned "$AGENT" "SELECT $FCOLS FROM public.agent_queue('unassigned', 50)" \
        "SELECT $COLS FROM public.tickets WHERE agent_id IS NULL AND status = 'open' $QUEUE_ORDER"
fi

if [ "$EXTRA" = 1 ]; then
    # The TUI's own statements as of commit ca56fe8 (src/db/repo.rs), first page. tokio-postgres
    # prepares a new statement for every call, so each execution gets a custom plan.
    ROWC="t.id, t.subject, t.status::text, t.priority::text, t.customer_id, t.agent_id, \
(SELECT n.display_name FROM public.person_names() n WHERE n.id = t.agent_id), t.created_at, t.updated_at"
    SEARCH="(\$5::text = '' OR t.subject ILIKE \$5 OR t.description ILIKE \$5)"
    URGENT="SELECT $ROWC FROM public.tickets t WHERE %s AND $SEARCH \
AND (\$3::timestamptz IS NULL OR t.priority < \$6::text::public.ticket_priority \
OR (t.priority = \$6::text::public.ticket_priority AND (t.created_at, t.id) > (\$3, \$4))) \
ORDER BY t.priority DESC, t.created_at, t.id LIMIT \$2"
    RECENT="SELECT $ROWC FROM public.tickets t WHERE %s AND $SEARCH \
AND (\$3::timestamptz IS NULL OR (t.updated_at, t.id) < (\$3, \$4)) \
ORDER BY t.updated_at DESC, t.id DESC LIMIT \$2"
    CUSTOM="SET plan_cache_mode = force_custom_plan;"
    TYPES="(uuid, bigint, timestamptz, uuid, text, text)"
    ARGS6="('%s', 100, NULL, NULL, '', 'normal')"
    ARGS5="('%s', 100, NULL, NULL, '')"
    # shellcheck disable=SC2059
    {
    measure client_queue_mine rls "$AGENT" "EXECUTE q$(printf "$ARGS6" "$A")" \
        "$CUSTOM PREPARE q$TYPES AS $(printf "$URGENT" "t.agent_id = \$1 AND t.status IN ('open', 'in_progress', 'waiting_on_customer')")"
    measure client_queue_unassigned rls "$AGENT" "EXECUTE q$(printf "$ARGS6" "$A")" \
        "$CUSTOM PREPARE q$TYPES AS $(printf "$URGENT" "t.agent_id IS NULL AND t.status = 'open' AND \$1::uuid IS NOT NULL")"
    measure client_customer_list rls "$CUSTOMER" "EXECUTE q$(printf "$ARGS5" "$C")" \
        "$CUSTOM PREPARE q(uuid, bigint, timestamptz, uuid, text) AS $(printf "$RECENT" "t.customer_id = \$1")"
    measure client_admin_all rls "$ADMIN" "EXECUTE q$(printf "$ARGS5" "$M")" \
        "$CUSTOM PREPARE q(uuid, bigint, timestamptz, uuid, text) AS $(printf "$RECENT" "\$1::uuid IS NOT NULL")"
    }
    HCOLS="h.id, h.ticket_id, h.seq, h.kind::text, h.old_status::text, h.new_status::text, \
oa.display_name, na.display_name, h.old_priority::text, h.new_priority::text, h.changed_by, \
coalesce(cb.display_name, 'someone'), h.changed_at"
    HJOINS="LEFT JOIN names oa ON oa.id = h.old_agent_id \
LEFT JOIN names na ON na.id = h.new_agent_id LEFT JOIN names cb ON cb.id = h.changed_by"
    HIST="$CUSTOM PREPARE q(uuid) AS WITH names AS (SELECT * FROM public.person_names()) \
SELECT $HCOLS FROM public.ticket_status_history h $HJOINS WHERE h.ticket_id = \$1 ORDER BY h.seq"
    measure client_history_customer rls "$CUSTOMER" "EXECUTE q('$TC')" "$HIST"
    measure client_history_agent rls "$AGENT" "EXECUTE q('$TA')" "$HIST"
    measure client_history_admin rls "$ADMIN" "EXECUTE q('$TC')" "$HIST"
    AUDIT="$CUSTOM PREPARE q(timestamptz, uuid, text, text, text, timestamptz, timestamptz, bigint) AS \
WITH names AS (SELECT * FROM public.person_names()) \
SELECT $HCOLS, t.subject FROM public.ticket_status_history h \
JOIN public.tickets t ON t.id = h.ticket_id $HJOINS \
WHERE (\$1::timestamptz IS NULL OR (h.changed_at, h.id) < (\$1, \$2)) \
AND (\$3 = '' OR h.changed_by IN (SELECT u.id FROM public.users u WHERE u.display_name ILIKE \$3 OR u.login ILIKE \$3)) \
AND (\$4 = '' OR t.id::text LIKE ltrim(\$4, '%') OR t.subject ILIKE \$4) \
AND (\$5 = '' OR h.kind::text = \$5) \
AND (\$6::timestamptz IS NULL OR h.changed_at >= \$6) \
AND (\$7::timestamptz IS NULL OR h.changed_at < \$7) \
ORDER BY h.changed_at DESC, h.id DESC LIMIT \$8"
    measure client_audit_first rls "$ADMIN" "EXECUTE q(NULL, NULL, '', '', '', NULL, NULL, 100)" "$AUDIT"
    measure client_audit_next rls "$ADMIN" "EXECUTE q($CURSOR, '', '', '', NULL, NULL, 100)" "$AUDIT"
    measure client_audit_person rls "$ADMIN" "EXECUTE q(NULL, NULL, '%${AGENT}%', '', '', NULL, NULL, 100)" "$AUDIT"
fi

# The table: each RLS figure next to its floor.
python3 - "$OUT/results.tsv" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
floor = {r[0]: r for r in rows if r[1] == "floor"}
print()
print("| query | as | median ms (min-max) | plan ms | buffers hit/read | rows | floor ms | floor buffers | ratio | same rows | plan |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|:-:|---|")
for r in rows:
    if r[1] != "rls":
        continue
    f = floor.get(r[0])
    fl = f"{float(f[3]):.3f}" if f else "-"
    fb = f"{f[7]}/{f[8]}" if f else "-"
    ratio = f"{float(r[3]) / float(f[3]):.1f}x" if f else "-"
    same = "-" if not f or r[10] == "-" else ("yes" if r[10] == f[10] else "NO")
    print(f"| {r[0]} | {r[2]} | {float(r[3]):.3f} ({r[4]}-{r[5]}) | {r[6]} | {r[7]}/{r[8]} | {r[9]} "
          f"| {fl} | {fb} | {ratio} | {same} | {r[11]} |")
PY
