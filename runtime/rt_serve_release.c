/* rt_serve_release.c — `mlxc serve FILE --release NAME` (and `BIN serve
 * --release NAME`, aot_bin.c): two arms behind one HTTP server (rt_serve.c,
 * through its RtServeHooks). Each /predict is parsed once and routed by its
 * sticky bucket (rt_bucket over `bucket by request.FIELD`, else the request
 * id) to the candidate when the bucket is below the serving percent, else
 * to the baseline; it is answered by that arm's model and recorded in that
 * arm's window (rt_live.c). A timer thread re-reads the journal every
 * POLL_MS (so `mlxc release promote|rollback|abort` from another process
 * takes effect within that) and, `check every` after the current step
 * began and every interval after, takes both windows and journals the
 * check (rt_release_tick; a window without requests is not journaled,
 * rt_release_tick_idle), which may advance, promote or roll back. The
 * serving percent is always the journal's replayed state: not started,
 * rolled back or aborted serve the baseline only; promoted, the candidate
 * only. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt.h"

#define POLL_MS 100                /* how often the journal's state is re-read */
#define DEFAULT_CHECK_US 30e6      /* no `check every` line: 30 s */

enum { CAND, BASE };
static const char *const arm_names[2] = {"candidate", "baseline"};

typedef struct Rel {
  const RtRelease *rel;
  const char *spec_hash;
  char *store;
  const RtModel *m[2];
  RtServeModel *sm[2];
  RtLiveWindow *win[2];       /* filled by the request threads */
  RtLiveWindow *took[2];      /* the window just ended (the timer thread's) */
  RtJournal *j;               /* the timer thread's; NULL until the store exists */
  pthread_key_t key;          /* each pool thread's Work */
  _Atomic double percent;     /* the candidate's share now */
  atomic_int phase, step;     /* the replayed state, for /metrics */
  _Atomic int64_t since_us;   /* the replayed state's since_us (the step's start) */
  int64_t anchor_us;          /* the timer's: the step start its checks count from */
  int anchor_step;            /* the timer's: that step */
  int64_t last_check_us;      /* the timer's: when this server last checked (journal time) */
  double next_take;           /* the timer's, while not running: when windows end (monotonic) */
  atomic_uint_fast64_t by_arm[2], ok[2], invalid[2], failed[2];
  atomic_uint_fast64_t checks, decisions;
  atomic_uint_fast64_t labels[2];   /* feedback labels taken */
  const char *token;          /* the admin bearer token, or NULL: admin endpoints off */
  pthread_mutex_t jmu;        /* journal work and diagnostics: timer and admin requests */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
} Rel;

/* A pool thread's state: both arms' decoders' buffers, the response with
 * its arm, the raw cells of a request for drift. */
typedef struct Work {
  RtServeWork *w[2];
  char *buf; size_t cap;
  RtLiveCell *cells; size_t ncells;
  char (*txt)[40]; size_t ntxt;   /* a category cell given as a number: its text */
} Work;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void work_free(void *p) {
  Work *w = p;
  if (!w) return;
  rt_serve_work_free(w->w[0]);
  rt_serve_work_free(w->w[1]);
  free(w->buf);
  free(w->cells);
  free(w->txt);
  free(w);
}

/* The request's bucket: top-level field FIELD as text, else the request id. */
static int bucket_of(const Rel *r, const json_t *root, const char *req_id) {
  const char *f = r->rel->bucket_field;
  const json_t *v = f && json_is_object(root) ? json_object_get(root, f) : NULL;
  char t[40];
  if (json_is_string(v) && json_string_length(v) > 0)
    return rt_bucket(json_string_value(v), json_string_length(v), r->rel->salt);
  if (json_is_number(v)) {
    rt_num_text(json_number_value(v), t);
    return rt_bucket(t, strlen(t), r->rel->salt);
  }
  if (json_is_boolean(v)) {
    const char *b = json_is_true(v) ? "true" : "false";
    return rt_bucket(b, strlen(b), r->rel->salt);
  }
  return rt_bucket(req_id, strlen(req_id), r->rel->salt);
}

