/* live_window.c — one arm's observation window (rt_live.c, issue 6 item 1):
 * request counts and error rate; p50/p99 latency from the histogram
 * (exact to the µs below 128 µs, within 1/256 above, against the exact
 * nearest rank); drift(col) as PSI against the frozen train bins (0 for
 * the train shares themselves, the closed form for a shifted column, the
 * "other" bin for unseen categories, missing cells not counted,
 * unavailable = NaN with no cell or no distribution) and drift(*) naming
 * its column; the prediction shift of two windows (classes, and
 * regression deciles); feedback: labels by request id give the same
 * metrics as rt_metrics over the same rows, unknown / duplicate / bad
 * labels are told apart, pending ids outlive a reset and the oldest are
 * forgotten past RT_LIVE_PENDING; rt_live_take ends a window without
 * losing a request and rt_live_json shows it (null where unavailable); 8
 * threads adding at once lose nothing. Exits 1 on failure. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

#include "check.h"

/* A model with just what a window reads: task, outputs, classes, the
 * frozen spec's na strings and distributions. */
typedef struct Fake {
  RtModel m;
  RtDataSpec spec;
  RtTrainDist dist[2];
  double cuts[9];
  int64_t xcount[10], ccount[3];
  char *cats[2];
  char *na[1];
} Fake;

static void fake_init(Fake *f, RtTask task, int n_classes, char **class_names) {
  memset(f, 0, sizeof *f);
  /* x: uniform over 10 bins with cuts 10, 20, ..., 90 */
  for (int i = 0; i < 9; i++) f->cuts[i] = 10.0 * (i + 1);
  for (int i = 0; i < 10; i++) f->xcount[i] = 100;
  f->dist[0] = (RtTrainDist){.column = "x", .n_bins = 10, .cuts = f->cuts, .count = f->xcount,
                             .n = 1000};
  /* c: red 600, blue 400 (sorted: blue, red), other 0 */
  f->cats[0] = "blue", f->cats[1] = "red";
  f->ccount[0] = 400, f->ccount[1] = 600, f->ccount[2] = 0;
  f->dist[1] = (RtTrainDist){.column = "c", .cat = true, .n_bins = 3, .cats = f->cats,
                             .count = f->ccount, .n = 1000};
  f->na[0] = "NA";
  f->spec.na = f->na;
  f->spec.n_na = 1;
  f->spec.dist = f->dist;
  f->spec.n_dist = 2;
  f->m.data = &f->spec;
  f->m.desc.task = task;
  f->m.desc.n_layers = 1;
  f->m.desc.layers[0].units = task == RT_TASK_MULTICLASS ? n_classes : 1;
  f->m.n_classes = task == RT_TASK_REGRESSION ? 0 : n_classes;
  f->m.class_names = class_names;
}

static void add_ok(RtLiveWindow *w, double lat, const float *out, const RtLiveCell *cells,
                   const char *id) {
  RtLiveObs o = {.outcome = RT_LIVE_OK, .latency_us = lat, .n_rows = 1, .out = out,
                 .cells = cells, .request_id = id};
  rt_live_add(w, &o);
}

