/* csv_pipe.c — the pipelined CSV reader (a large file's records split on a
 * thread, runtime/rt_csv.c) against the serial one. Generated files of
 * 0.3-1.5 MB (several pipeline batches) mix numeric rows, quoted fields with
 * delimiters, doubled quotes and newlines, CRLF, blank lines, ragged rows and
 * UTF-8, and may end in one error (a bad byte, a NUL, a ragged row, junk
 * after a closing quote, an unterminated quote) somewhere in the file. Each
 * is read serially and with MLXC_CSV_PIPE_MIN=0 (every file pipelined) under
 * several csv(...) options, and sometimes closed early; the transcripts
 * (every field, every location with its text, the return codes, the record
 * count, the data hash) and the diagnostics written to stderr must be equal
 * byte for byte. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

static uint64_t rng;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

typedef struct {
  char *p;
  size_t n, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

/* One generated file: ncols columns, about mb megabytes, error kind err at
 * row errrow (0: none). */
static void gen(Buf *b, char d, char q, int ncols, size_t bytes, int err, int errrow) {
  char dq[2] = {d, 0}, qq[2] = {q, 0};
  for (int j = 0; j < ncols; j++) {
    char h[16];
    snprintf(h, sizeof h, "%sc%d", j ? dq : "", j);
    puts_(b, h);
  }
  puts_(b, "\n");
  for (int row = 1; b->n < bytes; row++) {
    int cols = ncols;
    if (row == errrow && err == 3) cols = ncols + 1 + (int)(next() % 2) * -2;
    else if (next() % 97 == 0) cols = ncols + (next() % 2 ? 1 : -1);   /* ragged */
    if (cols < 1) cols = 1;
    for (int j = 0; j < cols; j++) {
      if (j) puts_(b, dq);
      uint64_t r = next() % 16;
      char cell[64];
      if (row == errrow && j == cols / 2 && err == 1) {
        puts_(b, "ab\xff" "c");
      } else if (row == errrow && j == cols / 2 && err == 2) {
        put(b, "x\0y", 3);
      } else if (row == errrow && j == cols / 2 && err == 4) {
        puts_(b, qq), puts_(b, "ok"), puts_(b, qq), puts_(b, "junk");
      } else if (row == errrow && j == cols / 2 && err == 5) {
        puts_(b, qq), puts_(b, "never closed\nmore");
        return;
      } else if (r < 10) {
        snprintf(cell, sizeof cell, "%.4f", (double)(int64_t)(next() % 2000000) / 1e4 - 100);
        puts_(b, cell);
      } else if (r == 10) {
        puts_(b, qq), puts_(b, "a"), puts_(b, dq), puts_(b, "b"), puts_(b, qq);
      } else if (r == 11) {
        puts_(b, qq), puts_(b, "line\nbreak "), puts_(b, qq), puts_(b, qq), puts_(b, "x"),
            puts_(b, qq);
      } else if (r == 12) {
        puts_(b, "caf\xc3\xa9");
      } else if (r == 13) {
        puts_(b, "bare");
        puts_(b, qq);
        puts_(b, "quote");
      } else if (r == 14) {
        puts_(b, " 12 ");
      }   /* 15: empty */
    }
    uint64_t e = next() % 20;
    puts_(b, e == 0 ? "\r\n" : e == 1 ? "\n\n" : e == 2 ? "\r\n\r\n" : "\n");
  }
}