/* The raw cells of n rows for arm a's window (n x ncols), or NULL. */
static const RtLiveCell *cells_of(Work *w, RtLiveWindow *win, const json_t *root, int64_t n) {
  int nc = rt_live_ncols(win);
  if (nc <= 0 || n <= 0 || !root) return NULL;
  int64_t rows = json_is_array(root) ? (int64_t)json_array_size(root) : 1;
  if (rows != n) return NULL;
  size_t need = (size_t)n * (size_t)nc;
  if (need > w->ncells) {
    w->cells = rt_xrealloc(w->cells, sizeof *w->cells * need);
    w->ncells = need;
  }
  for (int64_t i = 0; i < n; i++) {
    const json_t *row = json_is_array(root) ? json_array_get(root, (size_t)i) : root;
    for (int c = 0; c < nc; c++) {
      RtLiveCell *cell = &w->cells[i * nc + c];
      const RtTrainDist *d = rt_live_col_dist(win, c);
      const json_t *v = json_is_object(row) ? json_object_get(row, d->column) : NULL;
      *cell = (RtLiveCell){.num = NAN};
      if (json_is_string(v)) {
        cell->str = json_string_value(v);
        cell->len = json_string_length(v);
      } else if (json_is_number(v) && d->cat) {   /* a category: its shortest spelling */
        if (w->ntxt < need) {
          w->txt = rt_xrealloc(w->txt, sizeof *w->txt * need);
          w->ntxt = need;
        }
        char *t = w->txt[i * nc + c];
        rt_num_text(json_number_value(v), t);
        cell->str = t;
        cell->len = strlen(t);
      } else if (json_is_number(v)) {
        cell->num = json_number_value(v);
      } else if (json_is_boolean(v)) {
        cell->num = json_is_true(v) ? 1 : 0;
      }
      if (d->cat && !cell->str) cell->num = NAN;   /* a boolean is no category */
    }
  }
  return w->cells;
}

static void hook_predict(void *ctx, const char *body, size_t len, const char *req_id, double t0,
                         RtServeReply *rep) {
  Rel *r = ctx;
  Work *w = pthread_getspecific(r->key);
  if (!w) {
    w = rt_xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->w[CAND] = rt_serve_work_new(r->sm[CAND]);
    w->w[BASE] = rt_serve_work_new(r->sm[BASE]);
    pthread_setspecific(r->key, w);
  }
  /* parsed once: for the bucket, the decoder and the drift cells */
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
  int b = bucket_of(r, root, req_id);
  double pct = atomic_load(&r->percent);
  int arm = rt_bucket_candidate(b, pct) ? CAND : BASE;
  rt_serve_predict_json(r->sm[arm], w->w[arm], root, &jerr, req_id, rep);
  RtLiveObs obs = {.outcome = rep->status == 200 ? RT_LIVE_OK
                              : rep->status == 400 ? RT_LIVE_INVALID : RT_LIVE_FAILED,
                   .latency_us = (mono_s() - t0) * 1e6,
                   .n_rows = rep->status == 200 ? rep->n_rows : 0,
                   .out = rep->status == 200 ? rep->pred : NULL,
                   .request_id = req_id};
  if (rep->status == 200) obs.cells = cells_of(w, r->win[arm], root, rep->n_rows);
  rt_live_add(r->win[arm], &obs);
  json_decref(root);
  atomic_fetch_add(&r->by_arm[arm], 1);
  atomic_fetch_add(rep->status == 200 ? &r->ok[arm] : rep->status == 400 ? &r->invalid[arm]
                                                                           : &r->failed[arm], 1);
  /* the body with the arm first: {"arm":"...", then the decoder's members */
  const char *tag = arm == CAND ? "{\"arm\":\"candidate\"," : "{\"arm\":\"baseline\",";
  size_t tl = strlen(tag);
  if (rep->len >= 2 && rep->body[0] == '{') {
    size_t need = tl + rep->len;
    if (need > w->cap) {
      w->cap = need * 2;
      w->buf = rt_xrealloc(w->buf, w->cap);
    }
    memcpy(w->buf, tag, tl);
    memcpy(w->buf + tl, rep->body + 1, rep->len - 1);
    w->buf[need - 1] = 0;
    rep->body = w->buf;
    rep->len = need - 1;
  }
}

