/* fuzz_fmt.c — libFuzzer harness for `mlxc fmt` (compiler/fmt.c): bytes in,
 * through fmt_buffer. Whatever the input: a spec that parses must format
 * (never "the layout would change the meaning", exit 5), and formatting
 * the result again must give the same bytes (idempotent); no crash, leak or
 * undefined behaviour. `make fuzz-fmt [FUZZ_TIME=N]` (tests/fuzz/fuzz.mk).
 * diag.c comes in here so each input starts with no sources. */
#include <stdlib.h>
#include <string.h>

#include "../../compiler/diag.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_reset(void) {
  for (uint32_t i = 0; i < nsrcs; i++) free(srcs[i].line);
  nsrcs = 0;
  diag_reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 16)) return 0;
  fuzz_reset();
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  char *out = NULL, *again = NULL;
  size_t n = 0, n2 = 0;
  int code = fmt_buffer("fuzz.mlx", text, size, &out, &n);
  if (code == 5) abort();   /* a layout that changes the meaning */
  if (code == 0) {
    fuzz_reset();
    if (fmt_buffer("fuzz.mlx", out, n, &again, &n2) != 0) abort();   /* its own output */
    if (n2 != n || memcmp(out, again, n)) abort();                    /* not idempotent */
  }
  rt_diag_flush();
  free(again);
  free(out);
  free(text);
  return 0;
}
