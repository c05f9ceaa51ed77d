/* rt_live.c — the live side of a release (issue 6): sticky buckets, the
 * training distribution of each raw input column (fitted by rt_xform.c on
 * the train rows, frozen in the .mlxm as minor version 3), and the
 * observation window of one arm (requests, error rate, latency, prediction
 * shift, drift, feedback metrics). Serving feeds windows; the release rules
 * read them. Nothing here knows HTTP or the journal.
 * Ownership: an RtTrainDist array is owned by the RtData / RtDataSpec that
 * holds it (rt_live_dist_free); a window borrows its model, which must
 * outlive it, and owns everything else. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_out.h"

/* ---- sticky buckets ------------------------------------------------------------ */

int rt_bucket(const char *key, size_t len, const char *salt) {
  static const unsigned char zero = 0;
  uint64_t h = RT_FNV_INIT;
  if (salt) h = rt_fnv1a(salt, strlen(salt), h);
  h = rt_fnv1a(&zero, 1, h);
  h = rt_fnv1a(key ? key : "", key ? len : 0, h);
  return (int)(rt_mix64(h) % RT_BUCKETS);   /* mixed: FNV-1a's low bits are weak */
}

bool rt_bucket_candidate(int bucket, double weight_pct) {
  return bucket >= 0 && (double)bucket < weight_pct * (RT_BUCKETS / 100);
}

/* ---- training distributions ----------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void rt_select_kth(double *v, int64_t lo, int64_t hi, int64_t k) {
  while (lo < hi) {
    double pivot = v[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        double t = v[i];
        v[i++] = v[j];
        v[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

int rt_dist_cuts(double *v, int64_t n, double cuts[RT_DIST_BINS - 1]) {
  int k = 0;
  int64_t from = 0;
  for (int q = 1; q < RT_DIST_BINS && n > 0; q++) {
    int64_t at = (int64_t)((double)n * q / RT_DIST_BINS);
    rt_select_kth(v, from, n - 1, at);   /* ranks below `from` are already in place */
    from = at;
    double c = v[at];
    if (k == 0 || c > cuts[k - 1]) cuts[k++] = c;
  }
  return k;
}

/* The bin of a number: how many of the (at most 9) cuts are <= x, counted
 * without a branch (bisection mispredicts on every cell of a fit). */
static int num_bin(const double *cuts, int n_cuts, double x) {
  int b = 0;
  for (int i = 0; i < n_cuts; i++) b += cuts[i] <= x;
  return b;
}

int rt_dist_bin(const RtTrainDist *t, double x) { return num_bin(t->cuts, t->n_bins - 1, x); }

/* The bin of a category: its index among the sorted names, else "other". */
static int cat_bin(const RtTrainDist *t, const char *s, size_t len) {
  int lo = 0, hi = t->n_bins - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    const char *c = t->cats[mid];
    size_t cn = strlen(c);
    int r = memcmp(c, s, cn < len ? cn : len);
    if (r == 0) r = cn < len ? -1 : cn > len;
    if (r == 0) return mid;
    if (r < 0) lo = mid + 1;
    else hi = mid;
  }
  return t->n_bins - 1;
}

void rt_dist_set_cats(RtTrainDist *t, const char *column, char *const *names,
                      const int64_t *count, int n) {
  t->column = rt_xstrdup(column);
  t->cat = true;
  int k = 0;
  char **nm = rt_xmalloc(sizeof(char *) * (size_t)(n + 1));
  for (int i = 0; i < n; i++)
    if (count[i] > 0) nm[k++] = (char *)names[i];
  qsort(nm, (size_t)k, sizeof(char *), cmp_str);
  t->n_bins = k + 1;
  t->cats = rt_xmalloc(sizeof(char *) * (size_t)(k + 1));
  t->count = rt_xmalloc(sizeof(int64_t) * (size_t)(k + 1));
  t->n = 0;
  for (int i = 0; i < k; i++) {
    t->cats[i] = rt_xstrdup(nm[i]);
    for (int j = 0; j < n; j++)
      if (names[j] == nm[i]) t->count[i] = count[j];
    t->n += t->count[i];
  }
  free(nm);
}

