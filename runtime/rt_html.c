/* rt_html.c — `mlxc run --report FILE.html`: one self-contained page (inline
 * CSS and SVG, no script, nothing fetched) with a section per train or search
 * block that ran: loss, val metric and learning-rate curves per epoch, the ROC
 * curve of the eval split (binary), a confusion matrix per split, the final
 * metrics and the gates the train names. rt_html_open checks the path can be
 * written before anything trains; rt_html_write writes it atomically
 * (rt_write_atomic) once every block has run. Also rt_roc, the ROC points
 * whose trapezoid area is rt_metrics' auc. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"

/* ---- ROC ------------------------------------------------------------------- */

typedef struct RocRow {
  float p;
  bool pos;
} RocRow;

static int by_score_desc(const void *a, const void *b) {
  float x = ((const RocRow *)a)->p, y = ((const RocRow *)b)->p;
  return (x < y) - (x > y);
}

/* Twice the signed area of the triangle of three count points: 0 when they
 * are on one line (exact in integers up to 2^26 rows a side; doubles beyond). */
static double cross(const double *fp, const double *tp, int64_t a, int64_t b, int64_t c) {
  return (fp[b] - fp[a]) * (tp[c] - tp[a]) - (tp[b] - tp[a]) * (fp[c] - fp[a]);
}

int rt_roc(const float *score, const float *y, int64_t n, int max_pts, double *fpr,
           double *tpr, double *area) {
  *area = NAN;
  if (n <= 0 || max_pts < 2) return 0;
  RocRow *r = rt_xmalloc(sizeof(RocRow) * (size_t)n);
  int64_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    r[i] = (RocRow){score[i], y[i] >= 0.5f};
    pos += r[i].pos;
  }
  if (pos == 0 || pos == n) {
    free(r);
    return 0;
  }
  qsort(r, (size_t)n, sizeof *r, by_score_desc);
  /* one point per distinct score, as counts (false positives, true positives) */
  double *fp = rt_xmalloc(sizeof(double) * (size_t)(n + 1));
  double *tp = rt_xmalloc(sizeof(double) * (size_t)(n + 1));
  int64_t m = 1;
  fp[0] = tp[0] = 0;
  for (int64_t i = 0; i < n;) {
    double f = fp[m - 1], t = tp[m - 1];
    int64_t j = i;
    for (; j < n && r[j].p == r[i].p; j++) {
      if (r[j].pos) t += 1;
      else f += 1;
    }
    fp[m] = f, tp[m] = t;
    m++;
    i = j;
  }
  free(r);
  double P = (double)pos, N = (double)(n - pos), a = 0;
  for (int64_t i = 1; i < m; i++) a += (fp[i] - fp[i - 1]) * (tp[i] + tp[i - 1]) / 2;
  *area = a / (P * N);
  /* a point on the line through its neighbours adds no area: keep only corners */
  int64_t w = 1;
  for (int64_t i = 1; i < m; i++) {
    if (w >= 2 && cross(fp, tp, w - 2, w - 1, i) == 0) w--;
    fp[w] = fp[i], tp[w] = tp[i];
    w++;
  }
  m = w;
  int out = m <= max_pts ? (int)m : max_pts;
  if (out == m) {
    for (int i = 0; i < out; i++) fpr[i] = fp[i] / N, tpr[i] = tp[i] / P;
  } else {
    /* more corners than asked: start from the two ends and keep inserting
     * the corner farthest (by triangle area) from the chord of its piece */
    int64_t *keep = rt_xmalloc(sizeof(int64_t) * (size_t)out);   /* sorted kept corners */
    int64_t *best = rt_xmalloc(sizeof(int64_t) * (size_t)out);   /* per piece k..k+1 */
    double *gain = rt_xmalloc(sizeof(double) * (size_t)out);
    int nk = 2;
    keep[0] = 0, keep[1] = m - 1;
    for (int piece = 0;; ) {
      /* (re)scan piece: its corner farthest from the chord */
      for (int q = piece; q <= piece + 1 && q < nk - 1; q++) {
        best[q] = -1, gain[q] = 0;
        for (int64_t i = keep[q] + 1; i < keep[q + 1]; i++) {
          double g = fabs(cross(fp, tp, keep[q], i, keep[q + 1]));
          if (g > gain[q]) gain[q] = g, best[q] = i;
        }
      }
      if (nk == out) break;
      int top = -1;
      for (int q = 0; q < nk - 1; q++)
        if (best[q] >= 0 && (top < 0 || gain[q] > gain[top])) top = q;
      if (top < 0) break;
      /* insert best[top] after keep[top]; the pieces after it move up one */
      memmove(keep + top + 2, keep + top + 1, sizeof(int64_t) * (size_t)(nk - top - 1));
      memmove(best + top + 2, best + top + 1, sizeof(int64_t) * (size_t)(nk - top - 2));
      memmove(gain + top + 2, gain + top + 1, sizeof(double) * (size_t)(nk - top - 2));
      keep[top + 1] = best[top];
      nk++;
      piece = top;
    }
    out = nk;
    for (int i = 0; i < out; i++) fpr[i] = fp[keep[i]] / N, tpr[i] = tp[keep[i]] / P;
    free(keep);
    free(best);
    free(gain);
  }
  free(fp);
  free(tp);
  return out;
}

