/* libcsv.c — how fast Debian's libcsv (libcsv-dev 3.0.3) splits the benchmark
 * file: fields counted in callbacks, no number conversion and no hash, so an
 * upper bound on a libcsv-based reader. Not part of `make bench`; by hand:
 *   apt-get install libcsv-dev
 *   cc -O2 -o /tmp/libcsv bench/csv/libcsv.c -lcsv && /tmp/libcsv FILE */
#define _POSIX_C_SOURCE 200809L
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long fields, rows;
static void on_field(void *s, size_t n, void *p) { (void)s, (void)n, (void)p, fields++; }
static void on_row(int c, void *p) { (void)c, (void)p, rows++; }

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: libcsv FILE\n"), 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return perror(argv[1]), 1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct csv_parser p;
  if (csv_init(&p, CSV_STRICT | CSV_APPEND_NULL)) return 1;
  static char buf[1 << 20];
  size_t n, bytes = 0;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    bytes += n;
    if (csv_parse(&p, buf, n, on_field, on_row, NULL) != n)
      return fprintf(stderr, "%s\n", csv_strerror(csv_error(&p))), 1;
  }
  csv_fini(&p, on_field, on_row, NULL);
  csv_free(&p);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("libcsv bytes=%zu rows=%lld fields=%lld seconds=%.3f MB/s=%.1f\n", bytes, rows, fields, s,
         (double)bytes / 1e6 / s);
  return 0;
}
