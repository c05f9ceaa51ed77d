/* xform_jit.c — the compiled transforms (xform_emit.c, mlx_xform) against
 * the interpreter (rt_xform.c), which stays the reference. For each spec:
 * rt_data_load computes the train/val/test matrices with the interpreter;
 * the model is compiled with its fitted inputs, the data is loaded again
 * with fit_only (as `mlxc run` does: the statistics only) and rt_data_xform
 * computes the inputs with mlx_xform: every float must be bit-identical
 * (and rt_data_xform does nothing on the interpreter's load). Then the
 * model goes through a .mlxm and back, and the predict path (rt_data_apply
 * vs rt_data_apply_xf) must agree bit for bit too, and on errors. Run from
 * the repository root. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "jit_util.h"

typedef struct Case {
  const char *spec;      /* the spec; its first train block */
  const char *predict;   /* a CSV for the predict path */
} Case;

static const Case cases[] = {
    {"tests/xform/values.mlx", "tests/xform/values.csv"},
    {"tests/xform/ops.mlx", "tests/xform/values.csv"},
    {"tests/xform/messy.mlx", "tests/xform/new.csv"},
    {"examples/credit.mlx", "examples/data/credit.csv"},
    {"examples/housing.mlx", "examples/data/housing.csv"},
    {"examples/sensors.mlx", "examples/data/sensors.csv"},
    /* extern fn calls (xform_extern.c against rt_extern.c's libffi calls) */
    {"tests/extern/libm.mlx", "examples/data/credit.csv"},
    {"tests/extern/sensors.mlx", "examples/data/sensors.csv"},
};

/* Floats of a and b that have the same bits. */
static int64_t same_bits(const float *a, const float *b, int64_t n) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++) k += memcmp(&a[i], &b[i], sizeof(float)) == 0;
  return k;
}

static int64_t total, equal;   /* values compared, bit-identical */

