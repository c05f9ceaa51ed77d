/* data_rss.c — the load path's memory (issue 3, item 7): rt_data_load of a
 * generated numeric CSV of about 40 MB (19 decimals and a label a row,
 * `feature * = standardize(*)`, split 80/10/10, as `mlxc data` and a
 * search load it) may raise the process's peak RSS (VmHWM) by at most 1.5
 * times the float32 matrix (rows x 20 x 4 bytes) plus 8 MiB for the
 * reader's buffers; so may rt_data_apply of the same file through the
 * frozen spec (`mlxc eval`), measured after resetting the peak (writing 5
 * to /proc/self/clear_refs; skipped where that is refused). Memory, not
 * time: the figure does not depend on the machine's load. Skipped under
 * ASan, whose shadow memory is counted too.
 * Also checks RtData.rec, each row's CSV data record, on a small file with
 * a refused row and a duplicate dropped. Exits 1 on failure. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

#define NCOLS 20

#if !defined(__SANITIZE_ADDRESS__)
/* VmHWM of this process, in bytes (-1 if /proc cannot say). */
static long long vm_hwm(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long long kb = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) kb = atoll(line + 6);
  fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

/* bench/csv/ingest.c's file: xorshift64 decimals with four places. */
static long long gen(const char *path, double mb) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  for (int j = 1; j < NCOLS; j++) fprintf(f, "f%d,", j);
  fprintf(f, "y\n");
  uint64_t s = 1;
  long long bytes = 0, rows = 0;
  while (bytes < mb * 1e6) {
    double sum = 0;
    for (int j = 0; j < NCOLS - 1; j++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      double v = (double)(s >> 11) / 9007199254740992.0 * 200.0 - 100.0;
      sum += v * (j % 3 - 1);
      bytes += fprintf(f, "%.4f,", v);
    }
    bytes += fprintf(f, "%.4f\n", sum / 10);
    rows++;
  }
  return fclose(f) ? -1 : rows;
}
#endif

static void rss_check(const char *dir) {
#if defined(__SANITIZE_ADDRESS__)
  (void)dir;
  printf("data_rss: skipped under ASan\n");
#else
  char csv[300];
  snprintf(csv, sizeof csv, "%s/numeric.csv", dir);
  long long rows = gen(csv, 40);
  CHECK(rows > 0, "cannot write %s", csv);
  if (rows <= 0) return;
  RtDataSpec spec = {0};
  spec.name = "nums";
  spec.csv_path = csv;
  spec.star = true;
  spec.star_xform = RT_XF_STANDARDIZE;
  spec.label = "y";
  spec.split[0] = 0.8, spec.split[1] = 0.1, spec.split[2] = 0.1;
  spec.split_seed = 5;
  long long before = vm_hwm();
  RtData *d = rt_data_load(&spec, RT_TASK_REGRESSION);
  long long after = vm_hwm();
  rt_diag_flush();
  CHECK(d && d->n_feats == NCOLS - 1 && d->rows_read == rows, "the numeric file does not load");
  if (d && before > 0 && after > 0) {
    double matrix = (double)rows * NCOLS * 4, grew = (double)(after - before);
    double limit = 1.5 * matrix + 8.0 * 1048576;
    printf("data_rss: %lld rows, float32 matrix %.1f MB, peak RSS grew %.1f MB (%.2fx; limit "
           "1.5x + 8 MiB)\n", rows, matrix / 1e6, grew / 1e6, grew / matrix);
    CHECK(grew <= limit, "the load's peak RSS grew %.1f MB, more than %.1f MB", grew / 1e6,
          limit / 1e6);
    /* the inputs really are the standardized cells: train's columns have
     * mean 0 and deviation 1 */
    const RtSplit *tr = &d->split[0];
    for (int i = 0; i < d->n_feats; i++) {
      double s = 0, ss = 0;
      for (int64_t r = 0; r < tr->n; r++) s += tr->x[r * d->n_feats + i];
      for (int64_t r = 0; r < tr->n; r++) {
        double v = tr->x[r * d->n_feats + i] - s / (double)tr->n;
        ss += v * v;
      }
      CHECK(fabs(s / (double)tr->n) < 1e-3 && fabs(ss / (double)tr->n - 1) < 1e-3,
            "input %d: train mean %g, variance %g", i, s / (double)tr->n, ss / (double)tr->n);
    }
  }
  /* the same file through the frozen spec, as `mlxc eval` reads it */
  RtDataSpec *frozen = d ? rt_data_freeze(&spec, d) : NULL;
  rt_data_free(d);
  FILE *cr = fopen("/proc/self/clear_refs", "w");
  bool reset = cr && fputs("5", cr) >= 0;
  if (cr && fclose(cr)) reset = false;
  if (frozen && reset) {
    before = vm_hwm();
    RtSplit out;
    int rc = rt_data_apply(frozen, csv, RT_TASK_REGRESSION, NULL, 0, true, &out);
    after = vm_hwm();
    rt_diag_flush();
    CHECK(rc == 0 && out.n == rows, "the numeric file does not apply");
    if (rc == 0) {
      double matrix = (double)rows * NCOLS * 4, grew = (double)(after - before);
      double limit = 1.5 * matrix + 8.0 * 1048576;
      printf("data_rss: rt_data_apply: peak RSS grew %.1f MB (%.2fx)\n", grew / 1e6,
             grew / matrix);
      CHECK(grew <= limit, "rt_data_apply's peak RSS grew %.1f MB, more than %.1f MB",
            grew / 1e6, limit / 1e6);
      rt_split_free(&out);
    }
  } else if (frozen) {
    printf("data_rss: rt_data_apply not measured (/proc/self/clear_refs refused)\n");
  }
  rt_data_spec_free(frozen);
  unlink(csv);
#endif
}