/* ---- a growing text buffer ------------------------------------------------- */

typedef struct Buf {
  char *s;
  size_t n, cap;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->s && b->n + (size_t)k < b->cap) {
      b->n += (size_t)k;
      return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap <= b->n + (size_t)k) cap *= 2;
    b->s = rt_xrealloc(b->s, cap);
    b->cap = cap;
  }
}

/* Text with & < > " escaped. */
static void put_esc(Buf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '&': put(b, "&amp;"); break;
    case '<': put(b, "&lt;"); break;
    case '>': put(b, "&gt;"); break;
    case '"': put(b, "&quot;"); break;
    default: put(b, "%c", *s);
    }
  }
}

/* ---- the page ------------------------------------------------------------- */

struct RtHtml {
  char *path;        /* where the page goes */
  char *spec;        /* the spec path, for the title */
  char spec_hash[17];
  Buf toc, body;     /* the contents list and the sections, in run order */
  int n_blocks;
};

RtHtml *rt_html_open(const char *path, const char *spec, const char *spec_hash) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write the report: it is a directory");
    return NULL;
  }
  /* rt_write_atomic writes PATH.tmp and renames it: try creating that now */
  size_t plen = strlen(path);
  char *tmp = rt_xmalloc(plen + 5);
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  bool existed = fd < 0 && errno == EEXIST;
  if (existed) fd = open(tmp, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write the report: %s", strerror(errno));
    free(tmp);
    return NULL;
  }
  close(fd);
  if (!existed) unlink(tmp);
  free(tmp);
  RtHtml *h = rt_xmalloc(sizeof *h);
  h->path = rt_xstrdup(path);
  h->spec = rt_xstrdup(spec);
  snprintf(h->spec_hash, sizeof h->spec_hash, "%s", spec_hash ? spec_hash : "");
  return h;
}

void rt_html_free(RtHtml *h) {
  if (!h) return;
  free(h->path);
  free(h->spec);
  free(h->toc.s);
  free(h->body.s);
  free(h);
}

/* ---- charts --------------------------------------------------------------- */

#define CW 560     /* chart size in px */
#define CH 300
#define ML 84      /* plot margins: left, right, top, bottom */
#define MR 18
#define MT 40
#define MB 48
#define ROC_MAX 200

/* Series colours: train, val, then the rest. */
static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"};

typedef struct Series {
  const char *name;     /* legend text */
  const double *x, *y;  /* x NULL: 1, 2, 3, ... (epochs) */
  int n;
  int color;            /* index into colors */
  bool dashed;
} Series;

