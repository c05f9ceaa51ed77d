/* diag.c — source registry and span-based diagnostics for the compiler.
 * Spans are byte offsets; they become line/column only here, when printed,
 * and go out through the shared printer in runtime/rt_diag.c. */
#include <stdlib.h>
#include <string.h>

#include "mlxc.h"

typedef struct Source {
  const char *path;  /* as the user named it */
  const char *text;  /* whole file, NUL-terminated */
  size_t len;
  char *line;        /* scratch for the line shown under a diagnostic */
  size_t line_cap;
} Source;

static Source *srcs;
static uint32_t nsrcs, capsrcs;
static int nerr;
static bool full;       /* DIAG_MAX_ERRORS reached: drop the rest */
static bool dropping;   /* the latest diagnostic was dropped: drop its notes too */

uint32_t src_add(const char *path, const char *text, size_t len) {
  if (nsrcs == capsrcs) {
    capsrcs = capsrcs ? capsrcs * 2 : 8;
    srcs = realloc(srcs, sizeof(Source) * capsrcs);
    if (!srcs) {
      fprintf(stderr, "mlxc: error: out of memory\n");
      exit(5);
    }
  }
  srcs[nsrcs] = (Source){.path = path, .text = text, .len = len};
  return nsrcs++;
}

const char *src_path(uint32_t file) { return file < nsrcs ? srcs[file].path : "?"; }

const char *src_text(uint32_t file, size_t *len) {
  if (file >= nsrcs) {
    *len = 0;
    return "";
  }
  *len = srcs[file].len;
  return srcs[file].text;
}

Span span_join(Span a, Span b) {
  Span s = a;
  if (b.lo < s.lo) s.lo = b.lo;
  if (b.hi > s.hi) s.hi = b.hi;
  return s;
}

/* Line and byte column of offset off (1-based). */
static void line_col(const Source *s, uint32_t off, int *line, int *col, size_t *bol) {
  int ln = 1;
  size_t b = 0;
  if (off > s->len) off = (uint32_t)s->len;
  for (size_t i = 0; i < off; i++)
    if (s->text[i] == '\n') ln++, b = i + 1;
  *line = ln;
  *col = (int)(off - b) + 1;
  *bol = b;
}

RtLoc span_loc(Span sp) {
  RtLoc l = {0};
  if (sp.file >= nsrcs) return l;
  Source *s = &srcs[sp.file];
  size_t bol, bol2;
  l.file = s->path;
  line_col(s, sp.lo, &l.line, &l.col, &bol);
  line_col(s, sp.hi > sp.lo ? sp.hi : sp.lo, &l.end_line, &l.end_col, &bol2);
  size_t eol = bol;
  while (eol < s->len && s->text[eol] != '\n') eol++;
  if (eol > bol && s->text[eol - 1] == '\r') eol--;
  size_t n = eol - bol;
  if (n + 1 > s->line_cap) {
    s->line_cap = n + 1;
    s->line = realloc(s->line, s->line_cap);
    if (!s->line) return l;
  }
  memcpy(s->line, s->text + bol, n);
  s->line[n] = 0;
  l.text = s->line;
  return l;
}

char *span_str(Arena *a, Span s) {
  RtLoc l = span_loc(s);
  return arena_printf(a, "%s:%d:%d", l.file ? l.file : "?", l.line, l.col);
}

static void vdiag(RtSeverity sev, Span s, const char *fmt, va_list ap) {
  if (sev == RT_ERROR || (sev == RT_WARNING && rt_diag_werror)) {
    if (full) {   /* not printed, still counted: "no new error" checks stay true */
      nerr++;
      dropping = true;
      return;
    }
    if (++nerr >= DIAG_MAX_ERRORS) full = true;
  }
  dropping = false;
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  rt_diag(sev, span_loc(s), "%s", msg);
}

void diag_error(Span s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdiag(RT_ERROR, s, fmt, ap);
  va_end(ap);
}

void diag_warning(Span s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdiag(RT_WARNING, s, fmt, ap);
  va_end(ap);
}

void diag_note(Span s, const char *fmt, ...) {
  if (dropping) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  rt_note(span_loc(s), "%s", msg);
}

bool diag_full(void) { return full; }
int diag_error_count(void) { return nerr; }
void diag_reset(void) {
  nerr = 0;
  full = dropping = false;
}

/* Levenshtein distance, capped rows of at most 256 bytes. */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 255 || lb > 255) return 1 << 20;
  int row[256];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int prev = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int cur = row[j];
      int sub = prev + (a[i - 1] != b[j - 1]);
      int del = row[j] + 1, ins = row[j - 1] + 1;
      row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      prev = cur;
    }
  }
  return row[lb];
}

const char *diag_suggest(const char *word, const char *const *cands, int n) {
  const char *best = NULL;
  int bestd = 1 << 20;
  int limit = (int)strlen(word) / 3 + 1;   /* close: about a third of the word */
  if (limit > 3) limit = 3;
  for (int i = 0; i < n; i++) {
    if (!cands[i]) continue;
    int d = edit_distance(word, cands[i]);
    if (d < bestd && d <= limit && d > 0) bestd = d, best = cands[i];
  }
  return best;
}