void rt_live_dist_free(RtTrainDist *t, int n) {
  for (int i = 0; t && i < n; i++) {
    free(t[i].column);
    free(t[i].cuts);
    for (int c = 0; t[i].cats && c < t[i].n_bins - 1; c++) free(t[i].cats[c]);
    free(t[i].cats);
    free(t[i].count);
  }
  free(t);
}

RtTrainDist *rt_live_dist_copy(const RtTrainDist *t, int n) {
  if (!t || n <= 0) return NULL;
  RtTrainDist *o = rt_xmalloc(sizeof(RtTrainDist) * (size_t)n);
  for (int i = 0; i < n; i++) {
    o[i] = t[i];
    o[i].column = rt_xstrdup(t[i].column);
    int nb = t[i].n_bins;
    o[i].count = rt_xmalloc(sizeof(int64_t) * (size_t)nb);
    memcpy(o[i].count, t[i].count, sizeof(int64_t) * (size_t)nb);
    o[i].cuts = NULL, o[i].cats = NULL;
    if (t[i].cuts && nb > 1) {
      o[i].cuts = rt_xmalloc(sizeof(double) * (size_t)(nb - 1));
      memcpy(o[i].cuts, t[i].cuts, sizeof(double) * (size_t)(nb - 1));
    }
    if (t[i].cats) {
      o[i].cats = rt_xmalloc(sizeof(char *) * (size_t)nb);
      for (int c = 0; c < nb - 1; c++) o[i].cats[c] = rt_xstrdup(t[i].cats[c]);
    }
  }
  return o;
}

/* The .mlxm blob (minor 3), little-endian, strings u32 length + bytes:
 *   u32 n_dist, then per column: str column, u8 kind (0 number, 1 category),
 *   u32 n_bins, then n_bins - 1 cuts (f64) or category names (str), then
 *   n_bins u64 train counts. */
unsigned char *rt_live_dist_encode(const RtDataSpec *s, size_t *len) {
  Out o = {0};
  int n = s && s->dist ? s->n_dist : 0;
  out_u32(&o, (uint32_t)n);
  for (int i = 0; i < n; i++) {
    const RtTrainDist *t = &s->dist[i];
    out_str(&o, t->column);
    out_u8(&o, t->cat);
    out_u32(&o, (uint32_t)t->n_bins);
    for (int b = 0; b < t->n_bins - 1; b++) {
      if (t->cat) {
        out_str(&o, t->cats[b]);
      } else {
        out_f64(&o, t->cuts[b]);
      }
    }
    for (int b = 0; b < t->n_bins; b++) out_u64(&o, (uint64_t)t->count[b]);
  }
  *len = o.len;
  if (!o.p) o.p = rt_xmalloc(1);
  return o.p;
}

