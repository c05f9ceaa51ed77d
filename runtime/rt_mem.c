/* rt_mem.c — the runtime's allocation helpers. Running out of memory is not
 * something a training run can recover from: it is reported once, here, and
 * ends the process with the internal-error exit code. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rt.h"

static void out_of_memory(void) {
  fprintf(stderr, "mlxc: error: out of memory\n");
  exit(5);
}

/* Blocks this large are the data matrices: they are read in random row
 * order every epoch, where 4 KiB pages cost a TLB miss on most rows. */
#define HUGE_BLOCK (8u << 20)
#define HUGE_PAGE (2u << 20)

/* Zeroed memory, or the end of the process. Large blocks are aligned to
 * 2 MiB and asked to be backed by transparent huge pages (a hint: where THP
 * is off, nothing changes). */
void *rt_xmalloc(size_t n) {
  if (n >= HUGE_BLOCK) {
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, n) != 0) out_of_memory();
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
    return memset(p, 0, n);
  }
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
