/* rt_diag.c — the one diagnostic printer, shared by the compiler (spec errors)
 * and the runtime (data and model-file errors). A diagnostic is held until the
 * next one starts or rt_diag_flush, so its notes print with it. */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

bool rt_diag_json = false;
bool rt_diag_werror = false;
bool rt_verbose = false;

#define MAX_NOTES 8

typedef struct Pending {
  bool live;                 /* a diagnostic is waiting to be printed */
  RtSeverity sev;
  RtLoc loc;
  char msg[1024];
  char text[512];            /* copy of loc.text: the caller's buffer may go */
  char file[512];            /* copy of loc.file, likewise */
  int nnotes;
  char note_text[MAX_NOTES][512];
  char note_file[MAX_NOTES][512];
  RtLoc note_loc[MAX_NOTES];
  char note_msg[MAX_NOTES][512];
} Pending;

static Pending pend;
static int nerrors;
/* Search trials run on several threads: one diagnostic at a time. */
static pthread_mutex_t diag_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *sev_name(RtSeverity s) {
  return s == RT_ERROR ? "error" : s == RT_WARNING ? "warning" : "note";
}

/* `file:line:col: ` or `file: ` when there is no line. */
static void print_where(FILE *f, RtLoc l) {
  if (l.file && l.line > 0)
    fprintf(f, "%s:%d:%d: ", l.file, l.line, l.col);
  else if (l.file)
    fprintf(f, "%s: ", l.file);
  else
    fputs("mlxc: ", f);
}

/* The source line, then a caret under the span (tildes for the rest of it on
 * this line). Tabs in the line are kept under the caret so it lines up. */
static void print_caret(FILE *f, RtLoc l) {
  if (!l.text || l.line <= 0) return;
  fprintf(f, "%s\n", l.text);
  size_t len = strlen(l.text);
  int end = (l.end_line == l.line && l.end_col > l.col) ? l.end_col : l.col + 1;
  for (int c = 1; c < l.col; c++)
    fputc((size_t)(c - 1) < len && l.text[c - 1] == '\t' ? '\t' : ' ', f);
  fputc('^', f);
  for (int c = l.col + 1; c < end && (size_t)(c - 1) < len; c++) fputc('~', f);
  fputc('\n', f);
}

static json_t *loc_json(RtLoc l, const char *sev, const char *msg) {
  json_t *o = json_object();
  json_object_set_new(o, "file", l.file ? json_string(l.file) : json_null());
  json_object_set_new(o, "line", json_integer(l.line));
  json_object_set_new(o, "col", json_integer(l.col));
  json_object_set_new(o, "end_line", json_integer(l.end_line ? l.end_line : l.line));
  json_object_set_new(o, "end_col", json_integer(l.end_col ? l.end_col : l.col + (l.line > 0)));
  json_object_set_new(o, "severity", json_string(sev));
  json_object_set_new(o, "message", json_stringn(msg, strlen(msg)));
  return o;
}

static void flush_locked(void) {
  if (!pend.live) return;
  pend.live = false;
  if (rt_diag_json) {
    json_t *o = loc_json(pend.loc, sev_name(pend.sev), pend.msg);
    json_t *notes = json_array();
    for (int i = 0; i < pend.nnotes; i++)
      json_array_append_new(notes, loc_json(pend.note_loc[i], "note", pend.note_msg[i]));
    json_object_set_new(o, "notes", notes);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (s) fprintf(stderr, "%s\n", s);
    free(s);
    json_decref(o);
  } else {
    print_where(stderr, pend.loc);
    fprintf(stderr, "%s: %s\n", sev_name(pend.sev), pend.msg);
    print_caret(stderr, pend.loc);
    for (int i = 0; i < pend.nnotes; i++) {
      print_where(stderr, pend.note_loc[i]);
      fprintf(stderr, "note: %s\n", pend.note_msg[i]);
      /* A note at the error's own place ("did you mean") needs no second caret. */
      RtLoc nl = pend.note_loc[i];
      if (nl.line != pend.loc.line || nl.col != pend.loc.col || strcmp(nl.file ? nl.file : "", pend.loc.file ? pend.loc.file : ""))
        print_caret(stderr, nl);
    }
  }
  fflush(stderr);
}

void rt_diag_flush(void) {
  pthread_mutex_lock(&diag_mu);
  flush_locked();
  pthread_mutex_unlock(&diag_mu);
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is invalid. */
static int utf8_len(const unsigned char *s) {
  if (s[0] < 0x80) return 1;
  int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
  for (int i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  /* overlong forms, UTF-16 surrogates, and code points past U+10FFFF */
  if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
      (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
    return 0;
  return n;
}

/* A source line is shown to a person: control characters and bytes that are
 * not valid UTF-8 become '?', one for one, so the caret still lines up. */
static void sanitize_line(char *line) {
  unsigned char *p = (unsigned char *)line;
  while (*p) {
    int n = utf8_len(p);
    if (n == 0 || (*p < 0x20 && *p != '\t') || *p == 0x7f) {
      *p++ = '?';
    } else {
      p += n;
    }
  }
}

/* Keeps a location, copying its file name and source line (shortened) into
 * the pending diagnostic, since the caller's strings may be freed first. */
static void copy_loc(RtLoc *dst, RtLoc src, char *buf, size_t cap, char *fbuf, size_t fcap) {
  *dst = src;
  if (src.text) {
    snprintf(buf, cap, "%s", src.text);
    sanitize_line(buf);
    dst->text = buf;
  }
  if (src.file) {
    snprintf(fbuf, fcap, "%s", src.file);
    dst->file = fbuf;
  }
}

void rt_diag(RtSeverity sev, RtLoc loc, const char *fmt, ...) {
  pthread_mutex_lock(&diag_mu);
  flush_locked();
  if (sev == RT_WARNING && rt_diag_werror) sev = RT_ERROR;
  if (sev == RT_ERROR) nerrors++;
  memset(&pend, 0, sizeof pend);
  pend.live = true;
  pend.sev = sev;
  copy_loc(&pend.loc, loc, pend.text, sizeof pend.text, pend.file, sizeof pend.file);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pend.msg, sizeof pend.msg, fmt, ap);
  va_end(ap);
  pthread_mutex_unlock(&diag_mu);
}

void rt_note(RtLoc loc, const char *fmt, ...) {
  pthread_mutex_lock(&diag_mu);
  if (!pend.live || pend.nnotes == MAX_NOTES) {
    pthread_mutex_unlock(&diag_mu);
    return;
  }
  int i = pend.nnotes++;
  copy_loc(&pend.note_loc[i], loc, pend.note_text[i], sizeof pend.note_text[i],
           pend.note_file[i], sizeof pend.note_file[i]);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pend.note_msg[i], sizeof pend.note_msg[i], fmt, ap);
  va_end(ap);
  pthread_mutex_unlock(&diag_mu);
}

int rt_diag_errors(void) { return nerrors; }

RtLoc rt_loc_file(const char *file) {
  RtLoc l = {0};
  l.file = file;
  return l;
}
