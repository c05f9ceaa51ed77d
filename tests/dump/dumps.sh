# dumps.sh — golden --dump=plan and --dump=llvm of every example.
# GOLDEN=1 rewrites tests/dump/*.plan|*.ll for a person to review.
set -u
export MLXC_VECTOR_BITS=512   # the IR is written for this width (llvm_emit.c vector_width)
status=0
for spec in examples/credit.mlx examples/sensors.mlx examples/housing.mlx; do
  name=$(basename "$spec" .mlx)
  for stage in plan llvm; do
    golden=tests/dump/$name.$stage
    out=$($MLXC --dump=$stage "$spec" 2>&1; echo "exit $?")
    if [ -n "${GOLDEN:-}" ]; then
      printf '%s\n' "$out" > "$golden"
    elif [ "$(printf '%s\n' "$out")" != "$(cat "$golden" 2>/dev/null)" ]; then
      echo "--dump=$stage $spec differs from $golden:"
      printf '%s\n' "$out" | diff -u "$golden" - | head -40
      status=1
    fi
  done
done
exit $status
