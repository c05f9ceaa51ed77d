/* rt_classw.c — the weight of each class for `class_weights`: named classes
 * get their weight, the others 1; `balanced` gives n / (K * n_c) over the
 * train split, as scikit-learn's compute_class_weight("balanced"). The step
 * kernel reads the table through MlxHyper.class_w. */
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

float *rt_class_weights(const RtTrainCfg *cfg, const RtData *d, bool *err) {
  *err = false;
  if (!cfg || (!cfg->class_w_balanced && cfg->n_class_w == 0) || !d || d->n_classes < 1)
    return NULL;
  int K = d->n_classes;
  float *w = rt_xmalloc(sizeof(float) * (size_t)K);
  for (int c = 0; c < K; c++) w[c] = 1;
  if (cfg->class_w_balanced) {
    const RtSplit *tr = &d->split[0];
    int64_t *cnt = rt_xmalloc(sizeof(int64_t) * (size_t)K);
    memset(cnt, 0, sizeof(int64_t) * (size_t)K);
    for (int64_t i = 0; i < tr->n; i++) {
      int c = (int)tr->y[i];
      if (c >= 0 && c < K) cnt[c]++;
    }
    for (int c = 0; c < K; c++)
      w[c] = cnt[c] ? (float)((double)tr->n / ((double)K * (double)cnt[c])) : 1.0f;
    free(cnt);
    return w;
  }
  for (int i = 0; i < cfg->n_class_w; i++) {
    int found = -1;
    for (int c = 0; c < K && found < 0; c++)
      if (d->class_names && d->class_names[c] && !strcmp(d->class_names[c], cfg->class_w_names[i]))
        found = c;
    if (found < 0) {
      rt_diag(RT_ERROR, cfg->class_w_loc, "class '%s' is not a class of the label",
              cfg->class_w_names[i]);
      *err = true;
      continue;
    }
    w[found] = cfg->class_w_vals[i];
  }
  if (*err) {
    free(w);
    return NULL;
  }
  return w;
}
