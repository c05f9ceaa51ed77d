/* rt_mem.c — the runtime's allocation helpers. Running out of memory is not
 * something a training run can recover from: it is reported once, here, and
 * ends the process with the internal-error exit code. */
#include <stdlib.h>
#include <string.h>

#include "rt.h"

static void out_of_memory(void) {
  fprintf(stderr, "mlxc: error: out of memory\n");
  exit(5);
}

void *rt_xmalloc(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (!p) out_of_memory();
  return p;
}

void *rt_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) out_of_memory();
  return q;
}

char *rt_xstrdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  return memcpy(rt_xmalloc(n), s, n);
}