static double psi_ref(const double *a, const double *e, int k) {
  double s = 0;
  for (int i = 0; i < k; i++) {
    double x = a[i] < RT_PSI_EPS ? RT_PSI_EPS : a[i], y = e[i] < RT_PSI_EPS ? RT_PSI_EPS : e[i];
    s += (x - y) * log(x / y);
  }
  return s;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void counts_and_latency(void) {
  Fake f;
  char *cls[2] = {"no", "yes"};
  fake_init(&f, RT_TASK_BINARY, 2, cls);
  RtLiveWindow *w = rt_live_new(&f.m);
  RtLiveStats s;
  rt_live_stats(w, &s);
  CHECK(s.requests == 0 && isnan(s.error_rate) && isnan(s.p50_us) && isnan(s.p99_us),
        "an empty window has numbers");
  float p = 0.7f;
  for (int i = 1; i <= 90; i++) add_ok(w, i + 0.5, &p, NULL, NULL);
  for (int i = 0; i < 7; i++) rt_live_add(w, &(RtLiveObs){.outcome = RT_LIVE_INVALID, .latency_us = 1e6});
  for (int i = 0; i < 3; i++) rt_live_add(w, &(RtLiveObs){.outcome = RT_LIVE_FAILED});
  rt_live_stats(w, &s);
  CHECK(s.requests == 100 && s.ok == 90 && s.invalid == 7 && s.failed == 3 && s.rows == 90,
        "counts %lld %lld %lld %lld", (long long)s.requests, (long long)s.ok,
        (long long)s.invalid, (long long)s.failed);
  CHECK(fabs(s.error_rate - 0.1) < 1e-12, "error rate %g", s.error_rate);
  /* nearest rank over 1.5 .. 90.5 µs, whole µs: ranks 45 and 90 */
  CHECK(s.p50_us == 45 && s.p99_us == 90, "p50 %g p99 %g", s.p50_us, s.p99_us);
  CHECK(rt_live_metric(w, "requests") == 100 && rt_live_metric(w, "p99") == 90 &&
            fabs(rt_live_metric(w, "error_rate") - 0.1) < 1e-12,
        "rt_live_metric");
  rt_live_reset(w);
  rt_live_stats(w, &s);
  CHECK(s.requests == 0 && s.rows == 0, "reset keeps counts");
  /* wide latencies: within 1/256 of the exact nearest rank */
  enum { N = 5000 };
  double *lat = malloc(sizeof(double) * N);
  uint64_t r = 88172645463325252ull;
  for (int i = 0; i < N; i++) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    lat[i] = exp((double)(r >> 11) / 9007199254740992.0 * 14);   /* 1 µs .. 1.2 s */
    add_ok(w, lat[i], &p, NULL, NULL);
  }
  qsort(lat, N, sizeof(double), cmp_d);
  double e50 = lat[(int)ceil(0.5 * N) - 1], e99 = lat[(int)ceil(0.99 * N) - 1];
  rt_live_stats(w, &s);
  CHECK(fabs(s.p50_us - e50) <= e50 / 256 + 1, "p50 %g, exact %g", s.p50_us, e50);
  CHECK(fabs(s.p99_us - e99) <= e99 / 256 + 1, "p99 %g, exact %g", s.p99_us, e99);
  printf("latency: p50 %.1f µs (exact %.1f), p99 %.1f µs (exact %.1f)\n", s.p50_us, e50,
         s.p99_us, e99);
  free(lat);
  rt_live_free(w);
}