/* A step of 1, 2 or 5 times a power of ten giving about `target` ticks. */
static double nice_step(double range, int target) {
  double raw = range / target;
  if (!(raw > 0) || !isfinite(raw)) return 1;
  double mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* A tick label: as many decimals as the step needs; %g for tiny or huge. */
static void tick_label(char *out, size_t n, double v, double step) {
  if (fabs(v) < step * 1e-6) v = 0;
  double big = fabs(v);
  if (step < 1e-3 || big >= 1e6) {   /* enough digits to tell neighbours apart */
    int dig = big > step ? (int)ceil(log10(big / step)) + 1 : 1;
    snprintf(out, n, "%.*g", dig < 3 ? 3 : dig > 12 ? 12 : dig, v);
  }
  else {
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(out, n, "%.*f", dec, v);
  }
}

static double sx(double v, double lo, double hi) {
  return ML + (v - lo) / (hi - lo) * (CW - ML - MR);
}
static double sy(double v, double lo, double hi) {
  return CH - MB - (v - lo) / (hi - lo) * (CH - MT - MB);
}

/* One line chart with axes, ticks, a legend and a title. unit: y fixed to
 * [0, 1] (ROC); otherwise the y range fits the data. */
static void line_chart(Buf *b, const char *id, const char *title, const char *xlabel,
                       const char *ylabel, const Series *s, int ns, bool unit,
                       const char *extra) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (int k = 0; k < ns; k++)
    for (int i = 0; i < s[k].n; i++) {
      double x = s[k].x ? s[k].x[i] : i + 1, y = s[k].y[i];
      if (!isfinite(x) || !isfinite(y)) continue;
      if (x < xlo) xlo = x;
      if (x > xhi) xhi = x;
      if (y < ylo) ylo = y;
      if (y > yhi) yhi = y;
    }
  if (!isfinite(xlo)) xlo = 0, xhi = 1;
  if (!isfinite(ylo)) ylo = 0, yhi = 1;
  if (unit) xlo = ylo = 0, xhi = yhi = 1;
  bool epochs = !s[0].x;
  if (xhi == xlo) xlo -= 0.5, xhi += 0.5;
  /* a flat (or nearly flat, or overflowing) range: widen it so ticks advance */
  if (!(yhi - ylo > fmax(fabs(ylo), fabs(yhi)) * 1e-6) || !isfinite(yhi - ylo)) {
    double pad = ylo != 0 ? fabs(ylo) * 0.1 : 1;
    if (!isfinite(yhi - ylo)) ylo = -1e300, yhi = 1e300, pad = 0;
    ylo -= pad, yhi += pad;
  }
  double ystep = nice_step(yhi - ylo, 5);
  if (!unit) {
    ylo = floor(ylo / ystep) * ystep;
    yhi = ceil(yhi / ystep) * ystep;
  }
  double xstep = epochs ? fmax(1, round(nice_step(xhi - xlo, 8))) : nice_step(xhi - xlo, 5);
  put(b, "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
         "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n<title>",
      id, CW, CH, CW, CH);
  put_esc(b, title);
  put(b, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", CW, CH);
  put(b, "<text class=\"ttl\" x=\"%d\" y=\"18\">", ML);
  put_esc(b, title);
  put(b, "</text>\n");
  /* grid and ticks */
  char lab[64];
  double y0 = ceil(ylo / ystep - 1e-9);
  for (int t = 0; t <= 40 && (y0 + t) * ystep <= yhi + ystep * 1e-9; t++) {
    double v = (y0 + t) * ystep, y = sy(v, ylo, yhi);
    tick_label(lab, sizeof lab, v, ystep);
    put(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
           "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
        ML, y, CW - MR, y, ML - 6, y + 4, lab);
  }
  /* epochs: 1, then the multiples of the step */
  double x0 = epochs && xstep > 1 && xlo >= 1 ? 1 : ceil(xlo / xstep - 1e-9) * xstep;
  int nt = 0;
  for (double v = x0; v <= xhi + xstep * 1e-9 && nt++ <= 40;
       v = epochs && v == 1 && xstep > 1 ? xstep : v + xstep) {
    double x = sx(v, xlo, xhi);
    tick_label(lab, sizeof lab, v, xstep);
    put(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
           "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
        x, MT, x, CH - MB, x, CH - MB + 16, lab);
  }
  put(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
         "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
      ML, CH - MB, CW - MR, CH - MB, ML, MT, ML, CH - MB);
  put(b, "<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
      (ML + CW - MR) / 2, CH - 10, xlabel);
  put(b, "<text class=\"lbl\" x=\"14\" y=\"%d\" text-anchor=\"middle\" "
         "transform=\"rotate(-90 14 %d)\">%s</text>\n",
      (MT + CH - MB) / 2, (MT + CH - MB) / 2, ylabel);
  /* the series: one polyline per finite run of points, markers when few */
  for (int k = 0; k < ns; k++) {
    const char *c = colors[s[k].color % 5];
    bool open = false;
    for (int i = 0; i < s[k].n; i++) {
      double x = s[k].x ? s[k].x[i] : i + 1, y = s[k].y[i];
      if (!isfinite(x) || !isfinite(y)) {
        if (open) put(b, "\"/>\n");
        open = false;
        continue;
      }
      if (!open) {
        put(b, "<polyline class=\"series\" data-series=\"");
        put_esc(b, s[k].name);
        put(b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"%s points=\"", c,
            s[k].dashed ? " stroke-dasharray=\"6 4\"" : "");
        open = true;
      } else {
        put(b, " ");
      }
      put(b, "%.2f,%.2f", sx(x, xlo, xhi), sy(y, ylo, yhi));
    }
    if (open) put(b, "\"/>\n");
    if (s[k].n <= 60 && !s[k].dashed)
      for (int i = 0; i < s[k].n; i++) {
        double x = s[k].x ? s[k].x[i] : i + 1, y = s[k].y[i];
        if (isfinite(x) && isfinite(y))
          put(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", sx(x, xlo, xhi),
              sy(y, ylo, yhi), c);
      }
  }
  /* legend, top right (bottom right on the ROC, which fills the top left) */
  int lx = CW - MR - 190, ly = unit ? CH - MB - 10 - 16 * (ns - 1) : MT + 6;
  put(b, "<g class=\"legend\">\n");
  for (int k = 0; k < ns; k++) {
    int y = ly + 16 * k;
    put(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2.5\"%s/>"
           "<text class=\"tick\" x=\"%d\" y=\"%d\">",
        lx, y, lx + 22, y, colors[s[k].color % 5],
        s[k].dashed ? " stroke-dasharray=\"6 4\"" : "", lx + 28, y + 4);
    put_esc(b, s[k].name);
    put(b, "</text>\n");
  }
  put(b, "</g>\n%s</svg>\n", extra ? extra : "");
}

/* ---- one block's section --------------------------------------------------- */

static const char *const split_names[3] = {"train", "val", "test"};



/* A value for a table cell: 4 decimals, %g when that would hide it, '-' for NaN. */
static void put_num(Buf *b, double v) {
  if (!isfinite(v)) put(b, "-");
  else if (v != 0 && (fabs(v) < 1e-3 || fabs(v) >= 1e6)) put(b, "%.4g", v);
  else put(b, "%.4f", v);
}

static void metrics_table(Buf *b, RtTask task, const RtData *d, const RtTrainResult *res) {
  int nm = rt_task_nmetrics[task];
  put(b, "<table class=\"metrics\">\n<tr><th>split</th><th>rows</th>");
  for (int i = 0; i < nm; i++) put(b, "<th>%s</th>", rt_task_metrics[task][i]);
  put(b, "</tr>\n");
  for (int s = 0; s < 3; s++) {
    put(b, "<tr><th>%s</th><td>%lld</td>", split_names[s], (long long)d->split[s].n);
    for (int i = 0; i < nm; i++) {
      double v = rt_metric_get(&res->split[s], rt_task_metrics[task][i]);
      if (isfinite(v))
        put(b, "<td data-split=\"%s\" data-metric=\"%s\" data-value=\"%.10g\">", split_names[s],
            rt_task_metrics[task][i], v);
      else put(b, "<td data-split=\"%s\" data-metric=\"%s\">", split_names[s],
               rt_task_metrics[task][i]);
      put_num(b, v);
      put(b, "</td>");
    }
    put(b, "</tr>\n");
  }
  if (res->cv_folds > 0) {
    put(b, "<tr><th>cv val</th><td>%d folds</td>", res->cv_folds);
    for (int i = 0; i < nm; i++) {
      put(b, "<td>");
      put_num(b, rt_metric_get(&res->cv_mean, rt_task_metrics[task][i]));
      put(b, " &plusmn; ");
      put_num(b, rt_metric_get(&res->cv_std, rt_task_metrics[task][i]));
      put(b, "</td>");
    }
    put(b, "</tr>\n");
  }
  put(b, "</table>\n");
}

/* Confusion matrix of split s as a table: rows true, columns predicted, each
 * cell shaded by its share of the row. */
static void confusion_table(Buf *b, const RtData *d, const RtTrainResult *res, int s) {
  int k = res->conf_k;
  const int64_t *c = res->confusion[s];
  put(b, "<table class=\"confusion\" data-split=\"%s\">\n<caption>%s (%lld rows)</caption>\n"
         "<tr><th>true \\ predicted</th>",
      split_names[s], split_names[s], (long long)d->split[s].n);
  for (int j = 0; j < k; j++) {
    put(b, "<th>");
    put_esc(b, j < d->n_classes ? d->class_names[j] : "?");
    put(b, "</th>");
  }
  put(b, "</tr>\n");
  for (int i = 0; i < k; i++) {
    int64_t row = 0;
    for (int j = 0; j < k; j++) row += c[i * k + j];
    put(b, "<tr><th>");
    put_esc(b, i < d->n_classes ? d->class_names[i] : "?");
    put(b, "</th>");
    for (int j = 0; j < k; j++) {
      double f = row > 0 ? (double)c[i * k + j] / (double)row : 0;
      put(b, "<td style=\"background:rgba(31,119,180,%.2f);%s\">%lld</td>", 0.08 + 0.8 * f,
          f > 0.5 ? "color:#fff" : "", (long long)c[i * k + j]);
    }
    put(b, "</tr>\n");
  }
  put(b, "</table>\n");
}

static const char *const opt_names[] = {"sgd", "adam", "adamw", "adagrad", "rmsprop"};

/* A JSON scalar as a table cell: integers whole, reals as put_num (metric)
 * or %g (a setting), strings escaped. */
static void put_json(Buf *b, const json_t *v, bool metric) {
  if (json_is_integer(v)) put(b, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v) && !metric) put(b, "%g", json_real_value(v));
  else if (json_is_number(v)) put_num(b, json_number_value(v));
  else if (json_is_string(v)) put_esc(b, json_string_value(v));
  else if (json_is_true(v)) put(b, "true");
  else if (json_is_false(v)) put(b, "false");
  else put(b, "-");
}

