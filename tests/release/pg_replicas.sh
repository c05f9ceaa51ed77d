# pg_replicas.sh — two `mlxc serve --release` replicas sharing one rollout
# through a PostgreSQL store: PostgreSQL (Debian's package, installed by
# `make deps`) is started on loopback in a temporary directory; both
# replicas route every bucket key to the same arm; the rules advance each
# step once and promote once whichever replica decides, even after one
# replica is killed with SIGKILL; status and history read the same journal;
# the password never appears in output; an unreachable server, another
# spec's journal and UPDATE/DELETE on the journal are refused. Last,
# tests/journal_crash.c runs its 64 rounds of SIGKILLs against the server.
. tests/serve/lib.inc   # users(); its trap is replaced below
ROOT=$PWD
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || fail "no PostgreSQL server (make deps installs postgresql)"
# initdb refuses root: the cluster belongs to postgres when the test runs as root
PGD=$(mktemp -d /tmp/mlxc-pg.XXXXXX)
as_db() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$PGD"
A_PID="" B_PID=""
cleanup() {
  for p in $A_PID $B_PID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -f "$PGD/data/postmaster.pid" ] && as_db "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate stop > /dev/null 2>&1
  rm -rf "$T" "$PGD"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
as_db "$PGBIN/initdb" -D "$PGD/data" -U mlxc --auth=trust -E UTF8 > "$PGD/initdb.log" 2>&1 ||
  { cat "$PGD/initdb.log"; fail "initdb"; }
# a free port: try a few at random (another cluster may hold one)
started=""
for try in 1 2 3 4 5 6 7 8; do
  PGPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
  if as_db "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 60 \
       -o "-p $PGPORT -k $PGD -c listen_addresses=127.0.0.1 -c fsync=off" start > /dev/null 2>&1; then
    started=1
    break
  fi
done
[ -n "$started" ] || { cat "$PGD/server.log"; fail "PostgreSQL did not start"; }
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U mlxc -d postgres -c 'CREATE DATABASE rollout' ||
  fail "createdb"
STORE="postgresql://mlxc@127.0.0.1:$PGPORT/rollout"
psql_rollout() { "$PGBIN/psql" -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U mlxc -d rollout -c "$1"; }

sh tests/release/setup.inc "$T" || fail "setup failed"
cd "$T" || exit 1
cat > s.mlx <<'SPEC'
import "train.mlx"

release canary {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id salt "s1"
  check every 1s min 5 requests
  step 30% manual
  step 50% for 400 requests
  step 70% for 400 requests
  step 100%
  promote when live.error_rate <= 0.9
  rollback when live.error_rate > 0.95
}
SPEC
# nothing started yet: status reads an empty store (the tables are made by start)
"$MLXC" release s.mlx canary status --store "$STORE" > st0.txt 2>&1 || { cat st0.txt; fail "status before start"; }
grep -q 'not started' st0.txt || { cat st0.txt; fail "status before start: $(cat st0.txt)"; }
"$MLXC" release s.mlx canary start --store "$STORE" --who ci --why test > start.log 2>&1 ||
  { cat start.log; fail "start"; }

# replica NAME — serves the release on a free port; sets NAME_PID and NAME_URL
replica() {
  rm -f "port.$1"
  "$MLXC" serve s.mlx --release canary --store "$STORE" --port 0 --port-file "port.$1" \
    > "serve.$1.log" 2>&1 &
  eval "$1_PID=$!"
  while [ ! -s "port.$1" ]; do
    kill -0 "$(eval echo \$$1_PID)" 2>/dev/null || { cat "serve.$1.log"; fail "replica $1 exited before listening"; }
    sleep 0.05
  done
  eval "$1_URL=http://127.0.0.1:$(cat "port.$1")"
}
replica A
replica B
row='"amount":5000,"income":40000,"age":30,"history_years":5,"accounts":3,"late_payments":0'
# batch URL FIRST N OUT — users uFIRST .. u(FIRST+N-1), one request each, the answers in OUT
batch() { users "$1" "$2" "$3" > "$4"; }
arms() { sed 's/^{"arm":"\([a-z]*\)".*/\1/' "$1"; }
# step 1 (30%, manual): the same 300 keys at both replicas get the same arms
batch "$A_URL" 0 300 a1.txt
batch "$B_URL" 0 300 b1.txt
[ "$(grep -c '"arm":' a1.txt)" -eq 300 ] && [ "$(grep -c '"arm":' b1.txt)" -eq 300 ] ||
  { head -3 a1.txt b1.txt; fail "not every request answered with an arm"; }
arms a1.txt > a1.arms
arms b1.txt > b1.arms
cmp -s a1.arms b1.arms || { diff a1.arms b1.arms | head; fail "the replicas route keys to different arms"; }
nc=$(grep -c candidate a1.arms)
[ "$nc" -ge 45 ] && [ "$nc" -le 135 ] || fail "$nc of 300 keys at the candidate at 30%"

# the manual step: one promote from a command; both replicas see it
"$MLXC" release s.mlx canary promote --store "$STORE" --who ci --why "looks good" > p.log 2>&1 ||
  { cat p.log; fail "promote"; }
pct_of() { curl -s --noproxy '*' "$1/metrics" | sed -n 's/^mlxc_release_percent{release="canary"} //p'; }
n=0
until [ "$(pct_of "$A_URL")" = 50 ] && [ "$(pct_of "$B_URL")" = 50 ]; do
  n=$((n + 1)); [ $n -le 200 ] || fail "the replicas did not see step 2 (A $(pct_of "$A_URL"), B $(pct_of "$B_URL"))"
  sleep 0.05
