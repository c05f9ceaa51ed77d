/* live_dist.c — each raw input column's training distribution (issue 6:
 * drift's reference), fitted by rt_data_load on the train rows and frozen
 * in the .mlxm (minor 3): a number column's cut points are its train
 * deciles with every train cell counted in its bin, missing cells left
 * out, equal deciles merged; a category column's train counts sorted by
 * bytes, then "other". The distribution survives freeze, save and load;
 * a minor 2 file (no distributions) still loads, with none; a corrupt
 * distribution is refused, never a crash; a file longer than the sample
 * and wider than a block still gets every column's deciles. Exits 1 on
 * failure. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

#define ROWS 1000

/* x: 0..999 in a scrambled order; z: the same with every tenth cell
 * missing; k: always 5; c: a 500, b 300, c 200; y: a number. */
static bool write_csv(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return false;
  fprintf(f, "x,z,k,c,y\n");
  for (int i = 0; i < ROWS; i++) {
    int x = (i * 7919) % ROWS;
    const char *c = i % 10 < 5 ? "a" : i % 10 < 8 ? "b" : "c";
    if (i % 10 == 3) fprintf(f, "%d,,5,%s,%d\n", x, c, i % 7);
    else fprintf(f, "%d,%d,5,%s,%d\n", x, x, c, i % 7);
  }
  return fclose(f) == 0;
}

static RtDataSpec *make_spec(const char *csv) {
  static RtFeature feats[4];
  static RtMissing miss[1];
  static char *na[1] = {""};
  static RtDataSpec spec;
  memset(&spec, 0, sizeof spec);
  feats[0] = (RtFeature){.name = "x", .column = "x", .xform = RT_XF_STANDARDIZE};
  feats[1] = (RtFeature){.name = "z", .column = "z", .xform = RT_XF_STANDARDIZE};
  feats[2] = (RtFeature){.name = "k", .column = "k", .xform = RT_XF_NONE};
  feats[3] = (RtFeature){.name = "c", .column = "c", .onehot = RT_OH_OTHER};
  miss[0] = (RtMissing){.column = "z", .kind = RT_MISS_MEAN};
  spec.name = "d";
  spec.csv_path = (char *)csv;
  spec.na = na;
  spec.n_na = 1;
  spec.feats = feats;
  spec.n_feats = 4;
  spec.missing = miss;
  spec.n_missing = 1;
  spec.label = "y";
  spec.split[0] = 1;
  spec.split_seed = 9;
  return &spec;
}

static bool dist_equal(const RtTrainDist *a, const RtTrainDist *b) {
  if (strcmp(a->column, b->column) || a->cat != b->cat || a->n_bins != b->n_bins || a->n != b->n)
    return false;
  for (int i = 0; i < a->n_bins; i++) {
    if (a->count[i] != b->count[i]) return false;
    if (i < a->n_bins - 1 && a->cat && strcmp(a->cats[i], b->cats[i])) return false;
    if (i < a->n_bins - 1 && !a->cat && a->cuts[i] != b->cuts[i]) return false;
  }
  return true;
}

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Fixes a model image's payload length and checksum after an edit. */
static void fix_header(unsigned char *b, size_t size) {
  put_u64(b + 16, size - 32);
  put_u64(b + 24, rt_fnv1a(b + 32, size - 32, rt_fnv1a(b, 24, RT_FNV_INIT)));
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *b = malloc(1 << 22);
  *n = fread(b, 1, 1 << 22, f);
  fclose(f);
  return b;
}

/* A wide file beyond the sample: 40000 rows of 20 number columns (column
 * j a permutation of j .. 39999 + j), so the cut points come from a sample
 * (within 1.25% of the exact deciles) and two blocks of columns are fitted;
 * every row is still counted. */
