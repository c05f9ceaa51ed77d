/* ingest.c — CSV ingest benchmark driver (bench/csv/run.sh), linked like the
 * test drivers (the compiler and runtime without main.c).
 *   ingest gen FILE MB     writes a deterministic numeric CSV of at least MB
 *                          megabytes: a header f1..f19,y, then rows of 20
 *                          decimals (xorshift64, seed 1)
 *   ingest reader FILE     rt_csv + rt_parse_float into one float32 matrix
 *                          (rows x cols, grown by doubling): the reader alone
 *   ingest load FILE       rt_data_load (feature *, label y, regression, split
 *                          100/0/0, the interpreter computing the inputs):
 *                          the cells as 4-byte codes, then the matrix over them
 * reader and load print one line: bytes, rows, cols, seconds, MB/s and the
 * float32 matrix size (rows x cols x 4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runtime/rt.h"

#define NCOLS 20

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int gen(const char *path, double mb) {
  FILE *f = fopen(path, "w");
  if (!f) return perror(path), 1;
  static char buf[1 << 20];
  setvbuf(f, buf, _IOFBF, sizeof buf);
  for (int j = 1; j < NCOLS; j++) fprintf(f, "f%d,", j);
  fprintf(f, "y\n");
  uint64_t s = 1;
  double want = mb * 1e6;
  long long bytes = 0;
  while (bytes < want) {
    char line[512];
    int at = 0;
    double sum = 0;
    for (int j = 0; j < NCOLS - 1; j++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      double v = (double)(s >> 11) / 9007199254740992.0 * 200.0 - 100.0;
      sum += v * (j % 3 - 1);
      at += snprintf(line + at, sizeof line - (size_t)at, "%.4f,", v);
    }
    at += snprintf(line + at, sizeof line - (size_t)at, "%.4f\n", sum / 10);
    fwrite(line, 1, (size_t)at, f);
    bytes += at;
  }
  return fclose(f) ? 1 : 0;
}

static int reader(const char *path, double *secs, long long *rows, int *cols) {
  double t0 = now_s();
  RtCsv *c = rt_csv_open(path);
  if (!c) return rt_diag_flush(), 4;
  int nc = rt_csv_ncols(c);
  size_t cap = 0, n = 0;
  float *m = NULL;
  int r;
  while ((r = rt_csv_next(c)) > 0) {
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      m = rt_xrealloc(m, sizeof(float) * cap * (size_t)nc);
    }
    float *row = m + n * (size_t)nc;
    for (int j = 0; j < nc; j++) {
      size_t len;
      const char *s = rt_csv_field(c, j, &len);
      if (!rt_parse_float(s, len, &row[j])) {
        rt_diag(RT_ERROR, rt_csv_loc(c, j), "not a number");
        r = -1;
        break;
      }
    }
    if (r < 0) break;
    n++;
  }
  rt_csv_close(c);
  *secs = now_s() - t0;
  *rows = (long long)n;
  *cols = nc;
  volatile float sink = n ? m[n * (size_t)nc - 1] : 0;
  (void)sink;
  free(m);
  rt_diag_flush();
  return r < 0 ? 4 : 0;
}

static int load(const char *path, double *secs, long long *rows, int *cols) {
  RtDataSpec spec = {0};
  spec.name = "bench";
  spec.csv_path = (char *)path;
  spec.star = true;
  spec.star_xform = RT_XF_NONE;
  spec.label = "y";
  spec.split[0] = 1;
  double t0 = now_s();
  RtData *d = rt_data_load(&spec, RT_TASK_REGRESSION);
  *secs = now_s() - t0;
  rt_diag_flush();
  if (!d) return 4;
  *rows = d->rows_read;
  *cols = d->n_feats + 1;
  rt_data_free(d);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "gen")) return gen(argv[2], atof(argv[3]));
  if (argc != 3 || (strcmp(argv[1], "reader") && strcmp(argv[1], "load"))) {
    fprintf(stderr, "usage: ingest gen FILE MB | ingest reader FILE | ingest load FILE\n");
    return 2;
  }
  struct stat st;
  if (stat(argv[2], &st)) return perror(argv[2]), 1;
  double secs = 0;
  long long rows = 0;
  int cols = 0;
  int rc = !strcmp(argv[1], "reader") ? reader(argv[2], &secs, &rows, &cols)
                                       : load(argv[2], &secs, &rows, &cols);
  if (rc) return rc;
  printf("%s bytes=%lld rows=%lld cols=%d seconds=%.3f MB/s=%.1f matrix_MB=%.1f\n", argv[1],
         (long long)st.st_size, rows, cols, secs, (double)st.st_size / 1e6 / secs,
         (double)rows * cols * 4 / 1e6);
  return 0;
}