/* Reads path once; the transcript goes to t, stderr to errpath. */
static void transcript(const char *path, const RtCsvOpts *o, int stop_after, Buf *t,
                       const char *errpath) {
  fflush(stderr);
  int saved = dup(2);
  int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (saved < 0 || fd < 0) abort();
  dup2(fd, 2);
  close(fd);
  char line[640];
  RtCsv *c = rt_csv_open_opts(path, o);
  if (c) {
    int r, k = 0;
    while ((r = rt_csv_next(c)) > 0) {
      int nf = rt_csv_nfields(c);
      snprintf(line, sizeof line, "rec %lld line %lld nf %d\n", (long long)rt_csv_records(c),
               (long long)rt_csv_line(c), nf);
      puts_(t, line);
      for (int i = 0; i <= nf; i++) {
        size_t n;
        const char *s = rt_csv_field(c, i, &n);
        RtLoc l = rt_csv_loc(c, i);
        snprintf(line, sizeof line, " [%zu]%s @%d:%d %s\n", n, s, l.line, l.col,
                 l.text ? l.text : "-");
        puts_(t, line);
      }
      if (++k == stop_after) break;
    }
    snprintf(line, sizeof line, "end %d records %lld hash %llx\n", r,
             (long long)rt_csv_records(c), k == stop_after ? 0ull
                                                            : (unsigned long long)rt_csv_hash(c));
    puts_(t, line);
    rt_csv_close(c);
  } else {
    puts_(t, "open failed\n");
  }
  rt_diag_flush();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  Buf b = {0};
  char tmp[4096];
  size_t n;
  puts_(&b, "");
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) put(&b, tmp, n);
  fclose(f);
  return b.p;
}

int main(void) {
  char dir[] = "/tmp/csv_pipe.XXXXXX";
  if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
  char path[64], e1[64], e2[64];
  snprintf(path, sizeof path, "%s/in.csv", dir);
  snprintf(e1, sizeof e1, "%s/serial.err", dir);
  snprintf(e2, sizeof e2, "%s/pipe.err", dir);
  int fails = 0, cases = 0;
  for (int seed = 1; seed <= 24; seed++) {
    rng = 0x9e3779b97f4a7c15ull * (uint64_t)seed;
    static const char delims[] = {',', ';', '\t', '|'};
    char d = delims[seed % 4], q = seed % 5 == 0 ? '\'' : '"';
    int ncols = 2 + (int)(next() % 12), err = seed % 6;
    size_t bytes = 300000 + next() % 1200000;
    int errrow = err ? 1 + (int)(next() % (bytes / (size_t)(ncols * 8))) : 0;
    Buf f = {0};
    gen(&f, d, q, ncols, bytes, err, errrow);
    FILE *out = fopen(path, "wb");
    if (!out || fwrite(f.p, 1, f.n, out) != f.n || fclose(out)) return perror(path), 1;
    free(f.p);
    for (int v = 0; v < 4; v++) {
      RtCsvOpts o = {.delim = d, .quote = q, .no_header = v & 1, .keep_ragged = v & 2};
      int stop = seed % 3 == 0 && v == 3 ? 1000 + (int)(next() % 9000) : -1;
      Buf a = {0}, b = {0};
      unsetenv("MLXC_CSV_PIPE_MIN");
      transcript(path, &o, stop, &a, e1);
      setenv("MLXC_CSV_PIPE_MIN", "0", 1);
      transcript(path, &o, stop, &b, e2);
      unsetenv("MLXC_CSV_PIPE_MIN");
      char *s1 = slurp(e1), *s2 = slurp(e2);
      cases++;
      if (!a.p || !b.p || strcmp(a.p, b.p) || !s1 || !s2 || strcmp(s1, s2)) {
        fprintf(stderr, "FAIL seed %d variant %d (err %d at row %d): %s differs\n", seed, v, err,
                errrow, a.p && b.p && !strcmp(a.p, b.p) ? "stderr" : "transcript");
        size_t i = 0;
        const char *x = a.p && b.p && !strcmp(a.p, b.p) ? s1 : a.p, *y = x == s1 ? s2 : b.p;
        while (x && y && x[i] && x[i] == y[i]) i++;
        fprintf(stderr, "  at byte %zu:\n  serial: %.200s\n  pipe:   %.200s\n", i,
                x ? x + (i > 100 ? i - 100 : 0) : "", y ? y + (i > 100 ? i - 100 : 0) : "");
        fails++;
      }
      free(s1), free(s2), free(a.p), free(b.p);
    }
  }
  unlink(path), unlink(e1), unlink(e2), rmdir(dir);
  printf("csv_pipe: %d cases, %d failed\n", cases, fails);
  return fails != 0;
}
