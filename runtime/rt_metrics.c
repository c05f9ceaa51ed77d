/* rt_metrics.c — metrics of one split from the model's predictions, used by
 * the training loop (per-epoch validation, final table), `mlxc eval` and the
 * gates. Everything is summed in double whatever the kernels' precision.
 * Each metric is the one scikit-learn computes on the same predictions
 * (tests/metrics_sklearn.c holds the two to 1e-6):
 *
 *   precision recall f1   binary: of class 1 (average='binary'); multiclass:
 *                         macro over the classes present in the labels or the
 *                         predictions (sklearn's unique_labels), *_w weighted
 *                         by support; 0 where a ratio is 0/0 (zero_division)
 *   auc                   roc_auc_score: the Mann-Whitney statistic with tied
 *                         scores sharing their average rank; NaN with one class
 *   log_loss              as the loss: probabilities clipped to [1e-7, 1-1e-7]
 *   r2                    1 - SS_res/SS_tot; SS_tot = 0 gives 1 when SS_res = 0,
 *                         else 0 (force_finite)                                */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* The metrics each task defines (DESIGN §2.2), in the order metrics.json,
 * search.json and the report list them. */
const char *const rt_task_metrics[3][9] = {
    {"loss", "mse", "rmse", "mae", "r2"},
    {"loss", "accuracy", "precision", "recall", "f1", "auc", "log_loss"},
    {"loss", "accuracy", "precision", "recall", "f1", "log_loss", "precision_weighted",
     "recall_weighted", "f1_weighted"}};
const int rt_task_nmetrics[3] = {5, 7, 9};

const char *rt_task_name(RtTask t) {
  return t == RT_TASK_REGRESSION ? "regression" : t == RT_TASK_BINARY ? "binary" : "multiclass";
}

#define P_CLIP 1e-7   /* probabilities are clipped to [P_CLIP, 1 - P_CLIP] in log losses */

static double clip(double p) { return p < P_CLIP ? P_CLIP : p > 1 - P_CLIP ? 1 - P_CLIP : p; }

/* The predicted class of row i: binary p >= 0.5, multiclass the first largest. */
static int predicted(RtTask task, int k, const float *out, int64_t i) {
  if (task == RT_TASK_BINARY) return out[i] >= 0.5f;
  const float *p = out + i * k;
  int best = 0;
  for (int j = 1; j < k; j++)
    if (p[j] > p[best]) best = j;
  return best;
}

