/* predict_rows.c — a row's prediction does not depend on the rows predicted
 * with it: for each spec, a model with random weights predicts its CSV in one
 * call, then every row alone and in calls of 2..9 rows at every offset, and
 * each output must have the bits of the one-call prediction. (`mlxc serve`
 * predicts a request's rows, `mlxc predict` a whole file, a gate's latency
 * one row at a time: all must agree.) Both vector widths. Run from the
 * repository root. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jit_util.h"

static const char *const specs[][2] = {
    {"examples/credit.mlx", "examples/data/credit.csv"},
    {"examples/housing.mlx", "examples/data/housing.csv"},
    {"examples/sensors.mlx", "examples/data/sensors.csv"},
    {"tests/xform/ops.mlx", "tests/xform/values.csv"},
};

static int64_t compared;

static void run_case(const char *spec, const char *csv) {
  Arena a = {0};
  Program *p = check_spec(&a, spec);
  CHECK(p && p->ntrains >= 1, "%s does not check", spec);
  if (!p || p->ntrains < 1) return arena_free(&a);
  for (int ti = 0; ti < p->ntrains; ti++) {
    SemaTrain *t = &p->trains[ti];
    RtData *d = rt_data_load(t->data, t->model->task);
    rt_diag_flush();
    CHECK(d != NULL, "%s: the data does not load", spec);
    if (!d) continue;
    RtModel *m = random_model(t, d, 5);
    const float *params = m ? m->params : NULL;
    Compiled c;
    RtSplit s;
    if (m && compile(&c, t->model, t->cfg, false) &&
        rt_data_apply_xf(m->data, csv, t->model->task, d->class_names, d->n_classes, false,
                         c.k.xform, &s) == 0) {
      int nin = t->model->n_in, nout = t->model->layers[t->model->n_layers - 1].units;
      int64_t n = s.n;
      float *work = malloc(sizeof(float) * (size_t)(c.k.n_work + 1));
      float *all = malloc(sizeof(float) * (size_t)(n * nout + 1));
      float *part = malloc(sizeof(float) * (size_t)(9 * nout + 1));
      c.k.predict(params, work, s.x, n, all);
      int bad = 0;
      for (int len = 1; len <= 9; len++)
        for (int64_t r0 = 0; r0 + len <= n && bad < 3; r0 += len == 1 ? 1 : 7) {
          c.k.predict(params, work, s.x + r0 * nin, len, part);
          if (memcmp(part, all + r0 * nout, sizeof(float) * (size_t)(len * nout))) {
            CHECK(0, "%s (%s): rows %lld..%lld predicted %d at a time differ from one call",
                  spec, t->cfg->name, (long long)r0, (long long)(r0 + len - 1), len);
            bad++;
          }
          compared += len;
        }
      free(part);
      free(all);
      free(work);
      rt_split_free(&s);
      release(&c);
    } else {
      CHECK(0, "%s: compile or apply failed", spec);
    }
    rt_diag_flush();
    rt_model_free(m);
    rt_data_free(d);
  }
  arena_free(&a);
}

int main(void) {
  static const char *const widths[] = {"512", "256"};
  for (int w = 0; w < 2; w++) {
    setenv("MLXC_VECTOR_BITS", widths[w], 1);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) run_case(specs[i][0], specs[i][1]);
  }
  printf("predict_rows: %lld rows compared, %d checks failed\n", (long long)compared, failures);
  return failures != 0;
}
