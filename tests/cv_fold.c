/* cv_fold.c — `cv N` fits each fold's statistics on that fold's train rows
 * only: rt_data_load of fold F (RtDataSpec.cv_fold) gives the pool's rows at
 * positions i % N == F - 1 as val, the others as train, both in pool order,
 * the test split untouched, and standardize's mean and deviation from the
 * fold's train rows (so the held-out rows are scaled with statistics that
 * never saw them, unlike the pool's). rt_data_load driven directly with a
 * hand-built spec. Exits 1 on failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

/* the raw value of column v in file row r: folds differ in their values */
static double raw_v(int r) { return (r % 17) * 1.5 + (r % 5 == 0 ? 40.0 : 0.0); }

static void write_csv(const char *path, int rows) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  fprintf(f, "row,v,y\n");
  for (int i = 0; i < rows; i++) fprintf(f, "%d,%.4f,%d\n", i, raw_v(i), i % 2);
  fclose(f);
}

static RtFeature feats[2] = {{.name = "row", .column = "row", .xform = RT_XF_NONE},
                             {.name = "v", .column = "v", .xform = RT_XF_STANDARDIZE}};

int main(void) {
  char dir[] = "/tmp/cv_foldXXXXXX";
  if (!mkdtemp(dir)) return 1;
  char csv[300];
  snprintf(csv, sizeof csv, "%s/d.csv", dir);
  int rows = 600;
  write_csv(csv, rows);
  RtDataSpec spec = {.name = "d", .csv_path = csv, .feats = feats, .n_feats = 2, .label = "y",
                     .split = {0.7, 0.15, 0.15}, .split_seed = 3, .cv_folds = 3};
  RtData *pool = rt_data_load(&spec, RT_TASK_BINARY);
  CHECK(pool != NULL, "the pooled load failed");
  if (!pool) return 1;
  const RtSplit *P = &pool->split[0];
  CHECK(pool->split[1].n == 0, "cv pools val into train (%lld val rows)", (long long)pool->split[1].n);
  int nf = pool->n_feats;
  double leak_gap = 0;
  for (int f = 1; f <= 3; f++) {
    RtDataSpec fs = spec;
    fs.cv_fold = f;
    RtData *d = rt_data_load(&fs, RT_TASK_BINARY);
    CHECK(d != NULL, "fold %d: load failed", f);
    if (!d) continue;
    CHECK(d->n_feats == nf, "fold %d: %d inputs, the pool %d", f, d->n_feats, nf);
    /* the rows: val = pool positions i % 3 == f - 1, train = the rest, in order */
    int64_t at[2] = {0, 0};
    for (int64_t i = 0; i < P->n; i++) {
      int s = i % 3 == f - 1 ? 1 : 0;
      const RtSplit *S = &d->split[s];
      CHECK(at[s] < S->n && S->x[at[s] * nf] == P->x[i * nf], "fold %d: pool row %lld misplaced", f,
            (long long)i);
      at[s]++;
    }
    CHECK(at[0] == d->split[0].n && at[1] == d->split[1].n, "fold %d: %lld/%lld rows, expected %lld/%lld",
          f, (long long)d->split[0].n, (long long)d->split[1].n, (long long)at[0], (long long)at[1]);
    bool same_test = d->split[2].n == pool->split[2].n;
    for (int64_t i = 0; same_test && i < d->split[2].n; i++)
      same_test = d->split[2].x[i * nf] == pool->split[2].x[i * nf];
    CHECK(same_test, "fold %d: the test split has other rows", f);
    /* standardize(v) with the fold's train rows' mean and population deviation */
    double sum = 0, ss = 0;
    const RtSplit *T = &d->split[0];
    for (int64_t i = 0; i < T->n; i++) sum += raw_v((int)T->x[i * nf]);
    double mean = sum / (double)T->n;
    for (int64_t i = 0; i < T->n; i++) {
      double dv = raw_v((int)T->x[i * nf]) - mean;
      ss += dv * dv;
    }
    double sd = sqrt(ss / (double)T->n);
    double psum = 0, pss = 0;   /* the pool's, which a leak would use */
    for (int64_t i = 0; i < P->n; i++) psum += raw_v((int)P->x[i * nf]);
    double pmean = psum / (double)P->n;
    for (int64_t i = 0; i < P->n; i++) {
      double dv = raw_v((int)P->x[i * nf]) - pmean;
      pss += dv * dv;
    }
    double psd = sqrt(pss / (double)P->n);
    for (int s = 0; s < 2; s++) {
      const RtSplit *S = &d->split[s];
      for (int64_t i = 0; i < S->n; i++) {
        double want = (raw_v((int)S->x[i * nf]) - mean) / sd;
        double got = S->x[i * nf + 1];
        CHECK(fabs(got - want) < 1e-5 * fmax(1, fabs(want)), "fold %d %s row %lld: %g, expected %g",
              f, s ? "val" : "train", (long long)i, got, want);
        double leak = (raw_v((int)S->x[i * nf]) - pmean) / psd;
        if (s == 1) leak_gap = fmax(leak_gap, fabs(got - leak));
      }
    }
    rt_data_free(d);
  }
  CHECK(leak_gap > 1e-3, "the folds' statistics equal the pool's (the test cannot tell a leak)");
  printf("cv folds: rows placed and statistics fitted per fold; max gap to the pool's %.3g\n",
         leak_gap);
  rt_data_free(pool);
  unlink(csv);
  rmdir(dir);
  printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
