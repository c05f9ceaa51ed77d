# ptx.sh — `mlxc --dump=ptx`: for every train block of every example, a PTX
# module holding the kernel mlx_predict_gpu for sm_90 (the default, and
# MLXC_PTX_ARCH=sm_90) and sm_80, calling no undefined function, the same
# text on every run; ptxas (on PATH or in /usr/local/cuda/bin) accepts it
# ("skipped: no ptxas" without one). A bad architecture is a usage error.
# tests/ptx_host.c checks what the kernel computes.
. tests/e2e/lib.inc
PTXAS=$(command -v ptxas 2>/dev/null)
[ -z "$PTXAS" ] && [ -x /usr/local/cuda/bin/ptxas ] && PTXAS=/usr/local/cuda/bin/ptxas
[ -n "$PTXAS" ] || echo "skipped: no ptxas"
n=0
for spec in examples/*.mlx; do
  for tr in $(sed -n 's/^train \([A-Za-z_0-9]*\).*/\1/p' "$spec"); do
    $MLXC --dump=ptx "$spec" "$tr" > "$T/default.ptx" 2> "$T/err" ||
      { cat "$T/err"; fail "$spec $tr: --dump=ptx exited $?"; }
    for arch in sm_90 sm_80; do
      p=$T/$arch.ptx
      MLXC_PTX_ARCH=$arch $MLXC --dump=ptx "$spec" "$tr" > "$p" 2> "$T/err" ||
        { cat "$T/err"; fail "$spec $tr $arch: --dump=ptx exited $?"; }
      grep -q '^\.visible \.entry mlx_predict_gpu($' "$p" || fail "$spec $tr $arch: no kernel mlx_predict_gpu"
      grep -qx "\.target $arch" "$p" || fail "$spec $tr: no '.target $arch'"
      grep -q '\.extern' "$p" && fail "$spec $tr $arch: calls an undefined function"
      grep -q 'mlx_predict_gpu_shape' "$p" || fail "$spec $tr $arch: no mlx_predict_gpu_shape"
      MLXC_PTX_ARCH=$arch $MLXC --dump=ptx "$spec" "$tr" | cmp -s - "$p" ||
        fail "$spec $tr $arch: two runs differ"
      if [ -n "$PTXAS" ]; then
        "$PTXAS" -arch=$arch -o "$T/k.cubin" "$p" > "$T/err" 2>&1 ||
          { cat "$T/err"; fail "$spec $tr: ptxas -arch=$arch refuses the PTX"; }
      fi
    done
    cmp -s "$T/default.ptx" "$T/sm_90.ptx" || fail "$spec $tr: the default is not sm_90"
    n=$((n + 1))
  done
done
[ "$n" -ge 4 ] || fail "only $n train blocks"
# usage errors: exit 2, nothing on stdout
for bad in sm_9 sm_99 compute_90 sm_90x 90 sm_; do
  MLXC_PTX_ARCH=$bad $MLXC --dump=ptx examples/credit.mlx > "$T/out" 2> "$T/err"
  [ $? -eq 2 ] || fail "MLXC_PTX_ARCH=$bad: not a usage error"
  [ -s "$T/out" ] && fail "MLXC_PTX_ARCH=$bad: printed PTX"
  grep -qF "MLXC_PTX_ARCH '$bad' is not a known GPU architecture" "$T/err" ||
    { cat "$T/err"; fail "MLXC_PTX_ARCH=$bad: no message"; }
done
expect_exit 2 $MLXC --dump=ptxx examples/credit.mlx
says "unknown stage 'ptxx' (tokens ast plan llvm asm ptx)"
expect_exit 1 $MLXC --dump=ptx examples/credit.mlx no_such_train
says "no train block named 'no_such_train'"
# the architecture only matters to --dump=ptx
expect_exit 0 env MLXC_PTX_ARCH=bad $MLXC --dump=plan examples/credit.mlx
echo "ptx: $n train blocks${PTXAS:+, ptxas $("$PTXAS" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')}"