const char *rt_live_dist_decode(RtDataSpec *s, const unsigned char *p, size_t len) {
  static const char W[] = "distributions";
  In r = {p, len, 0, NULL};
  uint32_t n = in_count(&r, 17, W);   /* each column: at least 4 + 1 + 4 + 8 bytes */
  if (r.bad || n == 0) return r.bad;
  s->dist = rt_xmalloc(sizeof(RtTrainDist) * (size_t)n);
  s->n_dist = (int)n;
  for (uint32_t i = 0; i < n && !r.bad; i++) {
    RtTrainDist *t = &s->dist[i];
    t->column = in_str(&r, W);
    t->cat = in_u8(&r, W, 1) == 1;
    uint32_t nb = in_u32(&r, W);
    if (r.bad) break;
    /* n_bins counts (8 bytes) and n_bins - 1 cuts or names (at least 4) */
    if (nb < 1 || nb > (r.len - r.at + 4) / 12 || (!t->cat && nb > RT_DIST_BINS)) {
      r.bad = W;
      break;
    }
    t->n_bins = (int)nb;
    t->count = rt_xmalloc(sizeof(int64_t) * (size_t)nb);
    if (t->cat) t->cats = rt_xmalloc(sizeof(char *) * (size_t)nb);
    else t->cuts = rt_xmalloc(sizeof(double) * (size_t)nb);
    for (int b = 0; b < t->n_bins - 1 && !r.bad; b++) {
      if (t->cat) {
        t->cats[b] = in_str(&r, W);   /* none (0xffffffff) is no category */
        if (!r.bad && (!t->cats[b] || (b > 0 && strcmp(t->cats[b - 1], t->cats[b]) >= 0)))
          r.bad = W;
      } else {
        t->cuts[b] = in_f64(&r, W);
        if (!isfinite(t->cuts[b]) || (b > 0 && !(t->cuts[b - 1] < t->cuts[b]))) r.bad = W;
      }
    }
    for (int b = 0; b < t->n_bins && !r.bad; b++) {
      uint64_t c = in_u64(&r, W);
      if (c > (1ull << 62) || (uint64_t)t->n + c > (1ull << 62)) {
        r.bad = W;
        break;
      }
      t->count[b] = (int64_t)c;
      t->n += (int64_t)c;
    }
    if (!r.bad && !t->column) r.bad = W;
  }
  if (!r.bad && r.at != r.len) r.bad = "distributions length";
  return r.bad;
}

/* ---- PSI -------------------------------------------------------------------------- */

double rt_psi(const int64_t *actual, const int64_t *expected, int k) {
  int64_t na = 0, ne = 0;
  for (int i = 0; i < k; i++) na += actual[i], ne += expected[i];
  if (na <= 0 || ne <= 0) return NAN;
  double psi = 0;
  for (int i = 0; i < k; i++) {
    double a = (double)actual[i] / (double)na, e = (double)expected[i] / (double)ne;
    if (a < RT_PSI_EPS) a = RT_PSI_EPS;
    if (e < RT_PSI_EPS) e = RT_PSI_EPS;
    psi += (a - e) * log(a / e);
  }
  return psi;
}

/* ---- the observation window ------------------------------------------------------ */

/* Latency histogram: whole microseconds below 128 each have a bucket; above,
 * each power of two [2^e, 2^(e+1)) is cut into 128 equal buckets, up to
 * 2^40 µs. A percentile is its bucket's middle: within 1/256 of the exact
 * value (to the µs below 128 µs). */
#define LAT_SUB 128
#define LAT_MAX_E 40
#define LAT_BUCKETS (LAT_SUB + (LAT_MAX_E - 7) * LAT_SUB)

static int lat_bucket(double us) {
  if (!(us >= 0)) us = 0;
  if (us >= 0x1p40) return LAT_BUCKETS - 1;
  uint64_t v = (uint64_t)us;
  if (v < LAT_SUB) return (int)v;
  int e = 63 - __builtin_clzll(v);
  return LAT_SUB + (e - 7) * LAT_SUB + (int)((v >> (e - 7)) - LAT_SUB);
}

/* The bucket's middle value: lower bound + (width - 1) / 2. */
static double lat_value(int b) {
  if (b < LAT_SUB) return b;
  int e = (b - LAT_SUB) / LAT_SUB + 7, sub = (b - LAT_SUB) % LAT_SUB;
  double width = ldexp(1, e - 7), lo = ldexp(1, e) + sub * width;
  return lo + (width - 1) / 2;
}

/* A prediction kept for feedback: the last RT_LIVE_PENDING one-row requests. */
typedef struct Pending {
  char *id;          /* request id, owned; NULL: a free entry */
  uint64_t h;
  int next;          /* chain in the hash table, -1 end */
  bool labelled;     /* feedback came: a second one is a duplicate */
} Pending;

