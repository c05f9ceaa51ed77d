# errors.sh — `mlxc serve` command-line errors: a port in use is exit 6
# (DESIGN.md §4), as is an address that cannot be bound; a spec instead of
# a model, missing or bad arguments are usage errors (2); a bad model file 4.
. tests/serve/lib.inc
expect_exit 0 $MLXC run examples/credit.mlx scorer_logistic --out "$T/o"
M=$T/o/scorer_logistic.mlxm
start_server "$M"
expect_exit 6 $MLXC serve "$M" --port "$PORT"
grep -q "cannot listen on 127.0.0.1:$PORT" "$T/out" || { cat "$T/out"; fail "message"; }
stop_server
[ "$SRV_EXIT" -eq 0 ] || fail "server exited $SRV_EXIT"
expect_exit 6 $MLXC serve "$M" --port 0 --bind 203.0.113.7
grep -q "cannot listen on 203.0.113.7:0" "$T/out" || { cat "$T/out"; fail "bind message"; }
expect_exit 2 $MLXC serve examples/credit.mlx
grep -q "serve FILE --release NAME" "$T/out" || { cat "$T/out"; fail "a spec to serve"; }
expect_exit 2 $MLXC serve
expect_exit 2 $MLXC serve "$M" "$M"
expect_exit 2 $MLXC serve "$M" --port 70000
expect_exit 2 $MLXC serve "$M" --port
expect_exit 2 $MLXC predict "$M" --port 1
expect_exit 2 $MLXC serve "$M" --release x
printf 'not a model' > "$T/bad.mlxm"
expect_exit 4 $MLXC serve "$T/bad.mlxm" --port 0
expect_exit 4 $MLXC serve "$T/none.mlxm" --port 0
exit 0