static void drift(void) {
  Fake f;
  fake_init(&f, RT_TASK_REGRESSION, 0, NULL);
  RtLiveWindow *w = rt_live_new(&f.m);
  CHECK(rt_live_ncols(w) == 2 && rt_live_col(w, "c") == 1 && rt_live_col(w, "nope") == -1,
        "columns");
  int col = 5;
  CHECK(isnan(rt_live_drift(w, 0)) && isnan(rt_live_drift_max(w, &col)) && col == -1,
        "drift of an empty window is not unavailable");
  CHECK(isnan(rt_live_drift(w, 7)) && isnan(rt_live_drift(w, -1)), "a bad column");
  /* the train shares exactly: x one cell a bin (5, 15, ..., 95), c 3 blue : 2 red...
   * no: 2 blue : 3 red */
  float v = 1;
  for (int rep = 0; rep < 10; rep++)
    for (int b = 0; b < 10; b++) {
      RtLiveCell cells[2] = {{.num = 10.0 * b + 5}, {.str = b < 4 ? "blue" : "red", .len = b < 4 ? 4 : 3}};
      add_ok(w, 10, &v, cells, NULL);
    }
  CHECK(fabs(rt_live_drift(w, 0)) < 1e-12 && fabs(rt_live_drift(w, 1)) < 1e-12,
        "drift of the train shares: %g %g", rt_live_drift(w, 0), rt_live_drift(w, 1));
  /* missing cells are not counted: NaN, "", "NA" */
  RtLiveCell miss[2] = {{.num = NAN}, {.str = "NA", .len = 2}};
  RtLiveCell empty[2] = {{.str = "", .len = 0}, {.str = NULL}};
  for (int i = 0; i < 50; i++) add_ok(w, 10, &v, miss, NULL), add_ok(w, 10, &v, empty, NULL);
  CHECK(fabs(rt_live_drift(w, 0)) < 1e-12 && fabs(rt_live_drift(w, 1)) < 1e-12,
        "missing cells counted");
  rt_live_reset(w);
  /* x all in the top bin, given as text; c half unseen ("green": other) */
  for (int i = 0; i < 100; i++) {
    RtLiveCell cells[2] = {{.str = "95.5", .len = 4}, {.str = i % 2 ? "green" : "red", .len = i % 2 ? 5 : 3}};
    add_ok(w, 10, &v, cells, NULL);
  }
  double ax[10] = {0}, ex[10];
  for (int b = 0; b < 10; b++) ex[b] = 0.1;
  ax[9] = 1;
  double ac[3] = {0, 0.5, 0.5}, ec[3] = {0.4, 0.6, 0};
  double dx = rt_live_drift(w, 0), dc = rt_live_drift(w, 1);
  CHECK(fabs(dx - psi_ref(ax, ex, 10)) < 1e-9, "drift(x) %.6f, expected %.6f", dx,
        psi_ref(ax, ex, 10));
  CHECK(fabs(dc - psi_ref(ac, ec, 3)) < 1e-9, "drift(c) %.6f, expected %.6f", dc,
        psi_ref(ac, ec, 3));
  double dmax = rt_live_drift_max(w, &col);
  CHECK(dmax == (dx > dc ? dx : dc) && col == (dx > dc ? 0 : 1), "drift(*) %g at %d", dmax, col);
  printf("drift: x %.4f, c %.4f, drift(*) %.4f (%s)\n", dx, dc, dmax, col == 0 ? "x" : "c");
  /* cells beside the distribution: one of them missing makes no difference to the other */
  rt_live_reset(w);
  RtLiveCell only_c[2] = {{.num = NAN}, {.str = "blue", .len = 4}};
  add_ok(w, 10, &v, only_c, NULL);
  CHECK(isnan(rt_live_drift(w, 0)) && !isnan(rt_live_drift(w, 1)) &&
            rt_live_drift_max(w, &col) == rt_live_drift(w, 1) && col == 1,
        "drift(*) over the available columns");
  rt_live_free(w);
}

static void prediction_shift(void) {
  Fake f, g;
  char *cls[3] = {"a", "b", "c"};
  fake_init(&f, RT_TASK_MULTICLASS, 3, cls);
  RtLiveWindow *a = rt_live_new(&f.m), *b = rt_live_new(&f.m);
  CHECK(isnan(rt_live_pred_psi(a, b)), "shift of empty windows");
  float o[3][3] = {{0.8f, 0.1f, 0.1f}, {0.1f, 0.8f, 0.1f}, {0.1f, 0.1f, 0.8f}};
  for (int i = 0; i < 100; i++) add_ok(a, 1, o[i % 3], NULL, NULL), add_ok(b, 1, o[i % 3], NULL, NULL);
  CHECK(fabs(rt_live_pred_psi(a, b)) < 1e-12, "same predictions: %g", rt_live_pred_psi(a, b));
  rt_live_reset(a);
  for (int i = 0; i < 100; i++) add_ok(a, 1, o[i < 70 ? 0 : i < 90 ? 1 : 2], NULL, NULL);
  double sa[3] = {0.7, 0.2, 0.1}, sb[3] = {34 / 100.0, 33 / 100.0, 33 / 100.0};
  double got = rt_live_pred_psi(a, b);
  CHECK(fabs(got - psi_ref(sa, sb, 3)) < 1e-9, "class shift %g, expected %g", got,
        psi_ref(sa, sb, 3));
  rt_live_free(a);
  rt_live_free(b);
  /* regression: 10 bins at the reference's deciles */
  fake_init(&g, RT_TASK_REGRESSION, 0, NULL);
  a = rt_live_new(&g.m), b = rt_live_new(&g.m);
  for (int i = 0; i < 1000; i++) {
    float y = (float)i, z = (float)(i % 500);
    add_ok(b, 1, &y, NULL, NULL);
    add_ok(a, 1, &z, NULL, NULL);
  }
  /* ref deciles 100..900: a's values 0..499 twice fill bins 0..4 */
  double ra[10] = {0.2, 0.2, 0.2, 0.2, 0.2, 0, 0, 0, 0, 0}, rb[10];
  for (int i = 0; i < 10; i++) rb[i] = 0.1;
  got = rt_live_pred_psi(a, b);
  CHECK(fabs(got - psi_ref(ra, rb, 10)) < 1e-9, "regression shift %g, expected %g", got,
        psi_ref(ra, rb, 10));
  CHECK(fabs(rt_live_pred_psi(b, b)) < 1e-12, "a window against itself");
  rt_live_free(a);
  rt_live_free(b);
}