struct RtLiveWindow {
  pthread_mutex_t mu;
  const RtModel *m;
  RtTask task;
  int n_out, k;                 /* model outputs; classes (0 regression) */
  const RtTrainDist *dist;      /* the model's, n_cols (NULL: none frozen) */
  int n_cols;
  /* counts of the window */
  int64_t req[3];               /* by RtLiveOutcome */
  int64_t rows;                 /* rows predicted by ok requests */
  int64_t lat[LAT_BUCKETS];     /* ok requests' latency */
  int64_t *cls;                 /* per class: rows predicted (classification) */
  float *vals; int64_t nvals, cap_vals;   /* regression: each predicted value */
  int64_t **bin;                /* per column: live cells per bin */
  /* labelled pairs of the window (model outputs, label as rt_metrics reads) */
  float *lout, *ly; int64_t nl, cap_l;
  /* feedback: a ring of pending predictions, chained by hash */
  Pending *pend; float *pend_out; int next_pend;
  int *head; int nhead;
};

RtLiveWindow *rt_live_new(const RtModel *m) {
  RtLiveWindow *w = rt_xmalloc(sizeof *w);
  pthread_mutex_init(&w->mu, NULL);
  w->m = m;
  w->task = m->desc.task;
  w->n_out = m->desc.n_layers > 0 ? m->desc.layers[m->desc.n_layers - 1].units : 1;
  if (w->n_out < 1) w->n_out = 1;
  w->k = w->task == RT_TASK_REGRESSION ? 0 : m->n_classes;
  if (m->data && m->data->dist) w->dist = m->data->dist, w->n_cols = m->data->n_dist;
  w->cls = rt_xmalloc(sizeof(int64_t) * (size_t)(w->k + 1));
  w->bin = rt_xmalloc(sizeof(int64_t *) * (size_t)(w->n_cols + 1));
  for (int c = 0; c < w->n_cols; c++)
    w->bin[c] = rt_xmalloc(sizeof(int64_t) * (size_t)w->dist[c].n_bins);
  w->pend = rt_xmalloc(sizeof(Pending) * RT_LIVE_PENDING);
  w->pend_out = rt_xmalloc(sizeof(float) * RT_LIVE_PENDING * (size_t)w->n_out);
  w->nhead = 2 * RT_LIVE_PENDING;
  w->head = rt_xmalloc(sizeof(int) * (size_t)w->nhead);
  for (int i = 0; i < w->nhead; i++) w->head[i] = -1;
  return w;
}

void rt_live_free(RtLiveWindow *w) {
  if (!w) return;
  pthread_mutex_destroy(&w->mu);
  for (int c = 0; c < w->n_cols; c++) free(w->bin[c]);
  for (int i = 0; i < RT_LIVE_PENDING; i++) free(w->pend[i].id);
  free(w->bin);
  free(w->cls);
  free(w->vals);
  free(w->lout);
  free(w->ly);
  free(w->pend);
  free(w->pend_out);
  free(w->head);
  free(w);
}

/* Empties w's counts (the caller holds w->mu). */
static void counts_clear(RtLiveWindow *w) {
  memset(w->req, 0, sizeof w->req);
  w->rows = 0;
  memset(w->lat, 0, sizeof w->lat);
  memset(w->cls, 0, sizeof(int64_t) * (size_t)(w->k + 1));
  w->nvals = 0;
  for (int c = 0; c < w->n_cols; c++)
    memset(w->bin[c], 0, sizeof(int64_t) * (size_t)w->dist[c].n_bins);
  w->nl = 0;
}

void rt_live_reset(RtLiveWindow *w) {
  pthread_mutex_lock(&w->mu);
  counts_clear(w);
  pthread_mutex_unlock(&w->mu);
}

int rt_live_ncols(const RtLiveWindow *w) { return w->n_cols; }

const RtTrainDist *rt_live_col_dist(const RtLiveWindow *w, int c) {
  return c >= 0 && c < w->n_cols ? &w->dist[c] : NULL;
}

int rt_live_col(const RtLiveWindow *w, const char *name) {
  for (int c = 0; name && c < w->n_cols; c++)
    if (!strcmp(w->dist[c].column, name)) return c;
  return -1;
}

/* The predicted class of one output row (binary: p >= 0.5; else the first
 * largest), as rt_metrics counts it. */
