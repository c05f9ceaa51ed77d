/* latency.c — one-row in-process predict latency of a trained model, as a
 * server or `predict.p99` sees it: the model's rows (CSV through its frozen
 * preprocessing) are predicted one at a time through the JIT-compiled predict
 * kernel, each call timed alone with CLOCK_MONOTONIC, after a warm-up pass.
 * Prints one JSON object. Run by bench/predict/run.sh.
 *   latency MODEL.mlxm DATA.csv CALLS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/jit_util.h"

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 4) return fprintf(stderr, "usage: latency MODEL.mlxm DATA.csv CALLS\n"), 2;
  long calls = atol(argv[3]);
  RtModel *m = rt_model_load(argv[1]);
  if (!m || calls < 1) return rt_diag_flush(), 4;
  RtTrainCfg cfg = {.name = m->desc.name, .batch = 256, .opt = RT_OPT_SGD};
  Compiled c;
  if (!compile(&c, &m->desc, &cfg, false)) return 5;
  RtSplit s;
  if (rt_data_apply_xf(m->data, argv[2], m->desc.task, m->class_names, m->n_classes, false,
                       c.k.xform, &s) || s.n == 0)
    return rt_diag_flush(), 4;
  int n_in = m->desc.n_in, n_out = m->desc.layers[m->desc.n_layers - 1].units;
  float *work = calloc((size_t)(c.k.n_work > 0 ? c.k.n_work : 1), sizeof(float));
  float out[1024];
  int64_t *t = malloc(sizeof(int64_t) * (size_t)calls);
  if (!work || !t || n_out > 1024) return 5;
  double sink = 0;
  for (int64_t r = 0; r < s.n && r < 10000; r++) {   /* warm-up: code, weights, rows */
    c.k.predict(m->params, work, s.x + r * n_in, 1, out);
    sink += out[0];
  }
  int64_t t_all = now_ns();
  for (long i = 0; i < calls; i++) {
    int64_t r = i % s.n;
    int64_t t0 = now_ns();
    c.k.predict(m->params, work, s.x + r * n_in, 1, out);
    t[i] = now_ns() - t0;
    sink += out[0];
  }
  t_all = now_ns() - t_all;
  /* the clock's own cost, to report beside the figures */
  int64_t t_clock = now_ns();
  for (int i = 0; i < 100000; i++) (void)now_ns();
  t_clock = (now_ns() - t_clock) / 100000;
  qsort(t, (size_t)calls, sizeof *t, cmp_i64);
  printf("{\"model\":\"%s\",\"n_in\":%d,\"params\":%lld,\"calls\":%ld,"
         "\"p50_ns\":%lld,\"p90_ns\":%lld,\"p99_ns\":%lld,\"mean_ns\":%.1f,"
         "\"clock_ns\":%lld,\"checksum\":%.6g}\n",
         m->desc.name, n_in, (long long)m->n_params, calls, (long long)t[calls / 2],
         (long long)t[calls * 9 / 10], (long long)t[calls * 99 / 100],
         (double)t_all / (double)calls, (long long)t_clock, sink);
  free(t);
  free(work);
  rt_split_free(&s);
  release(&c);
  rt_model_free(m);
  return 0;
}