static void feedback(void) {
  Fake f;
  char *cls[2] = {"N", "Y"};
  fake_init(&f, RT_TASK_BINARY, 2, cls);
  RtLiveWindow *w = rt_live_new(&f.m);
  enum { N = 200 };
  float out[N], y[N];
  char id[32];
  for (int i = 0; i < N; i++) {
    out[i] = (float)((i * 37) % 100) / 100.0f;
    y[i] = (float)((i * 11) % 3 == 0);
    snprintf(id, sizeof id, "req-%d", i);
    add_ok(w, 5, &out[i], NULL, id);
  }
  /* a request of two rows keeps nothing for feedback */
  float two[2] = {0.1f, 0.9f};
  rt_live_add(w, &(RtLiveObs){.outcome = RT_LIVE_OK, .n_rows = 2, .out = two, .request_id = "pair"});
  CHECK(rt_live_feedback(w, "pair", "Y") == RT_FB_UNKNOWN, "a two-row request took feedback");
  CHECK(rt_live_feedback(w, "nope", "Y") == RT_FB_UNKNOWN, "unknown id");
  CHECK(rt_live_feedback(w, "req-0", "maybe") == RT_FB_BAD_LABEL, "bad label");
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "req-%d", i);
    CHECK(rt_live_feedback(w, id, y[i] > 0 ? "Y" : "N") == RT_FB_OK, "feedback %d", i);
  }
  CHECK(rt_live_feedback(w, "req-3", "Y") == RT_FB_DUPLICATE, "duplicate");
  RtLiveStats s;
  rt_live_stats(w, &s);
  RtMetrics ref = rt_metrics(RT_TASK_BINARY, 2, out, y, N);
  CHECK(s.labelled == N, "labelled %lld", (long long)s.labelled);
  static const char *names[] = {"accuracy", "auc", "precision", "recall", "f1", "log_loss", "loss"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    double a = rt_live_metric(w, names[i]), b = rt_metric_get(&ref, names[i]);
    CHECK(a == b, "live %s %g, rt_metrics %g", names[i], a, b);
  }
  printf("feedback: %d labels, live accuracy %.4f auc %.4f\n", N, s.metrics.accuracy,
         s.metrics.auc);
  /* a reset starts the labelled rows again; the pending ids stay */
  rt_live_reset(w);
  CHECK(isnan(rt_live_metric(w, "accuracy")), "accuracy with no labels");
  add_ok(w, 5, &out[0], NULL, "late");
  rt_live_reset(w);
  CHECK(rt_live_feedback(w, "late", "N") == RT_FB_OK && rt_live_metric(w, "labelled") == 1 &&
            rt_live_metric(w, "accuracy") == 1,
        "feedback after a reset");
  /* the oldest pending ids are forgotten */
  for (int i = 0; i < RT_LIVE_PENDING + 10; i++) {
    snprintf(id, sizeof id, "many-%d", i);
    add_ok(w, 5, &out[0], NULL, id);
  }
  CHECK(rt_live_feedback(w, "many-9", "N") == RT_FB_UNKNOWN &&
            rt_live_feedback(w, "many-10", "N") == RT_FB_OK &&
            rt_live_feedback(w, "late", "N") == RT_FB_UNKNOWN,
        "eviction");
  rt_live_free(w);
  /* a label map, and a regression's numeric label */
  Fake g;
  fake_init(&g, RT_TASK_BINARY, 2, cls);
  char *keys[2] = {"bad", "good"};
  double vals[2] = {1, 0};
  g.spec.label_keys = keys, g.spec.label_vals = vals, g.spec.n_label_map = 2;
  w = rt_live_new(&g.m);
  float hi = 0.9f;
  add_ok(w, 1, &hi, NULL, "m1");
  CHECK(rt_live_feedback(w, "m1", "Y") == RT_FB_BAD_LABEL && rt_live_feedback(w, "m1", "bad") == RT_FB_OK &&
            rt_live_metric(w, "accuracy") == 1,
        "label map");
  rt_live_free(w);
  fake_init(&g, RT_TASK_REGRESSION, 0, NULL);
  w = rt_live_new(&g.m);
  float yv = 2.5f;
  add_ok(w, 1, &yv, NULL, "r1");
  CHECK(rt_live_feedback(w, "r1", "x") == RT_FB_BAD_LABEL && rt_live_feedback(w, "r1", "3.5") == RT_FB_OK &&
            fabs(rt_live_metric(w, "mae") - 1) < 1e-9 && fabs(rt_live_metric(w, "mse") - 1) < 1e-9,
        "regression feedback");
  rt_live_free(w);
}