static int pred_class(const RtLiveWindow *w, const float *o) {
  if (w->task == RT_TASK_BINARY) return o[0] >= 0.5f;
  int best = 0;
  for (int j = 1; j < w->n_out; j++)
    if (o[j] > o[best]) best = j;
  return best;
}

/* A live cell's bin in column c, or -1 when it is missing (not counted). */
static int cell_bin(const RtLiveWindow *w, int c, const RtLiveCell *cell) {
  const RtTrainDist *t = &w->dist[c];
  const RtDataSpec *spec = w->m->data;
  if (t->cat) {
    if (!cell->str || rt_xform_is_missing(spec, cell->str, cell->len)) return -1;
    return cat_bin(t, cell->str, cell->len);
  }
  double x = cell->num;
  if (cell->str) {
    char buf[64];
    float f;
    if (rt_xform_is_missing(spec, cell->str, cell->len) || cell->len >= sizeof buf ||
        !rt_parse_float(cell->str, cell->len, &f))
      return -1;
    memcpy(buf, cell->str, cell->len);
    buf[cell->len] = 0;
    x = strtod(buf, NULL);
  }
  if (isnan(x)) return -1;
  return num_bin(t->cuts, t->n_bins - 1, x);
}

static uint64_t id_hash(const char *id) { return rt_fnv1a(id, strlen(id), RT_FNV_INIT); }

/* Unlinks ring entry i from its hash chain. */
static void pend_unlink(RtLiveWindow *w, int i) {
  int *p = &w->head[w->pend[i].h % (uint64_t)w->nhead];
  while (*p >= 0 && *p != i) p = &w->pend[*p].next;
  if (*p == i) *p = w->pend[i].next;
}

/* Keeps request id's output row for feedback, evicting the oldest. */
static void pend_add(RtLiveWindow *w, const char *id, const float *out) {
  int i = w->next_pend;
  w->next_pend = (i + 1) % RT_LIVE_PENDING;
  if (w->pend[i].id) {
    pend_unlink(w, i);
    free(w->pend[i].id);
  }
  Pending *p = &w->pend[i];
  p->id = rt_xstrdup(id);
  p->h = id_hash(id);
  p->labelled = false;
  int *hd = &w->head[p->h % (uint64_t)w->nhead];
  p->next = *hd;   /* at the head: a repeated id finds its newest request */
  *hd = i;
  memcpy(w->pend_out + (size_t)i * (size_t)w->n_out, out, sizeof(float) * (size_t)w->n_out);
}

void rt_live_add(RtLiveWindow *w, const RtLiveObs *o) {
  int oc = o->outcome >= RT_LIVE_OK && o->outcome <= RT_LIVE_FAILED ? (int)o->outcome
                                                                    : RT_LIVE_FAILED;
  pthread_mutex_lock(&w->mu);
  w->req[oc]++;
  if (oc == RT_LIVE_OK) {
    w->lat[lat_bucket(o->latency_us)]++;
    for (int64_t r = 0; o->out && r < o->n_rows; r++) {
      const float *row = o->out + r * w->n_out;
      w->rows++;
      if (w->task == RT_TASK_REGRESSION) {
        if (w->nvals == w->cap_vals) {
          w->cap_vals = w->cap_vals ? w->cap_vals * 2 : 1024;
          w->vals = rt_xrealloc(w->vals, sizeof(float) * (size_t)w->cap_vals);
        }
        w->vals[w->nvals++] = row[0];
      } else {
        int c = pred_class(w, row);
        if (c < w->k) w->cls[c]++;   /* a loaded model has as many outputs as classes */
      }
      for (int c = 0; o->cells && c < w->n_cols; c++) {
        int b = cell_bin(w, c, &o->cells[r * w->n_cols + c]);
        if (b >= 0) w->bin[c][b]++;
      }
    }
    if (o->request_id && o->out && o->n_rows == 1) pend_add(w, o->request_id, o->out);
  }
  pthread_mutex_unlock(&w->mu);
}