static int true_class(RtTask task, int k, float y) {
  if (task == RT_TASK_BINARY) return y >= 0.5f;
  int c = (int)y;
  return c < 0 || c >= k ? 0 : c;   /* labels are validated on load; stay in bounds */
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

/* Counts of each class's true, predicted and correct rows into tp/npred/ntrue. */
static void class_counts(RtTask task, int k, const float *out, const float *y, int64_t n,
                         int64_t *tp, int64_t *npred, int64_t *ntrue) {
  for (int j = 0; j < k; j++) tp[j] = npred[j] = ntrue[j] = 0;
  for (int64_t i = 0; i < n; i++) {
    int t = true_class(task, k, y[i]), p = predicted(task, k, out, i);
    ntrue[t]++;
    npred[p]++;
    if (t == p) tp[t]++;
  }
}

void rt_confusion(RtTask task, int k, const float *out, const float *y, int64_t n,
                  int64_t *conf) {
  if (task == RT_TASK_BINARY) k = 2;
  memset(conf, 0, sizeof(int64_t) * (size_t)k * (size_t)k);
  for (int64_t i = 0; i < n; i++)
    conf[true_class(task, k, y[i]) * k + predicted(task, k, out, i)]++;
}

typedef struct Scored {
  float p;
  bool pos;
} Scored;

static int by_score(const void *a, const void *b) {
  float x = ((const Scored *)a)->p, y = ((const Scored *)b)->p;
  return (x > y) - (x < y);
}

/* ROC AUC: (sum of the positives' ranks - P(P+1)/2) / (P N), ranks 1-based
 * over ascending scores, a run of equal scores sharing its average rank. */
static double auc(const float *out, const float *y, int64_t n) {
  Scored *s = malloc(sizeof(Scored) * (size_t)n);
  if (!s) {
    fprintf(stderr, "mlxc: error: out of memory\n");
    exit(5);
  }
  int64_t pos = 0;
  bool nan = false;   /* a diverged model's NaN scores have no ranks: no auc */
  for (int64_t i = 0; i < n; i++) {
    s[i] = (Scored){out[i], y[i] >= 0.5f};
    pos += s[i].pos;
    nan |= isnan(out[i]);
  }
  double r = NAN;
  if (pos > 0 && pos < n && !nan) {
    qsort(s, (size_t)n, sizeof *s, by_score);
    double ranks = 0;
    for (int64_t i = 0; i < n;) {
      int64_t j = i, npos = 0;
      /* j == i: a NaN score equals nothing, not even itself, yet the run must advance */
      while (j < n && (j == i || s[j].p == s[i].p)) npos += s[j++].pos;
      ranks += (double)npos * ((double)(i + 1) + (double)j) / 2;   /* mean of ranks i+1..j */
      i = j;
    }
    double p = (double)pos, q = (double)(n - pos);
    r = (ranks - p * (p + 1) / 2) / (p * q);
  }
  free(s);
  return r;
}

/* precision, recall, f1 from one class's counts. */
static void prf(int64_t tp, int64_t npred, int64_t ntrue, double *p, double *r, double *f) {
  *p = ratio((double)tp, (double)npred);
  *r = ratio((double)tp, (double)ntrue);
  *f = ratio(2.0 * (double)tp, (double)(npred + ntrue));
}

/* One pass over the rows per task for the loss the model trains on (mse, bce,
 * cross entropy; means) and the rest of the task's metrics. */
RtMetrics rt_metrics(RtTask task, int n_classes, const float *out, const float *y, int64_t n) {
  RtMetrics m = {.loss = NAN, .accuracy = NAN, .mse = NAN, .mae = NAN, .n = n,
                 .rmse = NAN, .r2 = NAN, .precision = NAN, .recall = NAN, .f1 = NAN,
                 .log_loss = NAN, .auc = NAN, .precision_w = NAN, .recall_w = NAN,
                 .f1_w = NAN};
  if (n <= 0) {
    m.n = 0;
    return m;
  }
  double loss = 0, se = 0, ae = 0;
  switch (task) {
  case RT_TASK_REGRESSION: {
    double ymean = 0, tot = 0;
    for (int64_t i = 0; i < n; i++) ymean += (double)y[i];
    ymean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
      double e = (double)out[i] - (double)y[i], d = (double)y[i] - ymean;
      se += e * e;
      ae += fabs(e);
      tot += d * d;
    }
    m.mse = se / (double)n;
    m.mae = ae / (double)n;
    m.rmse = sqrt(m.mse);
    m.r2 = tot > 0 ? 1 - se / tot : se == 0 ? 1 : 0;
    m.loss = m.mse;
    break;
  }
  case RT_TASK_BINARY: {
    int64_t tp[2], np[2], nt[2];
    for (int64_t i = 0; i < n; i++) {
      double p = clip(out[i]);
      loss -= y[i] >= 0.5f ? log(p) : log(1 - p);
    }
    class_counts(task, 2, out, y, n, tp, np, nt);
    m.loss = m.log_loss = loss / (double)n;
    m.accuracy = (double)(tp[0] + tp[1]) / (double)n;
    prf(tp[1], np[1], nt[1], &m.precision, &m.recall, &m.f1);
    m.auc = auc(out, y, n);
    break;
  }
  case RT_TASK_MULTICLASS: {
    int k = n_classes > 0 ? n_classes : 1;
    int64_t *c = malloc(sizeof(int64_t) * 3 * (size_t)k);
    if (!c) {
      fprintf(stderr, "mlxc: error: out of memory\n");
      exit(5);
    }
    int64_t *tp = c, *np = c + k, *nt = c + 2 * k;
    for (int64_t i = 0; i < n; i++) loss -= log(clip(out[i * k + true_class(task, k, y[i])]));
    class_counts(task, k, out, y, n, tp, np, nt);
    int64_t hits = 0;
    int present = 0;
    double sp = 0, sr = 0, sf = 0, wp = 0, wr = 0, wf = 0;
    for (int j = 0; j < k; j++) {
      hits += tp[j];
      if (np[j] + nt[j] == 0) continue;   /* sklearn averages over the classes it sees */
      double p, r, f;
      prf(tp[j], np[j], nt[j], &p, &r, &f);
      present++;
      sp += p, sr += r, sf += f;
      wp += p * (double)nt[j], wr += r * (double)nt[j], wf += f * (double)nt[j];
    }
    m.loss = m.log_loss = loss / (double)n;
    m.accuracy = (double)hits / (double)n;
    m.precision = sp / present, m.recall = sr / present, m.f1 = sf / present;
    m.precision_w = wp / (double)n, m.recall_w = wr / (double)n, m.f1_w = wf / (double)n;
    free(c);
    break;
  }
  }
  return m;
}

/* Names as DESIGN §2.2 spells them, with the field each reads. */
static const struct {
  const char *name;
  size_t off;
  bool higher;
} fields[] = {
    {"loss", offsetof(RtMetrics, loss), false},
    {"accuracy", offsetof(RtMetrics, accuracy), true},
    {"precision", offsetof(RtMetrics, precision), true},
    {"recall", offsetof(RtMetrics, recall), true},
    {"f1", offsetof(RtMetrics, f1), true},
    {"auc", offsetof(RtMetrics, auc), true},
    {"log_loss", offsetof(RtMetrics, log_loss), false},
    {"mse", offsetof(RtMetrics, mse), false},
    {"rmse", offsetof(RtMetrics, rmse), false},
    {"mae", offsetof(RtMetrics, mae), false},
    {"r2", offsetof(RtMetrics, r2), true},
    {"precision_weighted", offsetof(RtMetrics, precision_w), true},
    {"recall_weighted", offsetof(RtMetrics, recall_w), true},
    {"f1_weighted", offsetof(RtMetrics, f1_w), true},
};

double rt_metric_get(const RtMetrics *m, const char *name) {
  for (size_t i = 0; name && i < sizeof fields / sizeof *fields; i++)
    if (!strcmp(fields[i].name, name)) return *(const double *)((const char *)m + fields[i].off);
  return NAN;
}

bool rt_metric_higher(const char *name) {
  for (size_t i = 0; name && i < sizeof fields / sizeof *fields; i++)
    if (!strcmp(fields[i].name, name)) return fields[i].higher;
  return false;
}