static void wide(const char *dir) {
  enum { R = 40000, C = 20 };
  char csv[300];
  snprintf(csv, sizeof csv, "%s/wide.csv", dir);
  FILE *f = fopen(csv, "w");
  if (!f) return;
  for (int j = 0; j < C; j++) fprintf(f, "w%d,", j);
  fprintf(f, "y\n");
  for (int i = 0; i < R; i++) {
    for (int j = 0; j < C; j++) fprintf(f, "%lld,", (long long)i * (2 * j + 3) % R + j);
    fprintf(f, "%d\n", i % 5);
  }
  fclose(f);
  RtDataSpec spec = {.name = "w", .csv_path = csv, .star = true, .star_xform = RT_XF_STANDARDIZE,
                     .label = "y", .split = {1, 0, 0}, .split_seed = 4};
  RtData *d = rt_data_load(&spec, RT_TASK_REGRESSION);
  rt_diag_flush();
  CHECK(d && d->n_dist == C, "wide: %d distributions", d ? d->n_dist : -1);
  for (int j = 0; d && j < d->n_dist && d->n_dist == C; j++) {
    const RtTrainDist *t = &d->dist[j];
    char name[16];
    snprintf(name, sizeof name, "w%d", j);
    CHECK(!strcmp(t->column, name) && t->n == R && t->n_bins == 10, "wide %s: %s %lld cells %d bins",
          name, t->column, (long long)t->n, t->n_bins);
    for (int b = 0; b < 9 && t->n_bins == 10; b++)
      CHECK(fabs(t->cuts[b] - (R / 10.0 * (b + 1) + j)) < R / 80.0, "wide %s cut %d: %g", name, b,
            t->cuts[b]);
    for (int b = 0; b < t->n_bins; b++)
      CHECK(fabs((double)t->count[b] / R - 0.1) < 0.0125, "wide %s bin %d: %lld", name, b,
            (long long)t->count[b]);
  }
  rt_data_free(d);
  unlink(csv);
}