/* The label text as rt_data_label reads it for this model, into *y. */
static bool read_label(const RtLiveWindow *w, const char *s, float *y) {
  const RtModel *m = w->m;
  if (w->task == RT_TASK_REGRESSION) return rt_parse_float(s, strlen(s), y);
  const RtDataSpec *spec = m->data;
  if (spec && spec->n_label_map > 0) {
    for (int i = 0; i < spec->n_label_map; i++)
      if (!strcmp(spec->label_keys[i], s)) {
        double v = spec->label_vals[i];
        if (!(v >= 0 && v < m->n_classes)) return false;
        *y = (float)v;
        return true;
      }
    return false;
  }
  for (int i = 0; i < m->n_classes; i++)
    if (!strcmp(m->class_names[i], s)) {
      *y = (float)i;
      return true;
    }
  return false;
}

RtLiveFeedback rt_live_feedback(RtLiveWindow *w, const char *request_id, const char *label) {
  if (!request_id || !label) return RT_FB_BAD_LABEL;
  float y;
  bool label_ok = read_label(w, label, &y);
  uint64_t h = id_hash(request_id);
  RtLiveFeedback rc = RT_FB_UNKNOWN;
  pthread_mutex_lock(&w->mu);
  int i = w->head[h % (uint64_t)w->nhead];
  while (i >= 0 && (w->pend[i].h != h || strcmp(w->pend[i].id, request_id))) i = w->pend[i].next;
  if (i >= 0) {
    if (w->pend[i].labelled) {
      rc = RT_FB_DUPLICATE;
    } else if (!label_ok) {
      rc = RT_FB_BAD_LABEL;
    } else {
      w->pend[i].labelled = true;
      if (w->nl == w->cap_l) {
        w->cap_l = w->cap_l ? w->cap_l * 2 : 1024;
        w->lout = rt_xrealloc(w->lout, sizeof(float) * (size_t)w->cap_l * (size_t)w->n_out);
        w->ly = rt_xrealloc(w->ly, sizeof(float) * (size_t)w->cap_l);
      }
      memcpy(w->lout + (size_t)w->nl * (size_t)w->n_out,
             w->pend_out + (size_t)i * (size_t)w->n_out, sizeof(float) * (size_t)w->n_out);
      w->ly[w->nl++] = y;
      rc = RT_FB_OK;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return rc;
}

/* The nearest-rank percentile q (0 < q <= 1) of the latency histogram. */
static double lat_pct(const int64_t *lat, int64_t n, double q) {
  if (n <= 0) return NAN;
  int64_t rank = (int64_t)ceil(q * (double)n), seen = 0;
  if (rank < 1) rank = 1;
  for (int b = 0; b < LAT_BUCKETS; b++) {
    seen += lat[b];
    if (seen >= rank) return lat_value(b);
  }
  return lat_value(LAT_BUCKETS - 1);
}

void rt_live_stats(RtLiveWindow *w, RtLiveStats *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_lock(&w->mu);
  s->ok = w->req[RT_LIVE_OK];
  s->invalid = w->req[RT_LIVE_INVALID];
  s->failed = w->req[RT_LIVE_FAILED];
  s->requests = s->ok + s->invalid + s->failed;
  s->rows = w->rows;
  s->labelled = w->nl;
  s->error_rate = s->requests ? (double)(s->invalid + s->failed) / (double)s->requests : NAN;
  s->p50_us = lat_pct(w->lat, s->ok, 0.50);
  s->p99_us = lat_pct(w->lat, s->ok, 0.99);
  s->metrics = rt_metrics(w->task, w->k, w->lout, w->ly, w->nl);
  pthread_mutex_unlock(&w->mu);
}

double rt_live_drift(RtLiveWindow *w, int c) {
  if (c < 0 || c >= w->n_cols) return NAN;
  const RtTrainDist *t = &w->dist[c];
  pthread_mutex_lock(&w->mu);
  double psi = rt_psi(w->bin[c], t->count, t->n_bins);
  pthread_mutex_unlock(&w->mu);
  return psi;
}

double rt_live_drift_max(RtLiveWindow *w, int *col) {
  double best = NAN;
  int at = -1;
  for (int c = 0; c < w->n_cols; c++) {
    double d = rt_live_drift(w, c);
    if (!isnan(d) && (at < 0 || d > best)) best = d, at = c;
  }
  if (col) *col = at;
  return best;
}

/* A copy of w's prediction counts (classes) or values (regression). */
static int64_t snap_preds(RtLiveWindow *w, int64_t *cls, float **vals) {
  pthread_mutex_lock(&w->mu);
  int64_t n = w->task == RT_TASK_REGRESSION ? w->nvals : w->rows;
  if (w->task == RT_TASK_REGRESSION) {
    *vals = rt_xmalloc(sizeof(float) * (size_t)(n + 1));
    memcpy(*vals, w->vals, sizeof(float) * (size_t)n);
  } else {
    memcpy(cls, w->cls, sizeof(int64_t) * (size_t)w->k);
  }
  pthread_mutex_unlock(&w->mu);
  return n;
}

double rt_live_pred_psi(RtLiveWindow *a, RtLiveWindow *ref) {
  if (a->task != ref->task || a->k != ref->k) return NAN;
  int k = a->k;
  int64_t *ca = rt_xmalloc(sizeof(int64_t) * (size_t)(k + RT_DIST_BINS));
  int64_t *cr = rt_xmalloc(sizeof(int64_t) * (size_t)(k + RT_DIST_BINS));
  float *va = NULL, *vr = NULL;
  int64_t na = snap_preds(a, ca, &va), nr = snap_preds(ref, cr, &vr);
  double psi = NAN;
  if (na > 0 && nr > 0 && a->task != RT_TASK_REGRESSION) {
    psi = rt_psi(ca, cr, k);
  } else if (na > 0 && nr > 0) {   /* 10 bins at the reference's deciles */
    int64_t m = 0;
    double *v = rt_xmalloc(sizeof(double) * (size_t)nr);
    for (int64_t i = 0; i < nr; i++)
      if (!isnan(vr[i])) v[m++] = vr[i];
    double cuts[RT_DIST_BINS - 1];
    int nc = rt_dist_cuts(v, m, cuts);
    memset(ca, 0, sizeof(int64_t) * RT_DIST_BINS);
    memset(cr, 0, sizeof(int64_t) * RT_DIST_BINS);
    for (int64_t i = 0; i < m; i++) cr[num_bin(cuts, nc, v[i])]++;
    for (int64_t i = 0; i < na; i++)
      if (!isnan(va[i])) ca[num_bin(cuts, nc, va[i])]++;
    psi = rt_psi(ca, cr, nc + 1);
    free(v);
  }
  free(ca);
  free(cr);
  free(va);
  free(vr);
  return psi;
}

double rt_live_metric(RtLiveWindow *w, const char *name) {
  RtLiveStats s;
  rt_live_stats(w, &s);
  if (!strcmp(name, "requests")) return (double)s.requests;
  if (!strcmp(name, "error_rate")) return s.error_rate;
  if (!strcmp(name, "p50")) return s.p50_us;
  if (!strcmp(name, "p99")) return s.p99_us;
  if (!strcmp(name, "labelled")) return (double)s.labelled;
  return rt_metric_get(&s.metrics, name);
}

char *rt_live_check_json(RtLiveWindow *cand, RtLiveWindow *base) {
  char *cj = rt_live_json(cand, base);
  char *bj = rt_live_json(base, NULL);
  size_t n = strlen(cj ? cj : "null") + strlen(bj ? bj : "null") + 32;
  char *t = rt_xmalloc(n);
  snprintf(t, n, "{\"candidate\":%s,\"baseline\":%s}", cj ? cj : "null", bj ? bj : "null");
  free(cj);
  free(bj);
  return t;
}

double rt_live_rule_metric(RtLiveWindow *cand, RtLiveWindow *base, const RtGateExpr *x) {
  RtLiveWindow *w = x->baseline ? base : cand;
  if (!w) return NAN;
  if (x->split == 5) {
    if (!strcmp(x->metric, "*")) return rt_live_drift_max(w, NULL);
    int c = rt_live_col(w, x->metric);
    return c < 0 ? NAN : rt_live_drift(w, c);
  }
  if (x->split == 4) return rt_live_metric(w, x->metric);
  return NAN;
}

/* Copies what src counted into dst, growing dst's arrays (both locked by
 * the caller). */
static void counts_copy(RtLiveWindow *dst, const RtLiveWindow *src) {
  memcpy(dst->req, src->req, sizeof dst->req);
  dst->rows = src->rows;
  memcpy(dst->lat, src->lat, sizeof dst->lat);
  memcpy(dst->cls, src->cls, sizeof(int64_t) * (size_t)(src->k + 1));
  if (src->nvals > dst->cap_vals) {
    dst->cap_vals = src->nvals;
    dst->vals = rt_xrealloc(dst->vals, sizeof(float) * (size_t)dst->cap_vals);
  }
  if (src->nvals) memcpy(dst->vals, src->vals, sizeof(float) * (size_t)src->nvals);
  dst->nvals = src->nvals;
  for (int c = 0; c < src->n_cols; c++)
    memcpy(dst->bin[c], src->bin[c], sizeof(int64_t) * (size_t)src->dist[c].n_bins);
  if (src->nl > dst->cap_l) {
    dst->cap_l = src->nl;
    dst->lout = rt_xrealloc(dst->lout, sizeof(float) * (size_t)dst->cap_l * (size_t)dst->n_out);
    dst->ly = rt_xrealloc(dst->ly, sizeof(float) * (size_t)dst->cap_l);
  }
  if (src->nl) {
    memcpy(dst->lout, src->lout, sizeof(float) * (size_t)src->nl * (size_t)src->n_out);
    memcpy(dst->ly, src->ly, sizeof(float) * (size_t)src->nl);
  }
  dst->nl = src->nl;
}

bool rt_live_take(RtLiveWindow *w, RtLiveWindow *into) {
  if (w == into || w->m != into->m) return false;
  pthread_mutex_lock(&w->mu);
  pthread_mutex_lock(&into->mu);
  counts_copy(into, w);
  pthread_mutex_unlock(&into->mu);
  counts_clear(w);
  pthread_mutex_unlock(&w->mu);
  return true;
}

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

char *rt_live_json(RtLiveWindow *w, RtLiveWindow *ref) {
  RtLiveStats s;
  rt_live_stats(w, &s);
  json_t *o = json_object();
  json_object_set_new(o, "requests", json_integer(s.requests));
  json_object_set_new(o, "ok", json_integer(s.ok));
  json_object_set_new(o, "invalid", json_integer(s.invalid));
  json_object_set_new(o, "failed", json_integer(s.failed));
  json_object_set_new(o, "rows", json_integer(s.rows));
  json_object_set_new(o, "error_rate", jnum(s.error_rate));
  json_object_set_new(o, "p50_us", jnum(s.p50_us));
  json_object_set_new(o, "p99_us", jnum(s.p99_us));
  json_t *dr = json_object();
  for (int c = 0; c < w->n_cols; c++) json_object_set_new(dr, w->dist[c].column, jnum(rt_live_drift(w, c)));
  json_object_set_new(o, "drift", dr);
  int col;
  double dmax = rt_live_drift_max(w, &col);
  json_t *dm = json_object();
  json_object_set_new(dm, "column", col >= 0 ? json_string(w->dist[col].column) : json_null());
  json_object_set_new(dm, "value", jnum(dmax));
  json_object_set_new(o, "drift_max", dm);
  json_object_set_new(o, "prediction_shift", ref ? jnum(rt_live_pred_psi(w, ref)) : json_null());
  json_object_set_new(o, "labelled", json_integer(s.labelled));
  json_t *mt = json_object();
  RtTask t = w->task;
  for (int i = 0; i < rt_task_nmetrics[t]; i++)
    json_object_set_new(mt, rt_task_metrics[t][i], jnum(rt_metric_get(&s.metrics, rt_task_metrics[t][i])));
  json_object_set_new(o, "metrics", mt);
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(o);
  return text;
}