static const char *phase_name(int p) {
  switch (p) {
  case RT_RS_STEP: return "step";
  case RT_RS_PROMOTED: return "promoted";
  case RT_RS_ROLLED_BACK: return "rolled_back";
  case RT_RS_ABORTED: return "aborted";
  default: return "not_started";
  }
}

static char *hook_metrics(void *ctx) {
  Rel *r = ctx;
  char *t = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&t, &n);
  if (!f) return NULL;
  const char *nm = r->rel->name;   /* an identifier: no escaping needed */
  fprintf(f, "# HELP mlxc_release_requests_total /predict requests by release arm and outcome.\n"
             "# TYPE mlxc_release_requests_total counter\n");
  for (int a = 0; a < 2; a++) {
    fprintf(f, "mlxc_release_requests_total{release=\"%s\",arm=\"%s\",outcome=\"ok\"} %llu\n",
            nm, arm_names[a], (unsigned long long)atomic_load(&r->ok[a]));
    fprintf(f, "mlxc_release_requests_total{release=\"%s\",arm=\"%s\",outcome=\"invalid\"} %llu\n",
            nm, arm_names[a], (unsigned long long)atomic_load(&r->invalid[a]));
    fprintf(f, "mlxc_release_requests_total{release=\"%s\",arm=\"%s\",outcome=\"failed\"} %llu\n",
            nm, arm_names[a], (unsigned long long)atomic_load(&r->failed[a]));
  }
  fprintf(f, "# HELP mlxc_release_labels_total Feedback labels taken, by arm.\n"
             "# TYPE mlxc_release_labels_total counter\n");
  for (int a = 0; a < 2; a++)
    fprintf(f, "mlxc_release_labels_total{release=\"%s\",arm=\"%s\"} %llu\n", nm, arm_names[a],
            (unsigned long long)atomic_load(&r->labels[a]));
  int ph = atomic_load(&r->phase);
  fprintf(f, "# HELP mlxc_release_state The release's state (1 for the current one).\n"
             "# TYPE mlxc_release_state gauge\n"
             "mlxc_release_state{release=\"%s\",state=\"%s\"} 1\n"
             "# HELP mlxc_release_step The step (1-based; 0 before the start).\n"
             "# TYPE mlxc_release_step gauge\n"
             "mlxc_release_step{release=\"%s\"} %d\n"
             "# HELP mlxc_release_percent The candidate's share of traffic now.\n"
             "# TYPE mlxc_release_percent gauge\n"
             "mlxc_release_percent{release=\"%s\"} %.17g\n"
             "# HELP mlxc_release_checks_total Checks journaled by this server.\n"
             "# TYPE mlxc_release_checks_total counter\n"
             "mlxc_release_checks_total{release=\"%s\"} %llu\n",
          nm, phase_name(ph), nm, ph == RT_RS_NOT_STARTED ? 0 : atomic_load(&r->step) + 1, nm,
          atomic_load(&r->percent), nm, (unsigned long long)atomic_load(&r->checks));
  fclose(f);
  return t;
}

/* ---- feedback and admin endpoints ------------------------------------------------ */

static void set_state(Rel *r, const RtReleaseState *s);

static bool hook_owns(void *ctx, const char *url) {
  (void)ctx;
  return !strcmp(url, "/feedback") || !strcmp(url, "/release/promote") ||
         !strcmp(url, "/release/rollback") || !strcmp(url, "/release/abort");
}

