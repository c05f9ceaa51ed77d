/* fuzz_csv.c — libFuzzer harness for the CSV reader (runtime/rt_csv.c) and
 * the cell parsers behind type inference. The first input byte picks the
 * csv(...) options (delimiter, quote, header, keep_ragged); the rest is the
 * file. Every record is read to the end and every cell goes through
 * rt_parse_float, rt_parse_bool and rt_col_infer; each cell's location is
 * taken (the diagnostic text path). Whatever the bytes, the reader must end
 * in a record count or a diagnostic, never a crash, a leak or undefined
 * behaviour. Built and run by `make fuzz-csv` (tests/fuzz/fuzz.mk). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0 || size > (1u << 20)) return 0;
  if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_csv.%d.csv", (int)getpid());
  uint8_t sel = data[0];
  static const char delims[] = {',', ';', '\t', '|'};
  RtCsvOpts o = {.delim = delims[(sel >> 2) & 3], .quote = (sel & 16) ? '\'' : '"',
                 .no_header = sel & 1, .keep_ragged = sel & 2};
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) abort();
  size_t off = 1;
  while (off < size) {
    ssize_t w = write(fd, data + off, size - off);
    if (w <= 0) abort();
    off += (size_t)w;
  }
  close(fd);
  int e0 = rt_diag_errors();
  RtCsv *c = rt_csv_open_opts(path, &o);
  if (!c && rt_diag_errors() == e0) abort();   /* NULL always comes with a report */
  if (c) {
    int ncols = rt_csv_ncols(c);
    RtColType *ty = calloc((size_t)ncols + 1, sizeof *ty);
    RtBadRows bad = {0}, bad2 = {0};
    /* declared types for rt_row_ok, picked by the top bits of the first byte */
    RtColType *decl = calloc((size_t)ncols + 1, sizeof *decl);
    for (int i = 0; i < ncols; i++) decl[i] = (RtColType)(((unsigned)sel >> 5) + (unsigned)i) % 4;
    static char *na[] = {"NA", "-"};
    RtDataSpec spec = {.csv_path = path, .na = na, .n_na = 2, .bad_row_skip = true,
                       .source_loc = rt_loc_file(path), .label_loc = rt_loc_file(path)};
    int r;
    while ((r = rt_csv_next(c)) > 0) {
      bool fatal;
      (void)rt_row_ok(c, &spec, decl, ncols - 1, (sel >> 7) & 1, &bad2, &fatal);
      if (fatal) abort();   /* under skip a bad row is never fatal */
      int nf = rt_csv_nfields(c);
      if (nf != ncols) {
        if (!o.keep_ragged) abort();   /* the reader must have refused it */
        rt_badrows_add(&bad, rt_csv_loc(c, nf < ncols ? nf : ncols), "expected %d fields, found %d",
                       ncols, nf);
        continue;
      }
      for (int i = 0; i < ncols; i++) {
        size_t n;
        const char *s = rt_csv_field(c, i, &n);
        if (strlen(s) != n) abort();   /* NULs never reach a field */
        float v;
        (void)rt_parse_float(s, n, &v);
        (void)rt_parse_bool(s, n, &v);
        ty[i] = rt_col_infer(ty[i], s, n);
        RtLoc l = rt_csv_loc(c, i);
        if (l.line < 1 || l.col < 1) abort();
      }
      (void)rt_csv_loc(c, ncols);
    }
    if (r < 0 && rt_diag_errors() == e0) abort();   /* -1 always comes with a report */
    for (int i = 0; i < ncols; i++) (void)rt_csv_name(c, i);
    rt_badrows_report(&bad, path, rt_csv_records(c), rt_loc_file(path));
    rt_badrows_free(&bad);
    rt_badrows_report(&bad2, path, rt_csv_records(c), rt_loc_file(path));
    rt_badrows_free(&bad2);
    free(decl);
    free(ty);
    rt_csv_close(c);
  }
  rt_diag_flush();
  return 0;
}
