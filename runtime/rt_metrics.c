/* rt_metrics.c — metrics of one split from the model's predictions, used by
 * the training loop (per-epoch validation, final table), `mlxc eval` and the
 * gates. Everything is summed in double whatever the kernels' precision. */
#include <math.h>

#include "rt.h"

#define P_CLIP 1e-7   /* probabilities are clipped to [P_CLIP, 1 - P_CLIP] in log losses */

static double clip(double p) { return p < P_CLIP ? P_CLIP : p > 1 - P_CLIP ? 1 - P_CLIP : p; }

/* One pass over the rows per task: the loss the model trains on (mse, bce,
 * cross entropy; means), accuracy for classes, mse and mae for values. A
 * binary prediction is positive (class 1) when p >= 0.5; a multiclass one is
 * the first largest probability. */
RtMetrics rt_metrics(RtTask task, int n_classes, const float *out, const float *y, int64_t n) {
  RtMetrics m = {.loss = NAN, .accuracy = NAN, .mse = NAN, .mae = NAN, .n = n};
  if (n <= 0) {
    m.n = 0;
    return m;
  }
  double loss = 0, hits = 0, se = 0, ae = 0;
  switch (task) {
  case RT_TASK_REGRESSION:
    for (int64_t i = 0; i < n; i++) {
      double e = (double)out[i] - (double)y[i];
      se += e * e;
      ae += fabs(e);
    }
    m.mse = se / (double)n;
    m.mae = ae / (double)n;
    m.loss = m.mse;
    break;
  case RT_TASK_BINARY:
    for (int64_t i = 0; i < n; i++) {
      double p = clip(out[i]);
      bool pos = y[i] >= 0.5f;
      loss -= pos ? log(p) : log(1 - p);
      hits += (out[i] >= 0.5f) == pos;
    }
    m.loss = loss / (double)n;
    m.accuracy = hits / (double)n;
    break;
  case RT_TASK_MULTICLASS: {
    int k = n_classes > 0 ? n_classes : 1;
    for (int64_t i = 0; i < n; i++) {
      const float *p = out + i * k;
      int c = (int)y[i];
      if (c < 0 || c >= k) c = 0;   /* labels are validated on load; stay in bounds */
      int best = 0;
      for (int j = 1; j < k; j++)
        if (p[j] > p[best]) best = j;
      loss -= log(clip(p[c]));
      hits += best == c;
    }
    m.loss = loss / (double)n;
    m.accuracy = hits / (double)n;
    break;
  }
  }
  return m;
}