/* ---- threads ---- */

enum { THREADS = 8, PER = 20000 };

static void *hammer(void *arg) {
  RtLiveWindow *w = arg;
  float p = 0.25f;
  char id[32];
  for (int i = 0; i < PER; i++) {
    RtLiveCell cells[2] = {{.num = (double)(i % 100)}, {.str = "red", .len = 3}};
    snprintf(id, sizeof id, "t%p-%d", (void *)&id, i);
    if (i % 10 == 0) rt_live_add(w, &(RtLiveObs){.outcome = RT_LIVE_INVALID});
    else add_ok(w, i % 300, &p, cells, id);
    if (i % 1000 == 0) {
      RtLiveStats s;
      rt_live_stats(w, &s);
      (void)rt_live_drift_max(w, NULL);
    }
  }
  return NULL;
}

/* A checker taking windows while the workers add: every request lands in
 * exactly one window. */
typedef struct Taker {
  RtLiveWindow *w, *snap;
  atomic_int stop;
  int64_t requests, rows, takes;
} Taker;

static void *taker(void *arg) {
  Taker *t = arg;
  while (!t->stop) {
    rt_live_take(t->w, t->snap);
    RtLiveStats s;
    rt_live_stats(t->snap, &s);
    t->requests += s.requests, t->rows += s.rows, t->takes++;
  }
  return NULL;
}

