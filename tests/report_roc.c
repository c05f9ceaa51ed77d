/* report_roc.c — rt_roc (rt_html.c), the ROC curve of the `--report` page:
 * its area is rt_metrics' auc to 1e-9 on scores with and without ties; the
 * curve runs from (0,0) to (1,1) and never goes back; without downsampling
 * the trapezoid area of the points themselves is the auc; with it (100000
 * rows, at most 200 points) within 5e-5 of it; one class gives no curve. */
#include <math.h>
#include <stdlib.h>

#include "runtime/rt.h"

#include "check.h"

#define MAXP 200

static double trapezoid(const double *x, const double *y, int n) {
  double a = 0;
  for (int i = 1; i < n; i++) a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return a;
}

/* n rows of scores: label from the seed, a score that leans on it; ties when
 * the scores are rounded to `levels` values (0: no rounding). */
static void one(int64_t n, int levels, uint64_t seed, bool down_ok) {
  float *s = rt_xmalloc(sizeof(float) * (size_t)n), *y = rt_xmalloc(sizeof(float) * (size_t)n);
  RtRand r;
  rt_rand_seed(&r, seed);
  for (int64_t i = 0; i < n; i++) {
    y[i] = rt_rand_double(&r) < 0.4 ? 1.0f : 0.0f;
    double v = 0.6 * rt_rand_double(&r) + 0.4 * y[i] * rt_rand_double(&r);
    if (levels > 0) v = floor(v * levels) / levels;
    s[i] = (float)v;
  }
  double fpr[MAXP], tpr[MAXP], area;
  int np = rt_roc(s, y, n, MAXP, fpr, tpr, &area);
  RtMetrics m = rt_metrics(RT_TASK_BINARY, 2, s, y, n);
  CHECK(np >= 2 && np <= MAXP, "n %lld levels %d: %d points", (long long)n, levels, np);
  CHECK(fabs(area - m.auc) < 1e-9, "n %lld levels %d: area %.12f, auc %.12f", (long long)n,
        levels, area, m.auc);
  CHECK(fpr[0] == 0 && tpr[0] == 0 && fpr[np - 1] == 1 && tpr[np - 1] == 1,
        "n %lld: the curve does not run from (0,0) to (1,1)", (long long)n);
  bool mono = true;
  for (int i = 1; i < np; i++) mono &= fpr[i] >= fpr[i - 1] && tpr[i] >= tpr[i - 1];
  CHECK(mono, "n %lld levels %d: the curve goes back", (long long)n, levels);
  double t = trapezoid(fpr, tpr, np);
  if (!down_ok)
    CHECK(fabs(t - m.auc) < 1e-9, "n %lld levels %d: points' area %.12f, auc %.12f",
          (long long)n, levels, t, m.auc);
  else {
    printf("n %lld: %d points, their area off the auc by %.1e\n", (long long)n, np,
           fabs(t - m.auc));
    CHECK(fabs(t - m.auc) < 5e-5, "n %lld: downsampled area %.6f, auc %.6f", (long long)n, t,
          m.auc);
  }
  free(s);
  free(y);
}

int main(void) {
  one(150, 0, 1, false);        /* fewer distinct scores than MAXP: every corner */
  one(5000, 20, 2, false);      /* heavy ties: 21 distinct scores */
  one(100000, 0, 3, true);      /* downsampled to MAXP points */
  one(100000, 1000, 4, true);
  /* one class: no curve, NaN area */
  float s[3] = {0.1f, 0.5f, 0.9f}, y[3] = {1, 1, 1};
  double fpr[MAXP], tpr[MAXP], area;
  CHECK(rt_roc(s, y, 3, MAXP, fpr, tpr, &area) == 0 && isnan(area), "one class gave a curve");
  CHECK(rt_roc(s, y, 0, MAXP, fpr, tpr, &area) == 0, "no rows gave a curve");
  /* all scores tied: the diagonal, two points, area 0.5 */
  float t[4] = {0.3f, 0.3f, 0.3f, 0.3f}, ty[4] = {0, 1, 0, 1};
  int np = rt_roc(t, ty, 4, MAXP, fpr, tpr, &area);
  CHECK(np == 2 && area == 0.5, "all tied: %d points, area %g", np, area);
  printf("report_roc: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
