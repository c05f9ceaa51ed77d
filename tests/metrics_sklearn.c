/* metrics_sklearn.c — every metric of rt_metrics against scikit-learn's on
 * the same predictions, to 1e-6. The cases and the expected values are in
 * tests/train/metrics_sklearn.txt, made once by tests/train/make_metrics.py
 * (its first line has the command); this test needs no Python. Also checks
 * the confusion matrix against the counts behind accuracy. Run from the
 * repository root. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

#include "check.h"

#define FIXTURE "tests/train/metrics_sklearn.txt"

int main(void) {
  FILE *f = fopen(FIXTURE, "r");
  if (!f) {
    printf("cannot open %s\n", FIXTURE);
    return 1;
  }
  char line[4096], name[64] = "", task_s[32];
  int k = 0, cases = 0, expects = 0;
  int64_t n = 0, at = 0;
  float *out = NULL, *y = NULL;
  RtTask task = RT_TASK_BINARY;
  RtMetrics m;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    if (!strncmp(line, "case ", 5)) {
      long long nn;
      if (sscanf(line, "case %63s %31s %d %lld", name, task_s, &k, &nn) != 4) break;
      n = nn;
      at = 0;
      task = !strcmp(task_s, "binary") ? RT_TASK_BINARY
             : !strcmp(task_s, "multiclass") ? RT_TASK_MULTICLASS
                                             : RT_TASK_REGRESSION;
      int w = task == RT_TASK_MULTICLASS ? k : 1;
      free(out);
      free(y);
      out = calloc((size_t)(n * w + 1), sizeof(float));
      y = calloc((size_t)(n + 1), sizeof(float));
      for (int64_t i = 0; i < n && fgets(line, sizeof line, f); i++) {
        char *p = line;
        y[i] = strtof(p, &p);
        for (int j = 0; j < w; j++) out[i * w + j] = strtof(p, &p);
        at++;
      }
      CHECK(at == n, "%s: %lld rows of %lld", name, (long long)at, (long long)n);
      m = rt_metrics(task, k, out, y, n);
      cases++;
      /* the confusion matrix agrees with accuracy and the row count */
      if (task != RT_TASK_REGRESSION) {
        int kk = task == RT_TASK_BINARY ? 2 : k;
        int64_t *conf = calloc((size_t)(kk * kk), sizeof(int64_t)), all = 0, diag = 0;
        rt_confusion(task, kk, out, y, n, conf);
        for (int i = 0; i < kk; i++)
          for (int j = 0; j < kk; j++) all += conf[i * kk + j], diag += i == j ? conf[i * kk + j] : 0;
        CHECK(all == n && fabs((double)diag / (double)n - m.accuracy) < 1e-12,
              "%s: confusion %lld rows, %lld right", name, (long long)all, (long long)diag);
        free(conf);
      }
    } else if (!strncmp(line, "expect ", 7)) {
      char metric[64], val[64];
      if (sscanf(line, "expect %63s %63s", metric, val) != 2) break;
      double want = strtod(val, NULL), got = rt_metric_get(&m, metric);
      expects++;
      if (isnan(want))
        CHECK(isnan(got), "%s %s: %.10g, expected undefined (nan)", name, metric, got);
      else
        CHECK(fabs(got - want) <= 1e-6, "%s %s: %.10g, scikit-learn %.10g", name, metric, got,
              want);
    }
  }
  fclose(f);
  free(out);
  free(y);
  CHECK(cases == 13 && expects == 80, "%d cases, %d values read", cases, expects);
  printf("metrics_sklearn: %d cases, %d values, %d checks, %d failed\n", cases, expects, checks,
         failures);
  return failures ? 1 : 0;
}