static void threads(void) {
  Fake f;
  char *cls[2] = {"N", "Y"};
  fake_init(&f, RT_TASK_BINARY, 2, cls);
  RtLiveWindow *w = rt_live_new(&f.m);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, hammer, w);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  RtLiveStats s;
  rt_live_stats(w, &s);
  CHECK(s.requests == THREADS * PER && s.invalid == THREADS * PER / 10 &&
            s.rows == THREADS * PER / 10 * 9,
        "threads: %lld requests, %lld rows", (long long)s.requests, (long long)s.rows);
  /* x: i % 100 over bins of width 10 → uniform: drift 0 */
  CHECK(fabs(rt_live_drift(w, 0)) < 0.01, "threads: drift(x) %g", rt_live_drift(w, 0));
  /* again with windows taken meanwhile */
  rt_live_reset(w);
  Taker tk = {.w = w, .snap = rt_live_new(&f.m)};
  pthread_t tt;
  pthread_create(&tt, NULL, taker, &tk);
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, hammer, w);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  tk.stop = 1;
  pthread_join(tt, NULL);
  rt_live_take(w, tk.snap);
  rt_live_stats(tk.snap, &s);
  tk.requests += s.requests, tk.rows += s.rows;
  CHECK(tk.requests == THREADS * PER && tk.rows == THREADS * PER / 10 * 9,
        "windows taken meanwhile: %lld requests, %lld rows in %lld windows",
        (long long)tk.requests, (long long)tk.rows, (long long)tk.takes);
  printf("threads: %d x %d requests, %lld windows taken meanwhile, none lost\n", THREADS, PER,
         (long long)tk.takes + 1);
  rt_live_free(tk.snap);
  rt_live_free(w);
}

/* rt_live_take moves a window's counts and starts it empty; the JSON
 * carries the figures, null where unavailable. */
static void take_and_json(void) {
  Fake f, g;
  char *cls[2] = {"N", "Y"};
  fake_init(&f, RT_TASK_BINARY, 2, cls);
  fake_init(&g, RT_TASK_BINARY, 2, cls);
  RtLiveWindow *cur = rt_live_new(&f.m), *snap = rt_live_new(&f.m), *other = rt_live_new(&g.m);
  float p = 0.9f;
  for (int i = 0; i < 10; i++) {
    RtLiveCell cells[2] = {{.num = 95}, {.str = "red", .len = 3}};
    char id[16];
    snprintf(id, sizeof id, "k%d", i);
    add_ok(cur, 20, &p, cells, id);
  }
  rt_live_add(cur, &(RtLiveObs){.outcome = RT_LIVE_INVALID});
  CHECK(rt_live_feedback(cur, "k1", "Y") == RT_FB_OK, "feedback before take");
  CHECK(!rt_live_take(cur, cur) && !rt_live_take(cur, other), "take into itself or another model's");
  CHECK(rt_live_take(cur, snap), "take");
  RtLiveStats a, b;
  rt_live_stats(cur, &a);
  rt_live_stats(snap, &b);
  CHECK(a.requests == 0 && a.labelled == 0 && isnan(rt_live_drift(cur, 0)), "take leaves counts");
  CHECK(b.requests == 11 && b.rows == 10 && b.labelled == 1 && b.p50_us == 20 &&
            !isnan(rt_live_drift(snap, 0)),
        "take lost counts: %lld requests", (long long)b.requests);
  /* pending ids stay with the live window */
  CHECK(rt_live_feedback(cur, "k2", "N") == RT_FB_OK && rt_live_metric(cur, "labelled") == 1,
        "feedback after take");
  char *js = rt_live_json(snap, NULL);
  printf("json: %s\n", js ? js : "(null)");
  CHECK(js && strstr(js, "\"requests\":11,\"ok\":10,\"invalid\":1,\"failed\":0,\"rows\":10") &&
            strstr(js, "\"drift_max\":{\"column\":\"x\"") &&
            strstr(js, "\"prediction_shift\":null") && strstr(js, "\"accuracy\":1.0") &&
            strstr(js, "\"auc\":null"),
        "json: %s", js ? js : "(null)");
  free(js);
  js = rt_live_json(cur, snap);   /* cur: no predictions yet; shift unavailable */
  CHECK(js && strstr(js, "\"p50_us\":null") && strstr(js, "\"prediction_shift\":null") &&
            strstr(js, "\"drift\":{\"x\":null,\"c\":null}"),
        "json of an empty window: %s", js ? js : "(null)");
  free(js);
  rt_live_free(cur);
  rt_live_free(snap);
  rt_live_free(other);
}

int main(void) {
  take_and_json();
  counts_and_latency();
  drift();
  prediction_shift();
  feedback();
  threads();
  printf("live_window: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