/* A search block: its trials from DIR/NAME.search.json (rt_run_search writes
 * it before re-training the winner), one row each, the winner marked. */
static void search_table(Buf *b, const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 16;
  char *path = rt_xmalloc(n);
  snprintf(path, n, "%s/%s.search.json", dir, name);
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  json_t *trials = json_object_get(j, "trials");
  const char *metric = json_string_value(json_object_get(json_object_get(j, "pick"), "metric"));
  json_int_t win = json_integer_value(json_object_get(json_object_get(j, "winner"), "trial"));
  put(b, "<h3>Search trials</h3>\n");
  if (!json_is_array(trials) || json_array_size(trials) == 0 || !metric ||
      !strchr(metric, '.')) {
    put(b, "<p class=\"note\">No trial table: ");
    put_esc(b, path);
    put(b, " could not be read.</p>\n");
    json_decref(j);
    free(path);
    return;
  }
  char split[16];
  snprintf(split, sizeof split, "%.*s", (int)(strchr(metric, '.') - metric), metric);
  const char *mname = strchr(metric, '.') + 1;
  json_t *first = json_object_get(json_array_get(trials, 0), "values");
  const char *key;
  json_t *v;
  put(b, "<table class=\"trials\">\n<tr><th>trial</th>");
  json_object_foreach(first, key, v) {
    put(b, "<th>");
    put_esc(b, key);
    put(b, "</th>");
  }
  put(b, "<th>");
  put_esc(b, metric);
  put(b, " (pick %s)</th></tr>\n",
      json_string_value(json_object_get(json_object_get(j, "pick"), "direction"))
          ? json_string_value(json_object_get(json_object_get(j, "pick"), "direction"))
          : "");
  size_t i;
  json_t *t;
  json_array_foreach(trials, i, t) {
    json_int_t id = json_integer_value(json_object_get(t, "trial"));
    put(b, "<tr%s><td>%lld%s</td>", id == win ? " class=\"winner\"" : "", (long long)id,
        id == win ? " (winner)" : "");
    json_t *vals = json_object_get(t, "values");
    json_object_foreach(first, key, v) {
      put(b, "<td>");
      put_json(b, json_object_get(vals, key), false);
      put(b, "</td>");
    }
    put(b, "<td>");
    put_json(b, json_object_get(json_object_get(t, split), mname), true);
    put(b, "</td></tr>\n");
  }
  put(b, "</table>\n");
  json_decref(j);
  free(path);
}