/* {"request_id": id, "error": msg} (malloc'd). */
static int answer_error(char **out, const char *req_id, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int answer_error(char **out, const char *req_id, int status, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *o = json_object();
  json_object_set_new(o, "request_id", json_string(req_id));
  json_object_set_new(o, "error", json_string(msg));
  *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return status;
}

/* POST /feedback {"request_id": ID, "label": L}: the label of a one-row
 * request one of the arms answered, into that arm's window. */
static int feedback(Rel *r, const char *body, size_t len, const char *req_id, char **out) {
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, &jerr);
  if (!json_is_object(root)) {
    json_decref(root);
    return answer_error(out, req_id, 400, "feedback: expected a JSON object {\"request_id\", "
                        "\"label\"}");
  }
  const json_t *id = json_object_get(root, "request_id"), *lab = json_object_get(root, "label");
  char t[40];
  const char *label = json_is_string(lab) ? json_string_value(lab) : NULL;
  if (json_is_number(lab)) {
    rt_num_text(json_number_value(lab), t);
    label = t;
  }
  int status;
  if (!json_is_string(id) || !label) {
    status = answer_error(out, req_id, 400, "feedback: %s", !json_is_string(id)
                          ? "field 'request_id' must be a string"
                          : "field 'label' must be a string or a number");
  } else {
    int arm = CAND;
    RtLiveFeedback fb = rt_live_feedback(r->win[CAND], json_string_value(id), label);
    if (fb == RT_FB_UNKNOWN) {
      arm = BASE;
      fb = rt_live_feedback(r->win[BASE], json_string_value(id), label);
    }
    if (fb == RT_FB_OK) {
      json_t *o = json_object();
      json_object_set_new(o, "request_id", json_string(req_id));
      json_object_set_new(o, "feedback", json_string(json_string_value(id)));
      json_object_set_new(o, "arm", json_string(arm_names[arm]));
      *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
      json_decref(o);
      atomic_fetch_add(&r->labels[arm], 1);
      status = 200;
    } else if (fb == RT_FB_UNKNOWN) {
      status = answer_error(out, req_id, 404, "feedback: no recent one-row request '%.80s'",
                            json_string_value(id));
    } else if (fb == RT_FB_DUPLICATE) {
      status = answer_error(out, req_id, 409, "feedback: request '%.80s' already has a label",
                            json_string_value(id));
    } else {
      status = answer_error(out, req_id, 400, "feedback: label '%.80s' is not one of the "
                            "model's labels", label);
    }
  }
  json_decref(root);
  return status;
}

/* The bearer token matches, compared in time independent of where it differs. */
static bool token_ok(const Rel *r, const char *auth) {
  if (!auth || strncmp(auth, "Bearer ", 7)) return false;
  const char *t = auth + 7;
  size_t n = strlen(t), m = strlen(r->token);
  unsigned diff = n != m;
  for (size_t i = 0; i < m; i++) diff |= (unsigned char)r->token[i] ^ (unsigned char)(i < n ? t[i] : 0);
  return !diff;
}

/* POST /release/promote|rollback|abort [{"who", "why"}]: the command as
 * `mlxc release` runs it, under the journal's write lock. */
