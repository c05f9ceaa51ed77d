/* split_by.c — `split ... by COLUMN` is stable: a file loaded, then loaded
 * again with rows appended, puts every old row in the same split; shares are
 * near the percentages; the seed changes the assignment; the pure random and
 * stratified splits give the counts DESIGN.md §2.2 promises. rt_data_load is
 * driven directly with a hand-built RtDataSpec. Run from the repository root. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

/* rows lines of "key,row,y": key a text id, row the row number (the one
 * feature, untransformed, so each matrix row says which file row it is). */
static void write_csv(const char *path, int rows) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  fprintf(f, "key,row,y\n");
  for (int i = 0; i < rows; i++) fprintf(f, "user-%d@example.com,%d,%d\n", i * 7919 % 100003, i, i % 3);
  fclose(f);
}

static RtFeature feat = {.name = "row", .column = "row", .xform = RT_XF_NONE};
static char *drops[] = {"key"};

static RtDataSpec make_spec(const char *csv, uint64_t seed, char *by, bool stratify) {
  RtDataSpec s = {.name = "d", .csv_path = (char *)csv, .drop = drops, .n_drop = 1,
                  .feats = &feat, .n_feats = 1, .label = "y",
                  .split = {0.6, 0.2, 0.2}, .split_seed = seed, .split_by = by,
                  .split_stratify = stratify};
  return s;
}

/* which[row] = split of each file row in d (-1: none). */
static void which_split(const RtData *d, int *which, int rows) {
  for (int i = 0; i < rows; i++) which[i] = -1;
  for (int s = 0; s < 3; s++)
    for (int64_t i = 0; i < d->split[s].n; i++) {
      int r = (int)d->split[s].x[i];
      if (r >= 0 && r < rows) which[r] = s;
    }
}

int main(void) {
  char dir[] = "/tmp/split_byXXXXXX";
  if (!mkdtemp(dir)) return 1;
  char small[300], big[300];
  snprintf(small, sizeof small, "%s/small.csv", dir);
  snprintf(big, sizeof big, "%s/big.csv", dir);
  write_csv(small, 1000);
  write_csv(big, 1500);

  /* by key: old rows keep their split when rows are appended */
  RtDataSpec s1 = make_spec(small, 11, "key", false), s2 = make_spec(big, 11, "key", false);
  RtData *a = rt_data_load(&s1, RT_TASK_REGRESSION);
  RtData *b = rt_data_load(&s2, RT_TASK_REGRESSION);
  CHECK(a && b, "loads");
  if (a && b) {
    int wa[1500], wb[1500];
    which_split(a, wa, 1500);
    which_split(b, wb, 1500);
    int moved = 0, missing = 0;
    for (int i = 0; i < 1000; i++) moved += wa[i] != wb[i], missing += wa[i] < 0;
    for (int i = 1000; i < 1500; i++) missing += wb[i] < 0;
    CHECK(moved == 0, "%d of 1000 old rows changed split", moved);
    CHECK(missing == 0, "%d rows in no split", missing);
    CHECK(a->split[0].n > 540 && a->split[0].n < 660, "train %lld of 1000", (long long)a->split[0].n);
    CHECK(a->split[1].n > 160 && a->split[1].n < 240, "val %lld of 1000", (long long)a->split[1].n);
    /* rows keep file order inside a split */
    bool ordered = true;
    for (int64_t i = 1; i < a->split[0].n; i++) ordered &= a->split[0].x[i] > a->split[0].x[i - 1];
    CHECK(ordered, "train rows out of file order");
    /* another seed, another assignment */
    RtDataSpec s3 = make_spec(small, 12, "key", false);
    RtData *c = rt_data_load(&s3, RT_TASK_REGRESSION);
    CHECK(c != NULL, "load seed 12");
    if (c) {
      int wc[1500];
      which_split(c, wc, 1500);
      int diff = 0;
      for (int i = 0; i < 1000; i++) diff += wa[i] != wc[i];
      CHECK(diff > 200, "seed 12 moved only %d rows", diff);
    }
    rt_data_free(c);
  }
  rt_data_free(a);
  rt_data_free(b);

  /* the key hash is FNV-1a 64 of the seed's 8 bytes (little-endian), then the cell */
  RtDataSpec ks = make_spec(small, 0, "key", false);
  uint64_t h = rt_split_key(&ks, "abc", 3);
  unsigned char zero[8] = {0};
  CHECK(h == rt_fnv1a("abc", 3, rt_fnv1a(zero, 8, RT_FNV_INIT)), "key hash");

  /* random: round(n p) rows but the last; stratify: per class as well */
  for (int strat = 0; strat < 2; strat++) {
    RtDataSpec s = make_spec(small, 3, NULL, strat);
    RtData *d = rt_data_load(&s, RT_TASK_MULTICLASS);
    CHECK(d != NULL, "load");
    if (!d) continue;
    /* stratified: rounded per class, so val 67+67+67 and test 67+66+66 */
    int64_t want_val = strat ? 201 : 200, want_test = strat ? 199 : 200;
    CHECK(d->split[0].n == 600 && d->split[1].n == want_val && d->split[2].n == want_test,
          "counts %lld %lld %lld", (long long)d->split[0].n, (long long)d->split[1].n,
          (long long)d->split[2].n);
    if (strat) {
      /* 334/333/333 rows per class: round(334*.6)=200, round(334*.2)=67, 67 */
      int64_t cc[3];
      rt_split_class_counts(&d->split[0], 3, cc);
      CHECK(cc[0] == 200 && cc[1] == 200 && cc[2] == 200, "train classes %lld %lld %lld",
            (long long)cc[0], (long long)cc[1], (long long)cc[2]);
      rt_split_class_counts(&d->split[2], 3, cc);
      CHECK(cc[0] == 67 && cc[1] == 66 && cc[2] == 66, "test classes %lld %lld %lld",
            (long long)cc[0], (long long)cc[1], (long long)cc[2]);
    }
    rt_data_free(d);
  }

  /* stratify on a regression label is an error */
  RtDataSpec sr = make_spec(small, 3, NULL, true);
  fflush(stderr);
  RtData *r = rt_data_load(&sr, RT_TASK_REGRESSION);
  rt_diag_flush();
  CHECK(r == NULL, "stratify accepted a regression label");
  rt_data_free(r);

  unlink(small);
  unlink(big);
  rmdir(dir);
  printf("%d checks, %d failed\n", checks, failures);
  return failures != 0;
}