int rt_html_add(RtHtml *h, const RtTrainCfg *cfg, const RtModelDesc *m, const MlxKernels *k,
                const float *params, const RtData *d, const RtTrainResult *res,
                const RtRunInfo *info) {
  Buf *b = &h->body;
  const char *kind = info && info->kind ? info->kind : "train";
  const char *name = cfg->name ? cfg->name : "model";
  int id = ++h->n_blocks;
  put(&h->toc, "<li><a href=\"#b%d\">%s ", id, kind);
  put_esc(&h->toc, name);
  put(&h->toc, "</a></li>\n");
  put(b, "<section id=\"b%d\" data-block=\"", id);
  put_esc(b, name);
  put(b, "\">\n<h2>%s ", kind);
  put_esc(b, name);
  put(b, "</h2>\n<p class=\"facts\">");
  if (!strcmp(kind, "search")) put(b, "the winning trial, re-trained; ");
  put(b, "%s task, model ", rt_task_name(m->task));
  put_esc(b, m->name ? m->name : "?");
  put(b, ", %s lr %g, batch %d, seed %llu; rows train %lld, val %lld, test %lld; ",
      cfg->opt <= RT_OPT_RMSPROP ? opt_names[cfg->opt] : "?", (double)cfg->lr, cfg->batch,
      (unsigned long long)cfg->seed, (long long)d->split[0].n, (long long)d->split[1].n,
      (long long)d->split[2].n);
  put(b, "%d epoch%s run, best epoch %d", res->n_epochs, res->n_epochs == 1 ? "" : "s",
      res->best_epoch);
  if (res->stopped_epoch > 0) put(b, ", early stop after epoch %d", res->stopped_epoch);
  if (res->predict_measured)   /* rt_gate.c */
    put(b, "; one-row predict p50 %.3g us, p99 %.3g us", res->predict_us[0], res->predict_us[2]);
  put(b, ".</p>\n<div class=\"charts\">\n");
  int ne = res->n_epochs;
  bool has_val = d->split[1].n > 0;
  char cid[64], title[160];
  /* loss */
  Series loss[2] = {{.name = "train loss", .y = res->train_loss, .n = ne, .color = 0},
                    {.name = "val loss", .y = res->val_loss, .n = ne, .color = 1}};
  snprintf(cid, sizeof cid, "b%d-loss", id);
  line_chart(b, cid, "Loss per epoch", "epoch", "loss", loss, has_val ? 2 : 1, false, NULL);
  /* val metrics: one chart each, their scales differ */
  const char *vm[2] = {NULL, NULL};
  if (m->task == RT_TASK_BINARY) vm[0] = "accuracy", vm[1] = "auc";
  else if (m->task == RT_TASK_MULTICLASS) vm[0] = "accuracy", vm[1] = "f1";
  else vm[0] = "rmse", vm[1] = "r2";
  double *mv = rt_xmalloc(sizeof(double) * (size_t)(ne > 0 ? ne : 1));
  for (int j = 0; j < 2 && has_val; j++) {
    for (int e = 0; e < ne; e++) mv[e] = rt_metric_get(&res->val[e], vm[j]);
    char sname[64];
    snprintf(sname, sizeof sname, "val %s", vm[j]);
    Series sv = {.name = sname, .y = mv, .n = ne, .color = 1};
    snprintf(cid, sizeof cid, "b%d-val-%s", id, vm[j]);
    snprintf(title, sizeof title, "Validation %s per epoch", vm[j]);
    line_chart(b, cid, title, "epoch", vm[j], &sv, 1, false, NULL);
  }
  free(mv);
  /* learning rate */
  Series lr = {.name = "lr (first step of the epoch)", .y = res->epoch_lr, .n = ne, .color = 2};
  snprintf(cid, sizeof cid, "b%d-lr", id);
  line_chart(b, cid, "Learning rate per epoch", "epoch", "learning rate", &lr, 1, false, NULL);
  /* ROC of the test split (val when test is empty) */
  int es = d->split[2].n > 0 ? 2 : 1;
  const RtSplit *sp = &d->split[es];
  bool roc_done = false;
  if (m->task == RT_TASK_BINARY && sp->n > 0 && k && params) {
    int n_out = m->layers[m->n_layers - 1].units;
    float *pred = rt_xmalloc(sizeof(float) * (size_t)(sp->n * n_out));
    float *work = rt_xmalloc(sizeof(float) * (size_t)(k->n_work > 0 ? k->n_work : 1));
    k->predict(params, work, sp->x, sp->n, pred);
    free(work);
    double fpr[ROC_MAX], tpr[ROC_MAX], area;
    int np = rt_roc(pred, sp->y, sp->n, ROC_MAX, fpr, tpr, &area);
    free(pred);
    if (np > 0) {
      double diag[2] = {0, 1};
      char rname[64];
      snprintf(rname, sizeof rname, "ROC (AUC %.4f)", area);
      Series roc[2] = {{.name = rname, .x = fpr, .y = tpr, .n = np, .color = 0},
                       {.name = "chance", .x = diag, .y = diag, .n = 2, .color = 3,
                        .dashed = true}};
      snprintf(cid, sizeof cid, "b%d-roc", id);
      snprintf(title, sizeof title, "ROC curve, %s split (%lld rows)", split_names[es],
               (long long)sp->n);
      /* the points unrounded, for readers and tests: "fpr,tpr" pairs */
      Buf pts = {0};
      put(&pts, "<desc class=\"roc-points\" data-auc=\"%.12g\">", area);
      for (int i = 0; i < np; i++) put(&pts, "%s%.10g,%.10g", i ? " " : "", fpr[i], tpr[i]);
      put(&pts, "</desc>\n");
      line_chart(b, cid, title, "false positive rate", "true positive rate", roc, 2, true,
                 pts.s);
      free(pts.s);
      roc_done = true;
    }
  }
  put(b, "</div>\n");
  if (m->task == RT_TASK_BINARY && !roc_done)
    put(b, "<p class=\"note\">No ROC curve: the %s split is empty or holds one class.</p>\n",
        split_names[es]);
  if (!has_val) put(b, "<p class=\"note\">The val split is empty: no val curves.</p>\n");
  if (!strcmp(kind, "search"))
    search_table(b, info && info->out_dir ? info->out_dir : "out", name);
  put(b, "<h3>Final metrics</h3>\n");
  metrics_table(b, m->task, d, res);
  if (res->conf_k > 0) {
    put(b, "<h3>Confusion matrices</h3>\n<div class=\"confs\">\n");
    for (int s = 0; s < 3; s++)
      if (d->split[s].n > 0) confusion_table(b, d, res, s);
    put(b, "</div>\n");
  }
  put(b, "<h3>Gates</h3>\n");
  int ng = info ? info->n_gates : 0;
  if (ng == 0) {
    put(b, "<p class=\"gates\">%s ", kind);
    put_esc(b, name);
    put(b, " names no gate.</p>\n");
  } else {
    /* each clause as rt_gate.c evaluated it: value, threshold, result */
    put(b, "<table class=\"gates\">\n<tr><th>gate</th><th>clause</th><th>value</th>"
           "<th>threshold</th><th>result</th></tr>\n");
    for (int i = 0; i < res->n_gate_res; i++) {
      const RtGateResult *r = &res->gate_res[i];
      const char *word = r->passed > 0 ? "passed" : r->passed == 0 ? "failed" : "skipped";
      put(b, "<tr class=\"gate-%s\"><td>", word);
      put_esc(b, r->gate);
      put(b, "</td><td style=\"text-align:left\"><code>");
      put_esc(b, r->expr);
      put(b, "</code></td><td>");
      put_num(b, r->value);
      put(b, "%s</td><td>", r->duration && isfinite(r->value) ? " us" : "");
      put_num(b, r->threshold);
      put(b, "%s</td><td>%s</td></tr>\n", r->duration && isfinite(r->threshold) ? " us" : "",
          word);
    }
    if (res->n_gate_res == 0)
      for (int g = 0; g < ng; g++) {
        put(b, "<tr><td>");
        put_esc(b, info->gates[g]);
        put(b, "</td><td colspan=\"4\">checks nothing</td></tr>\n");
      }
    put(b, "</table>\n");
  }
  put(b, "</section>\n");
  return 0;
}