static int admin(Rel *r, const char *cmd, const char *auth, const char *body, size_t len,
                 const char *req_id, char **out) {
  if (!r->token)
    return answer_error(out, req_id, 403, "admin endpoints are off: start the server with "
                        "MLXC_ADMIN_TOKEN or --admin-token-file F");
  if (!token_ok(r, auth))
    return answer_error(out, req_id, 401, "%s: needs the header Authorization: Bearer TOKEN",
                        cmd);
  json_t *root = len ? json_loadb(body, len, 0, NULL) : json_object();
  if (!json_is_object(root)) {
    json_decref(root);
    return answer_error(out, req_id, 400, "%s: the body must be empty or a JSON object "
                        "{\"who\", \"why\"}", cmd);
  }
  const char *who = json_string_value(json_object_get(root, "who"));
  const char *why = json_string_value(json_object_get(root, "why"));
  if (!who || !*who) who = "admin";
  int code = 0;
  pthread_mutex_lock(&r->jmu);
  RtJournal *j = rt_journal_open(r->store, r->rel->name, r->spec_hash, false, &code);
  RtReleaseState s;
  memset(&s, 0, sizeof s);
  int status = 200;
  char msg[200] = "";
  if (!j) {
    status = code ? 500 : 409;
    snprintf(msg, sizeof msg, code ? "the journal cannot be opened" : "it has not started");
  } else if (rt_journal_begin(j) || rt_journal_state(j, r->rel, &s)) {
    status = 500;
    snprintf(msg, sizeof msg, "the journal cannot be read");
  } else {
    int64_t now = rt_release_now_us();
    if (now < s.since_us) now = s.since_us;
    if (s.phase != RT_RS_STEP) {
      status = 409;
      snprintf(msg, sizeof msg, "%s", s.phase == RT_RS_NOT_STARTED ? "it has not started"
               : s.phase == RT_RS_PROMOTED ? "it was promoted"
               : s.phase == RT_RS_ROLLED_BACK ? "it was rolled back" : "it was aborted");
      rt_journal_rollback(j);
    } else {
      char *dt;
      RtEventKind kind = rt_release_manual_event(r->rel, &s, cmd, &dt);
      if (!dt || rt_journal_append(j, kind, now, who, why, dt) < 0 || rt_journal_commit(j)) {
        status = 500;
        snprintf(msg, sizeof msg, "the journal cannot be written");
        rt_journal_rollback(j);
      } else if (!rt_journal_state(j, r->rel, &s)) {
        set_state(r, &s);
      }
      free(dt);
    }
  }
  rt_journal_close(j);
  rt_diag_flush();
  pthread_mutex_unlock(&r->jmu);
  if (status != 200) {
    json_decref(root);
    const char *verb = !strcmp(cmd, "promote") ? "be promoted" : !strcmp(cmd, "rollback")
                       ? "be rolled back" : "be aborted";
    return answer_error(out, req_id, status, "release '%s' cannot %s: %s", r->rel->name, verb,
                        msg);
  }
  fprintf(stderr, "mlxc: release '%s': %s by %s over HTTP\n", r->rel->name, cmd, who);
  json_decref(root);   /* who lives in it */
  json_t *o = json_object();
  json_object_set_new(o, "request_id", json_string(req_id));
  json_object_set_new(o, "release", json_string(r->rel->name));
  json_object_set_new(o, "state", json_string(phase_name(s.phase)));
  json_object_set_new(o, "step", json_integer(s.step + 1));
  json_object_set_new(o, "percent", json_real(s.percent));
  json_object_set_new(o, "seq", json_integer(s.seq));
  *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return 200;
}

static int hook_route(void *ctx, const char *url, const char *auth, const char *body, size_t len,
                      const char *req_id, char **out) {
  Rel *r = ctx;
  if (!strcmp(url, "/feedback")) return feedback(r, body, len, req_id, out);
  return admin(r, url + strlen("/release/"), auth, body, len, req_id, out);
}

/* ---- the timer --------------------------------------------------------------- */

static void set_state(Rel *r, const RtReleaseState *s) {
  double pct = s->phase == RT_RS_STEP ? s->percent : s->phase == RT_RS_PROMOTED ? 100.0 : 0.0;
  atomic_store(&r->percent, pct);
  atomic_store(&r->step, s->step);
  atomic_store(&r->since_us, s->since_us);
  atomic_store(&r->phase, (int)s->phase);
}

/* Opens the store once it exists (a release started after serve). -1:
 * cannot (reported; exit code in *code), 0: open or not there yet. */
static int ensure_open(Rel *r, int *code) {
  if (r->j) return 0;
  *code = 0;
  r->j = rt_journal_open(r->store, r->rel->name, r->spec_hash, false, code);
  return r->j || !*code ? 0 : -1;
}

/* Re-reads the journal's state (no lock: WAL readers do not wait). */
static void refresh(Rel *r) {
  int code;
  if (ensure_open(r, &code) || !r->j) return;
  RtReleaseState s;   /* only the events since the last refresh are read */
  if (rt_journal_state(r->j, r->rel, &s)) {
    rt_diag_flush();
    return;
  }
  set_state(r, &s);
}

static double metric(void *ctx, const RtGateExpr *x) {
  Rel *r = ctx;
  return rt_live_rule_metric(r->took[CAND], r->took[BASE], x);
}

/* Both windows' figures of a check: no request and no label in either. */
static bool idle(Rel *r) {
  for (int a = 0; a < 2; a++)
    if (rt_live_metric(r->took[a], "requests") > 0 || rt_live_metric(r->took[a], "labelled") > 0)
      return false;
  return true;
}

/* One check at now_us (journal time): both windows end; the candidate's is
 * journaled with the baseline's under "live" and the rules decide. Windows
 * in which neither arm saw a request are not journaled (but for an
 * `inconclusive rollback|advance` policy, which counts them): the rules
 * still decide what time alone decides (rt_release_tick_idle: the timeout). */