done
# keys that had the candidate at 30% keep it at 50%, at both replicas
batch "$A_URL" 0 300 a2.txt
batch "$B_URL" 0 300 b2.txt
arms a2.txt > a2.arms
arms b2.txt > b2.arms
cmp -s a2.arms b2.arms || fail "the replicas route keys to different arms at 50%"
paste -d' ' a1.arms a2.arms | grep -q '^candidate baseline$' && fail "a key left the candidate when the weight grew"
[ "$(grep -c candidate a2.arms)" -gt "$nc" ] || fail "no more keys at the candidate at 50%"

# traffic at both until the rules promote; replica B dies (SIGKILL) midway
n=0 k=0
while [ "$(release_state "$A_URL")" != promoted ]; do
  n=$((n + 1))
  [ $n -le 300 ] || { cat serve.A.log; "$MLXC" release s.mlx canary status --store "$STORE"; fail "not promoted after 300 rounds"; }
  batch "$A_URL" $((k % 200)) 10 /dev/null
  [ -n "$B_PID" ] && batch "$B_URL" $((k % 200 + 10)) 10 /dev/null
  k=$((k + 20))
  if [ $n -eq 3 ] && [ -n "$B_PID" ]; then
    kill -KILL "$B_PID"; wait "$B_PID" 2>/dev/null; B_PID=""
  fi
done
[ -z "$B_PID" ] || fail "replica B was not killed"
mv serve.B.log serve.B1.log
replica B   # a new replica reads the state from the journal
[ "$(release_state "$B_URL")" = promoted ] || fail "a restarted replica does not see the promotion"
"$MLXC" release s.mlx canary history --store "$STORE" > hist.txt || fail "history"
# the last step (100%) is entered as `promoted`
[ "$(grep -c ' step_advanced ' hist.txt)" -eq 2 ] || { cat hist.txt; fail "expected two step_advanced (one manual, one by the rules)"; }
[ "$(grep ' step_advanced ' hist.txt | grep -c '"step":2,')" -eq 1 ] || { cat hist.txt; fail "step 3 not entered exactly once"; }
[ "$(grep -c ' promoted ' hist.txt)" -eq 1 ] || { cat hist.txt; fail "expected one promoted"; }
[ "$(grep ' step_advanced ' hist.txt | grep -c 'by ci')" -eq 1 ] || { cat hist.txt; fail "the manual promote is not journaled with its user"; }
# each decision was made by exactly one replica (the other replayed it)
d=$(cat serve.A.log serve.B1.log serve.B.log | grep -c "release 'canary': \(step_advanced\|promoted\) (")
[ "$d" -eq 2 ] || { cat serve.A.log serve.B1.log serve.B.log; fail "$d decisions logged by the replicas, expected 2"; }
# the journal in the table: seq gapless from 1, observations from both replicas
[ "$(psql_rollout "SELECT count(*) = max(seq) AND min(seq) = 1 FROM mlxc_release_events WHERE release = 'canary'")" = t ] ||
  fail "the journal's seq has a gap"
"$MLXC" release s.mlx canary status --json --store "$STORE" > st.json || fail "status"
[ "$(jq -r .state st.json)" = promoted ] || { cat st.json; fail "status is not promoted"; }

# append-only: the trigger refuses UPDATE and DELETE
psql_rollout "DELETE FROM mlxc_release_events" > del.log 2>&1 && fail "DELETE was allowed"
grep -q 'append-only' del.log || { cat del.log; fail "DELETE: $(cat del.log)"; }
psql_rollout "UPDATE mlxc_release_events SET kind = 'started'" > upd.log 2>&1 && fail "UPDATE was allowed"

# the password is never printed (trust auth: libpq sends it, the server ignores it)
SECRET="postgresql://mlxc:s3cr3tpw@127.0.0.1:$PGPORT/rollout"
"$MLXC" release s.mlx canary status --store "$SECRET" > pw.txt 2>&1 || { cat pw.txt; fail "status with a password"; }
grep -q 's3cr3tpw' pw.txt && fail "status printed the password"
grep -q "mlxc:\*\*\*@127.0.0.1:$PGPORT/rollout" pw.txt || { cat pw.txt; fail "status does not name the store"; }

# another spec's release of the same name: refused, exit 4
sed 's/step 30% manual/step 40% manual/' s.mlx > other.mlx
"$MLXC" release other.mlx canary status --store "$STORE" > e.txt 2>&1
[ $? -eq 4 ] || { cat e.txt; fail "another spec's journal: not exit 4"; }
grep -q 'belongs to release' e.txt || { cat e.txt; fail "foreign journal: $(cat e.txt)"; }
# a server that is not there: exit 6, naming the store without its password
"$MLXC" release s.mlx canary status --store "postgresql://mlxc:pw@127.0.0.1:1/rollout" > e.txt 2>&1
[ $? -eq 6 ] || { cat e.txt; fail "an unreachable store: not exit 6"; }
grep -q 'mlxc:\*\*\*@127.0.0.1:1/rollout: error: cannot connect to the release store' e.txt ||
  { cat e.txt; fail "unreachable store: $(cat e.txt)"; }
grep -q ':pw@' e.txt && fail "the unreachable store's message shows the password"

# kill -9 at random moments, against PostgreSQL
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U mlxc -d postgres -c 'CREATE DATABASE crash' || fail "createdb crash"
cd "$ROOT" || exit 1
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tests/journal_crash" || fail "cannot build tests/journal_crash"
MLXC_CRASH_STORE="postgresql://mlxc@127.0.0.1:$PGPORT/crash" "$BUILD/tests/journal_crash" ||
  fail "journal_crash against PostgreSQL"
exit 0