static const char css[] =
    "body{font:14px/1.4 'DejaVu Sans',Arial,sans-serif;color:#222;margin:24px;max-width:1200px}"
    "h1{font-size:22px}h2{font-size:18px;border-top:1px solid #ccc;padding-top:12px}"
    "h3{font-size:15px;margin:14px 0 6px}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}"
    "svg.chart{border:1px solid #ddd;background:#fff}"
    "svg .ttl{font-size:14px;font-weight:bold;fill:#222}"
    "svg .tick{font-size:11px;fill:#444}svg .lbl{font-size:12px;fill:#222}"
    "svg .grid{stroke:#eee;stroke-width:1}svg .axis{stroke:#444;stroke-width:1}"
    "table{border-collapse:collapse;margin:6px 12px 6px 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f4f4f4}caption{font-weight:bold;text-align:left}"
    "tr.winner td{font-weight:bold;background:#eef6ee}"
    "tr.gate-passed td{background:#eef6ee}tr.gate-failed td{background:#fbeaea}"
    ".confs{display:flex;flex-wrap:wrap}.note,.facts{color:#555}";

int rt_html_write(RtHtml *h) {
  Buf p = {0};
  put(&p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mlxc "
          "report: ");
  put_esc(&p, h->spec);
  put(&p, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>mlxc report: ", css);
  put_esc(&p, h->spec);
  put(&p, "</h1>\n<p class=\"facts\">spec hash %s; %d block%s.</p>\n<ul class=\"toc\">\n%s</ul>\n",
      h->spec_hash, h->n_blocks, h->n_blocks == 1 ? "" : "s", h->toc.s ? h->toc.s : "");
  put(&p, "%s</body>\n</html>\n", h->body.s ? h->body.s : "");
  int r = rt_write_atomic(h->path, p.s, p.n);
  free(p.s);
  if (!r) {
    printf("wrote %s\n", h->path);
    fflush(stdout);
  }
  return r;
}