static void check(Rel *r, int64_t now_us) {
  rt_live_take(r->win[CAND], r->took[CAND]);
  rt_live_take(r->win[BASE], r->took[BASE]);
  r->last_check_us = now_us;
  int code;
  if (ensure_open(r, &code) || !r->j) {
    rt_diag_flush();
    return;
  }
  RtReleaseState s;
  int k;
  bool observed = !idle(r);
  if (!observed) {
    k = rt_release_tick_idle(r->j, r->rel, now_us, &s);
  } else {
    char *extra = rt_live_check_json(r->took[CAND], r->took[BASE]);
    int64_t req = (int64_t)rt_live_metric(r->took[CAND], "requests");
    k = rt_release_tick(r->j, r->rel, r->anchor_step, req, metric, r, extra, now_us, &s);
    free(extra);
  }
  rt_diag_flush();
  if (k < 0) return;
  bool journaled = observed || r->rel->inconclusive != RT_INC_HOLD;   /* as rt_release_tick_idle */
  if ((journaled && s.phase == RT_RS_STEP) || k != RT_EV__COUNT) atomic_fetch_add(&r->checks, 1);
  set_state(r, &s);
  r->anchor_us = s.since_us;   /* a step this check entered: its windows start now */
  r->anchor_step = s.step;
  if (k != RT_EV__COUNT && k >= 0 && k < RT_EV__COUNT) {
    atomic_fetch_add(&r->decisions, 1);
    fprintf(stderr, "mlxc: release '%s': %s (%s)\n", r->rel->name, rt_event_names[k], s.reason);
  }
}

/* Every POLL_MS: the journal's state again; while a step runs, a check
 * every period counted from the step's start (since_us: the first one
 * period after it, whoever entered the step: a check, a command, another
 * process; for a step begun before this server, the first multiple after
 * its start); a step entered elsewhere empties the windows first, so a
 * check counts its own step's traffic. While nothing runs, the windows
 * still end every period, unjournaled. */
