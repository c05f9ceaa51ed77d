# asm_vectorized.sh — the generated training step uses vector registers.
set -u
asm=$($MLXC --dump=asm examples/sensors.mlx) || { echo "dump failed"; exit 1; }
n=$(printf '%s\n' "$asm" | grep -cE '%(xmm|ymm|zmm)[0-9]+.*%(xmm|ymm|zmm)' )
packed=$(printf '%s\n' "$asm" | grep -cE 'v(fmadd|mul|add|max)[0-9a-z]*ps')
echo "vector instructions: $n, packed float ops: $packed"
[ "$packed" -gt 10 ]
