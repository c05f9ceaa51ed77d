/* fuzz_front.c — libFuzzer harness for the front end: bytes in, through
 * src_add and parse_source (and sema_check in SEMA_CHECK mode when built
 * with -DFUZZ_SEMA). Whatever the input, it must end in diagnostics, never
 * a crash, a leak or undefined behaviour. Built and run by `make fuzz`
 * (tests/fuzz/fuzz.mk).
 *
 * diag.c keeps its sources and error count in statics; diag_reset forgets
 * the count (the REPL, `check` per file) but keeps the sources, so the
 * harness includes diag.c to drop those too and start each input afresh
 * (the error limit must not silence every input after the first). */
#include <stdlib.h>
#include <string.h>

#include "../../compiler/diag.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Back to a fresh compilation: no sources, no errors counted. */
static void fuzz_reset(void) {
  for (uint32_t i = 0; i < nsrcs; i++) free(srcs[i].line);
  nsrcs = 0;
  nerr = 0;
  full = false;
  dropping = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  fuzz_reset();
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  Arena a = {0};
  uint32_t file = src_add("fuzz.mlx", text, size);
  Ast *ast = parse_source(&a, file);
  if (!ast || ast->kind != AST_FILE) abort();   /* the contract: always a FILE node */
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  if (devnull) ast_dump(devnull, ast);
#ifdef FUZZ_SEMA
  if (diag_error_count() == 0) {
    bool data_error = false;
    sema_check(&a, ast, SEMA_CHECK, &data_error);
  }
#endif
  rt_diag_flush();
  arena_free(&a);
  free(text);
  return 0;
}