static void *timer(void *arg) {
  Rel *r = arg;
  int64_t period_us = (int64_t)(r->rel->check_us > 0 ? r->rel->check_us : DEFAULT_CHECK_US);
  if (period_us < 1) period_us = 1;
  r->next_take = mono_s() + period_us / 1e6;
  r->last_check_us = rt_release_now_us();   /* a step begun earlier: its next multiple */
  pthread_mutex_lock(&r->mu);
  while (!r->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += POLL_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    if (r->stop) break;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_lock(&r->jmu);
    refresh(r);
    if (atomic_load(&r->phase) == RT_RS_STEP) {
      int64_t since = atomic_load(&r->since_us), now = rt_release_now_us();
      int step = atomic_load(&r->step);
      if (since != r->anchor_us || step != r->anchor_step) {   /* entered elsewhere, or before */
        rt_live_take(r->win[CAND], r->took[CAND]);
        rt_live_take(r->win[BASE], r->took[BASE]);
        r->anchor_us = since;
        r->anchor_step = step;
      }
      /* the first multiple of the period after the step's start and this server's last check */
      int64_t last = r->last_check_us > since ? r->last_check_us : since;
      int64_t due = since + ((last - since) / period_us + 1) * period_us;
      if (now >= due) check(r, now);
      r->next_take = mono_s() + period_us / 1e6;
    } else if (mono_s() >= r->next_take) {   /* nothing running: the windows end unjournaled */
      rt_live_take(r->win[CAND], r->took[CAND]);
      rt_live_take(r->win[BASE], r->took[BASE]);
      r->next_take = mono_s() + period_us / 1e6;
    }
    pthread_mutex_unlock(&r->jmu);
    pthread_mutex_lock(&r->mu);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

/* ---- the server -------------------------------------------------------------- */

char *rt_serve_admin_token(const char *prog, const char *file, int *code) {
  *code = 0;
  if (!file) {
    const char *e = getenv("MLXC_ADMIN_TOKEN");
    return e && *e ? strdup(e) : NULL;
  }
  size_t tl = 0;
  char *token = rt_read_file(file, &tl);
  if (!token) {
    fprintf(stderr, "%s: error: cannot read the admin token file '%s': %s\n", prog, file,
            strerror(errno));
    *code = 6;
    return NULL;
  }
  token[strcspn(token, "\r\n")] = 0;
  if (!*token) {
    free(token);
    fprintf(stderr, "%s: error: the admin token file '%s' is empty\n(run '%s --help' for "
            "usage)\n", prog, file, prog);
    *code = 2;
    return NULL;
  }
  return token;
}

/* Both arms must answer alike: the same task and classes. */
static bool arms_agree(const RtRelease *rel, const RtModel *c, const RtModel *b) {
  const char *why = NULL;
  if (c->desc.task != b->desc.task) why = "tasks";
  else if (c->n_classes != b->n_classes) why = "numbers of classes";
  else
    for (int i = 0; i < c->n_classes && !why; i++)
      if (strcmp(c->class_names[i], b->class_names[i])) why = "classes";
  if (!why) return true;
  rt_diag(RT_ERROR, rel->loc, "release '%s' cannot be served: its candidate and baseline "
          "have different %s", rel->name, why);
  rt_diag_flush();
  return false;
}

int rt_serve_release(const RtRelease *rel, const char *spec_hash, const char *store,
                     const char *admin_token, const RtModel *cand, const MlxKernels *kc,
                     const RtModel *base, const MlxKernels *kb, const RtServeOpts *o) {
  if (!arms_agree(rel, cand, base)) return 4;
  Rel *r = rt_xmalloc(sizeof *r);
  memset(r, 0, sizeof *r);
  r->rel = rel;
  r->spec_hash = spec_hash;
  r->token = admin_token && *admin_token ? admin_token : NULL;
  r->store = rt_release_store_path(rel, store);
  r->m[CAND] = cand;
  r->m[BASE] = base;
  int code = 0;
  r->sm[CAND] = rt_serve_model_new(cand, kc);
  r->sm[BASE] = rt_serve_model_new(base, kb);
  if (!r->sm[CAND] || !r->sm[BASE]) {
    fprintf(stderr, "mlxc: error: internal: the model cannot be served (no predict kernel)\n");
    code = 5;
    goto done;
  }
  for (int a = 0; a < 2; a++) {
    if (rel->bucket_field) rt_serve_model_ignore(r->sm[a], rel->bucket_field);
    r->win[a] = rt_live_new(r->m[a]);
    r->took[a] = rt_live_new(r->m[a]);
  }
  if (ensure_open(r, &code)) goto done;
  refresh(r);
  pthread_key_create(&r->key, work_free);
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_init(&r->jmu, NULL);
  pthread_cond_init(&r->cv, NULL);
  /* the timer thread must not take the signals rt_serve waits for */
  sigset_t old;
  rt_serve_block_signals(&old);
  pthread_t th;
  bool started = !pthread_create(&th, NULL, timer, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!started) {
    fprintf(stderr, "mlxc: error: cannot start the release's timer thread\n");
    code = 5;
  } else {
    int ph = atomic_load(&r->phase);
    char *shown = rt_store_shown(r->store);
    fprintf(stderr, "mlxc: release '%s': %s, candidate at %g%% (journal %s)\n", rel->name,
            phase_name(ph), atomic_load(&r->percent), shown);
    free(shown);
    RtServeHooks h = {.predict = hook_predict, .metrics = hook_metrics, .ctx = r,
                      .owns = hook_owns, .route = hook_route,
                      .endpoints = "POST /predict, GET /health, GET /metrics, POST /feedback, "
                                   "POST /release/promote, /release/rollback, /release/abort"};
    RtServeOpts so = o ? *o : (RtServeOpts){.port = 8080};
    so.hooks = &h;
    code = rt_serve(base, kb, &so);
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(th, NULL);
  }
  work_free(pthread_getspecific(r->key));
  pthread_key_delete(r->key);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  pthread_mutex_destroy(&r->jmu);
done:
  rt_journal_close(r->j);
  for (int a = 0; a < 2; a++) {
    rt_live_free(r->win[a]);
    rt_live_free(r->took[a]);
    rt_serve_model_free(r->sm[a]);
  }
  free(r->store);
  free(r);
  return code;
}