static void run_case(const Case *cs, const char *dir) {
  Arena a = {0};
  Program *p = check_spec(&a, cs->spec);
  CHECK(p && p->ntrains >= 1, "%s does not check", cs->spec);
  if (!p || p->ntrains < 1) return;
  SemaTrain *t = &p->trains[0];
  RtData *d = rt_data_load(t->data, t->model->task);
  rt_diag_flush();
  CHECK(d != NULL, "%s: the data does not load", cs->spec);
  if (!d) return;
  int nf = d->n_feats;
  float *ref[3];
  for (int s = 0; s < 3; s++) {
    size_t n = sizeof(float) * (size_t)(d->split[s].n * nf);
    ref[s] = malloc(n + 1);
    memcpy(ref[s], d->split[s].x, n);
  }
  /* training: the same matrices from mlx_xform */
  t->model->n_in = nf;
  t->model->xfeats = d->feats, t->model->n_xfeats = nf;
  Compiled c;
  CHECK(compile(&c, t->model, t->cfg, false) && c.k.xform, "%s: no mlx_xform", cs->spec);
  if (c.k.xform) {
    /* the interpreter's load keeps no cells: nothing to redo */
    CHECK(d->xraw == NULL && !d->x_pending, "%s: cells kept after the interpreter", cs->spec);
    CHECK(rt_data_xform(d, c.k.xform) == 0, "%s: rt_data_xform failed", cs->spec);
    rt_diag_flush();
    for (int s = 0; s < 3; s++)
      CHECK(same_bits(ref[s], d->split[s].x, d->split[s].n * nf) == d->split[s].n * nf,
            "%s split %d: rt_data_xform changed the interpreter's values", cs->spec, s);
    /* `mlxc run`: fit_only fits the statistics without the interpreter's
     * evaluation, and mlx_xform alone fills the matrices: the same bits */
    t->data->fit_only = true;
    RtData *fo = rt_data_load(t->data, t->model->task);
    t->data->fit_only = false;
    rt_diag_flush();
    CHECK(fo && fo->x_pending && fo->xraw && fo->n_feats == nf, "%s: fit_only load", cs->spec);
    for (int i = 0; fo && fo->n_feats == nf && i < nf; i++) {
      const RtFeature *g = &fo->feats[i], *h = &d->feats[i];
      bool same = g->n_prog == h->n_prog && !memcmp(&g->mean, &h->mean, sizeof g->mean) &&
                  !memcmp(&g->std, &h->std, sizeof g->std);
      for (int k = 0; same && k < g->n_prog; k++)
        same = !memcmp(&g->prog[k].a, &h->prog[k].a, sizeof(double)) &&
               !memcmp(&g->prog[k].b, &h->prog[k].b, sizeof(double));
      CHECK(same, "%s: fit_only statistics of input %d differ", cs->spec, i);
    }
    if (fo && fo->n_feats == nf) {
      CHECK(rt_data_xform(fo, c.k.xform) == 0 && !fo->x_pending, "%s: fit_only xform", cs->spec);
      rt_diag_flush();
      for (int s = 0; s < 3; s++) {
        int64_t n = fo->split[s].n * nf, k = same_bits(ref[s], fo->split[s].x, n);
        total += n, equal += k;
        CHECK(k == n && fo->split[s].n == d->split[s].n,
              "%s fit_only split %d: %lld of %lld values bit-identical", cs->spec, s,
              (long long)k, (long long)n);
      }
    }
    rt_data_free(fo);
  }
  release(&c);

  /* predict: through a .mlxm, the interpreter and mlx_xform on the same CSV */
  RtModel *m = random_model(t, d, 1);
  char path[600];
  snprintf(path, sizeof path, "%s/m.mlxm", dir);
  CHECK(m && rt_model_save(path, m) == 0, "%s: save", cs->spec);
  RtModel *back = rt_model_load(path);
  rt_diag_flush();
  CHECK(back && back->desc.xfeats == back->data->feats, "%s: load", cs->spec);
  if (back && compile(&c, &back->desc, t->cfg, false)) {
    RtSplit si, sc;
    int ri = rt_data_apply(back->data, cs->predict, back->desc.task, back->class_names,
                           back->n_classes, false, &si);
    int rc = rt_data_apply_xf(back->data, cs->predict, back->desc.task, back->class_names,
                              back->n_classes, false, c.k.xform, &sc);
    rt_diag_flush();
    CHECK(ri == 0 && rc == 0 && si.n == sc.n && si.n > 0, "%s: predict path %d %d", cs->spec,
          ri, rc);
    if (ri == 0 && rc == 0 && si.n == sc.n) {
      int64_t n = si.n * nf, k = same_bits(si.x, sc.x, n);
      total += n, equal += k;
      CHECK(k == n, "%s predict: %lld of %lld values bit-identical", cs->spec, (long long)k,
            (long long)n);
    }
    if (ri == 0) rt_split_free(&si);
    if (rc == 0) rt_split_free(&sc);
    /* a value that is not finite: both paths refuse the same row */
    if (!strcmp(cs->spec, "tests/xform/ops.mlx")) {
      char bad[600];
      snprintf(bad, sizeof bad, "%s/bad.csv", dir);
      FILE *f = fopen(bad, "w");
      fprintf(f, "rowid,a,b,color,c,shade,z\n1,2,3,red,1,dark,1\n2,3e38,3e38,red,1,dark,1\n");
      fclose(f);
      fprintf(stderr, "xform_jit: two errors for %s, interpreter then compiled:\n", bad);
      ri = rt_data_apply(back->data, bad, back->desc.task, NULL, 0, false, &si);
      rt_diag_flush();
      rc = rt_data_apply_xf(back->data, bad, back->desc.task, NULL, 0, false, c.k.xform, &sc);
      rt_diag_flush();
      CHECK(ri == -1 && rc == -1, "a non-finite input: %d %d", ri, rc);
      unlink(bad);
    }
    release(&c);
  }
  unlink(path);
  rt_model_free(back);
  rt_model_free(m);
  for (int s = 0; s < 3; s++) free(ref[s]);
  rt_data_free(d);
  arena_free(&a);
}

int main(void) {
  rt_allow_extern = true;   /* tests/extern's specs call libm and libc */
  char dir[] = "/tmp/xform_jit.XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], dir);
  rmdir(dir);
  printf("xform_jit: %lld of %lld values bit-identical\n", (long long)equal, (long long)total);
  printf("xform_jit: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