/* rec: record r of the file has r in column r (a kept row's x[0] is its
 * record); record 3 is ragged (skipped), record 6 repeats record 5. */
static void rec_check(const char *dir) {
  char csv[300];
  snprintf(csv, sizeof csv, "%s/rec.csv", dir);
  FILE *f = fopen(csv, "w");
  if (!f) return;
  fprintf(f, "r,v,y\n");
  for (int r = 0; r < 40; r++) {
    if (r == 3) fprintf(f, "3,1\n");
    else if (r == 6) fprintf(f, "5,%d.5,%d\n", 5 % 7, 5 % 2);
    else fprintf(f, "%d,%d.5,%d\n", r, r % 7, r % 2);
  }
  fclose(f);
  RtDataSpec spec = {0};
  spec.name = "rec";
  spec.csv_path = csv;
  spec.star = true;
  spec.label = "y";
  spec.bad_row_skip = true;
  spec.drop_dups = true;
  spec.split[0] = 0.5, spec.split[1] = 0.25, spec.split[2] = 0.25;
  spec.split_seed = 3;
  RtData *d = rt_data_load(&spec, RT_TASK_BINARY);
  rt_diag_flush();
  CHECK(d && d->split[0].n + d->split[1].n + d->split[2].n == 38, "the rec file does not load");
  int seen[40] = {0};
  for (int s = 0; d && s < 3; s++) {
    const RtSplit *sp = &d->split[s];
    CHECK(sp->rec && sp->rec == d->rec + (s > 0 ? d->split[0].n : 0) + (s > 1 ? d->split[1].n : 0),
          "split %d: rec does not point into d->rec", s);
    for (int64_t i = 0; sp->rec && i < sp->n; i++) {
      int64_t r = sp->rec[i];
      CHECK(r >= 0 && r < 40 && r != 3 && r != 6 && sp->x[i * d->n_feats] == (float)r &&
                sp->y[i] == (float)(r % 2),
            "split %d row %lld: record %lld holds r=%g", s, (long long)i, (long long)r,
            (double)sp->x[i * d->n_feats]);
      if (r >= 0 && r < 40) seen[r]++;
    }
  }
  for (int r = 0; d && r < 40; r++)
    CHECK(seen[r] == (r == 3 || r == 6 ? 0 : 1), "record %d kept %d times", r, seen[r]);
  rt_data_free(d);
  unlink(csv);
}

int main(void) {
  char dir[] = "/tmp/data_rssXXXXXX";
  if (!mkdtemp(dir)) return 1;
  rec_check(dir);
  rss_check(dir);
  rmdir(dir);
  printf("data_rss: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