int main(void) {
  char dir[] = "/tmp/live_dist.XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char csv[300], mpath[300];
  snprintf(csv, sizeof csv, "%s/d.csv", dir);
  snprintf(mpath, sizeof mpath, "%s/m.mlxm", dir);
  CHECK(write_csv(csv), "cannot write %s", csv);
  RtDataSpec *spec = make_spec(csv);
  RtData *d = rt_data_load(spec, RT_TASK_REGRESSION);
  rt_diag_flush();
  CHECK(d != NULL, "the file does not load");
  if (!d) return 1;
  CHECK(d->n_dist == 4, "%d distributions, expected 4 (x z k c)", d->n_dist);
  if (d->n_dist != 4) return 1;
  const RtTrainDist *x = &d->dist[0], *z = &d->dist[1], *k = &d->dist[2], *c = &d->dist[3];
  CHECK(!strcmp(x->column, "x") && !strcmp(z->column, "z") && !strcmp(k->column, "k") &&
            !strcmp(c->column, "c"), "columns not in header order");
  /* x: 0..999, deciles 100..900, 100 cells a bin */
  CHECK(!x->cat && x->n_bins == 10 && x->n == ROWS, "x: %d bins, %lld cells", x->n_bins,
        (long long)x->n);
  for (int b = 0; b < 9 && x->n_bins == 10; b++)
    CHECK(x->cuts[b] == 100.0 * (b + 1), "x cut %d is %g", b, x->cuts[b]);
  for (int b = 0; b < x->n_bins; b++) CHECK(x->count[b] == 100, "x bin %d: %lld", b, (long long)x->count[b]);
  /* z: missing cells are not counted (the fill is not the raw column) */
  int64_t zs = 0;
  for (int b = 0; b < z->n_bins; b++) zs += z->count[b];
  CHECK(z->n == 900 && zs == 900 && z->n_bins == 10, "z: %lld cells, %d bins", (long long)z->n,
        z->n_bins);
  /* k: one value, the deciles merge into one cut */
  CHECK(k->n_bins == 2 && k->cuts[0] == 5 && k->count[0] == 0 && k->count[1] == ROWS,
        "k: %d bins", k->n_bins);
  /* c: categories sorted, counts, other */
  CHECK(c->cat && c->n_bins == 4 && c->n == ROWS, "c: %d bins", c->n_bins);
  if (c->cat && c->n_bins == 4) {
    CHECK(!strcmp(c->cats[0], "a") && !strcmp(c->cats[1], "b") && !strcmp(c->cats[2], "c"),
          "c categories");
    CHECK(c->count[0] == 500 && c->count[1] == 300 && c->count[2] == 200 && c->count[3] == 0,
          "c counts %lld %lld %lld %lld", (long long)c->count[0], (long long)c->count[1],
          (long long)c->count[2], (long long)c->count[3]);
  }
  CHECK(rt_dist_bin(x, -1) == 0 && rt_dist_bin(x, 99.5) == 0 && rt_dist_bin(x, 100) == 1 &&
            rt_dist_bin(x, 1e9) == 9, "number bins");

  /* freeze, save, load: the same distributions */
  RtDataSpec *frozen = rt_data_freeze(spec, d);
  RtModelDesc desc = {.name = "m", .n_in = d->n_feats, .n_layers = 1, .task = RT_TASK_REGRESSION};
  desc.layers[0] = (RtLayer){1, RT_ACT_IDENTITY};
  int64_t wo[RT_MAX_LAYERS], bo[RT_MAX_LAYERS];
  int64_t np = rt_param_layout(&desc, wo, bo);
  float *params = calloc((size_t)np, sizeof(float));
  RtModel *m = rt_model_new(&desc, frozen, 0, NULL, params, np, "0123456789abcdef", "{}");
  CHECK(m && m->data->n_dist == 4, "the model has no distributions");
  CHECK(rt_model_save(mpath, m) == 0, "save");
  RtModel *back = rt_model_load(mpath);
  rt_diag_flush();
  CHECK(back && back->data->n_dist == 4, "the loaded model has no distributions");
  for (int i = 0; back && i < 4 && back->data->n_dist == 4; i++)
    CHECK(dist_equal(&d->dist[i], &back->data->dist[i]), "distribution %d differs after load", i);

  /* a minor 2 file: the same bytes without the minor 3 part */
  size_t size;
  unsigned char *img = read_all(mpath, &size);
  size_t dn = 0;
  unsigned char *blob = rt_live_dist_encode(m->data, &dn);
  free(blob);
  if (img && size > 4 + dn) {
    unsigned char *old = malloc(size);
    memcpy(old, img, size);
    size_t osize = size - 4 - dn;
    old[10] = 2, old[11] = 0;
    fix_header(old, osize);
    RtModel *m2 = rt_model_load_mem(old, osize, "old.mlxm");
    rt_diag_flush();
    CHECK(m2 && m2->data->n_dist == 0 && m2->data->dist == NULL,
          "a minor 2 file does not load, or has distributions");
    if (m2) {
      RtLiveWindow *w = rt_live_new(m2);
      int col = 7;
      CHECK(rt_live_ncols(w) == 0 && isnan(rt_live_drift_max(w, &col)) && col == -1,
            "drift of a model without distributions is not unavailable");
      rt_live_free(w);
    }
    rt_model_free(m2);
    /* every byte of the minor 3 part changed in turn: refused or loaded, never a crash */
    int refused = 0;
    fflush(stderr);
    int err = dup(2), null = open("/dev/null", O_WRONLY);   /* 400 messages: not shown */
    if (null >= 0) dup2(null, 2);
    for (size_t at = size - dn; at < size; at++) {
      unsigned char *bad = malloc(size);
      memcpy(bad, img, size);
      bad[at] ^= 0x5a;
      fix_header(bad, size);
      RtModel *mb = rt_model_load_mem(bad, size, "bad.mlxm");
      rt_diag_flush();
      if (!mb) refused++;
      rt_model_free(mb);
      free(bad);
    }
    fflush(stderr);
    if (err >= 0) dup2(err, 2), close(err);
    if (null >= 0) close(null);
    printf("live_dist: %zu distribution bytes changed one at a time: %d refused\n", dn, refused);
    CHECK(refused > 0, "no corrupt distribution refused");
    /* cuts that do not increase: refused */
    unsigned char *bad = malloc(size);
    memcpy(bad, img, size);
    /* x's first cut sits after the blob's u32 count, str "x" (4+1), u8 kind, u32 bins */
    size_t cut0 = size - dn + 4 + 5 + 1 + 4;
    double big = 1e9;
    memcpy(bad + cut0, &big, 8);
    fix_header(bad, size);
    RtModel *mb = rt_model_load_mem(bad, size, "bad.mlxm");
    rt_diag_flush();
    CHECK(mb == NULL, "cut points out of order were accepted");
    rt_model_free(mb);
    free(bad);
    free(old);
  }
  free(img);
  rt_model_free(back);
  rt_model_free(m);
  rt_data_spec_free(frozen);
  free(params);
  rt_data_free(d);
  unlink(csv);
  unlink(mpath);
  wide(dir);
  rmdir(dir);
  printf("live_dist: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
