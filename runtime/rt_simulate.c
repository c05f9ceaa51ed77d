/* rt_simulate.c — `mlxc release FILE NAME simulate`: synthetic traffic
 * replayed through a release's real machinery on a virtual clock. Requests
 * come R per virtual second from U simulated users; each row is drawn from
 * the training distributions frozen in the candidate's .mlxm (deciles per
 * number column, category counts), routed by the user's sticky bucket
 * (rt_bucket, rt_bucket_candidate) at the journal's current percent, and
 * really predicted by that arm's kernels (rt_serve_predict, as serving
 * decodes a JSON body). Both arms' rt_live windows end every `check every`
 * of virtual time counted from the start, and rt_release_tick journals the
 * check and what the rules decide, as serving's timer does, in a journal of
 * its own (a temporary SQLite file unless --store): nothing sleeps, and the
 * release's real NAME.release.db is never opened. An injected regression
 * (--errors, --drift, --latency) begins at --regress-after; the outcome is
 * compared with the bounds the checker printed (release_check.c, handed in
 * by main.c). Ownership: everything is freed before returning. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_MISMATCH = 3, EXIT_DATA = 4, EXIT_ENV = 6 };
enum { CAND, BASE };

#define BASE_LATENCY_US 2000.0     /* the baseline's virtual latency: 2 ms */
#define MAX_REQUESTS 100000000.0   /* rps x for: at most 1e8 simulated requests */

/* ---- options --------------------------------------------------------------------- */

static const char *const sim_opts[] = {"--users", "--rps", "--for", "--errors", "--drift",
                                       "--latency", "--regress-after", "--seed", "--expect",
                                       "--manual"};

bool rt_sim_option(const char *name) {
  for (size_t i = 0; i < sizeof sim_opts / sizeof *sim_opts; i++)
    if (!strcmp(name, sim_opts[i])) return true;
  return false;
}

static int usage(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "mlxc: error: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n(run 'mlxc --help' for usage)\n");
  return EXIT_USAGE;
}

/* A duration such as 90s, 1h30m, 500ms, 2d: one or more NUMBER UNIT
 * (us ms s m min h d). Microseconds into *us; false when it is not one. */
static bool parse_duration(const char *s, double *us) {
  static const struct { const char *u; double us; } units[] = {
      {"min", 60e6}, {"ms", 1e3}, {"us", 1}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6},
      {"d", 86400e6}};
  double total = 0;
  if (!s || !*s) return false;
  while (*s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0 || *s == '+' || *s == '-') return false;
    s = end;
    size_t k = 0;
    for (; k < sizeof units / sizeof *units; k++) {
      size_t n = strlen(units[k].u);
      if (!strncmp(s, units[k].u, n) && !(units[k].u[0] == 'm' && n == 1 && s[1] == 's')) {
        total += v * units[k].us;
        s += n;
        break;
      }
    }
    if (k == sizeof units / sizeof *units) return false;
  }
  *us = total;
  return isfinite(total);
}

/* A positive number (integer when whole) within [lo, hi]. */
static bool parse_num(const char *s, double lo, double hi, bool whole, double *v) {
  char *end;
  errno = 0;
  double d = s && *s ? strtod(s, &end) : NAN;
  if (!s || !*s || *end || errno || !isfinite(d) || d < lo || d > hi) return false;
  if (whole && d != floor(d)) return false;
  *v = d;
  return true;
}

int rt_sim_parse(const char *const *args, int n, RtSimOpts *o) {
  memset(o, 0, sizeof *o);
  o->users = 1000;
  o->rps = 50;
  o->latency_us = -1;
  o->seed = 1;
  for (int i = 0; i + 1 < n; i += 2) {
    const char *k = args[i], *v = args[i + 1];
    double d;
    if (!strcmp(k, "--users")) {
      if (!parse_num(v, 1, 1e9, true, &d))
        return usage("%s needs a whole number of users from 1 to 1e9, not '%s'", k, v);
      o->users = (int64_t)d;
    } else if (!strcmp(k, "--rps")) {
      if (!parse_num(v, 1e-6, 1e6, false, &d) || d <= 0)
        return usage("%s needs requests per second, more than 0 and at most 1e6, not '%s'", k, v);
      o->rps = d;
    } else if (!strcmp(k, "--for") || !strcmp(k, "--latency") || !strcmp(k, "--regress-after")) {
      if (!parse_duration(v, &d))
        return usage("%s needs a duration such as 90s, 10m, 1h30m or 500ms, not '%s'", k, v);
      if (!strcmp(k, "--for")) {
        if (d <= 0) return usage("%s needs a duration above 0, not '%s'", k, v);
        o->for_us = d;
      } else if (k[2] == 'l') {
        o->latency_us = d;
      } else {
        o->regress_us = d;
      }
    } else if (!strcmp(k, "--errors")) {
      size_t l = strlen(v);
      char num[64];
      if (l < 2 || l >= sizeof num || v[l - 1] != '%')
        return usage("%s needs a share of the candidate's requests such as 10%%, not '%s'", k, v);
      memcpy(num, v, l - 1);
      num[l - 1] = 0;
      if (!parse_num(num, 0, 100, false, &d))
        return usage("%s needs a share from 0%% to 100%%, not '%s'", k, v);
      o->errors = d / 100;
    } else if (!strcmp(k, "--drift")) {
      if (!*v) return usage("%s needs a column name%s", k, "");
      o->drift = v;
    } else if (!strcmp(k, "--seed")) {
      if (!parse_num(v, 0, 9007199254740992.0, true, &d))
        return usage("%s needs a whole number from 0 to 2^53, not '%s'", k, v);
      o->seed = (uint64_t)d;
    } else if (!strcmp(k, "--expect")) {
      if (!strcmp(v, "promoted")) o->expect = RT_SIM_PROMOTED;
      else if (!strcmp(v, "rolled_back")) o->expect = RT_SIM_ROLLED_BACK;
      else if (!strcmp(v, "undecided")) o->expect = RT_SIM_UNDECIDED;
      else return usage("%s needs promoted, rolled_back or undecided, not '%s'", k, v);
    } else if (!strcmp(k, "--manual")) {
      if (!strcmp(v, "auto")) o->manual_auto = true;
      else if (strcmp(v, "stop"))
        return usage("%s needs 'auto' (promote manual steps at once) or 'stop', not '%s'", k, v);
    } else {
      return usage("unknown simulate option '%s'%s", k, "");
    }
  }
  if (o->regress_us > 0 && o->errors <= 0 && !o->drift && o->latency_us < 0)
    return usage("%s needs a regression to delay (--errors, --drift or --latency)%s",
                 "--regress-after", "");
  return EXIT_OK;
}

/* ---- durations as text ----------------------------------------------------------- */


/* ---- the simulation -------------------------------------------------------------- */

typedef struct Sim {
  const RtRelease *rel;
  const RtSimOpts *o;
  const RtModel *m[2];        /* the arms: CAND, BASE (the same model without a baseline) */
  RtServeModel *sm[2];        /* serving's decoder and kernels of each arm */
  RtServeWork *sw[2];
  RtLiveWindow *win[2], *took[2];   /* the window filling, the one a check just ended */
  int ncols;                  /* generated columns: the candidate's distributions */
  const RtTrainDist *dist;    /* ncols of them */
  int *map[2];                /* arm a's window column -> generated column (-1: none) */
  int drift_col;              /* -1: none */
  double *num;                /* a row: numbers, or */
  const char **cat;           /* its categories (NULL: a number) */
  RtLiveCell *cells;
  char *body; size_t len, cap;   /* the request's JSON body */
  RtRand rng;                 /* --seed: users, cells, latency jitter, failures */
  /* the outcome */
  json_t *events;             /* the timeline (--json) */
  int64_t requests[2], failed[2], checks, conclusive;
} Sim;

static void put(Sim *s, const char *t, size_t n) {
  if (s->len + n + 1 > s->cap) {
    s->cap = (s->len + n + 1) * 2;
    s->body = rt_xrealloc(s->body, s->cap);
  }
  memcpy(s->body + s->len, t, n);
  s->len += n;
  s->body[s->len] = 0;
}

/* A JSON string literal. */
static void put_str(Sim *s, const char *t) {
  put(s, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
    char e[8];
    if (*p == '"' || *p == '\\') {
      e[0] = '\\', e[1] = (char)*p;
      put(s, e, 2);
    } else if (*p < 0x20) {
      snprintf(e, sizeof e, "\\u%04x", *p);
      put(s, e, 6);
    } else {
      put(s, (const char *)p, 1);
    }
  }
  put(s, "\"", 1);
}

/* One number drawn from a column's deciles: a bin by its train count, then
 * uniform inside it (the outer bins reach one neighbouring width beyond
 * their cut; a column with one cut gives the cut). */
static double draw_num(Sim *s, const RtTrainDist *t) {
  int nc = t->n_bins - 1;
  if (nc < 1) return 0;
  int64_t total = 0;
  for (int b = 0; b < t->n_bins; b++) total += t->count[b];
  int bin = nc;   /* no count: the top bin */
  if (total > 0) {
    double r = rt_rand_double(&s->rng) * (double)total;
    for (bin = 0; bin < nc && r >= (double)t->count[bin]; bin++) r -= (double)t->count[bin];
  }
  double u = rt_rand_double(&s->rng);
  if (bin > 0 && bin < nc) return t->cuts[bin - 1] + u * (t->cuts[bin] - t->cuts[bin - 1]);
  double w = nc > 1 ? (bin == 0 ? t->cuts[1] - t->cuts[0] : t->cuts[nc - 1] - t->cuts[nc - 2]) : 0;
  if (bin == 0) return w > 0 ? t->cuts[0] - (0.001 + 0.999 * u) * w : nextafter(t->cuts[0], -INFINITY);
  return t->cuts[nc - 1] + u * w;
}

/* One category by its train count ("other" never). */
static const char *draw_cat(Sim *s, const RtTrainDist *t) {
  int n = t->n_bins - 1;
  if (n < 1) return "";
  int64_t total = 0;
  for (int b = 0; b < n; b++) total += t->count[b];
  double r = rt_rand_double(&s->rng) * (double)total;
  int b = 0;
  for (; b < n - 1 && r >= (double)t->count[b]; b++) r -= (double)t->count[b];
  return t->cats[b];
}

/* The drifted value of a column: numbers far above the top cut (ten
 * training ranges beyond it), categories all the rarest train category. */
static void drift_value(Sim *s, const RtTrainDist *t, double *num, const char **cat) {
  if (t->cat) {
    int best = 0;
    for (int b = 1; b < t->n_bins - 1; b++)
      if (t->count[b] > 0 && (t->count[best] == 0 || t->count[b] < t->count[best])) best = b;
    *cat = t->n_bins > 1 ? t->cats[best] : "";
    return;
  }
  int nc = t->n_bins - 1;
  double hi = nc > 0 ? t->cuts[nc - 1] : 0, lo = nc > 0 ? t->cuts[0] : 0;
  double span = hi - lo > 0 ? hi - lo : fabs(hi) > 0 ? fabs(hi) : 1;
  *num = hi + span * (10 + rt_rand_double(&s->rng));
}

/* Arm a's raw cells of the row just drawn, in its window's column order. */
static const RtLiveCell *row_cells(Sim *s, int a) {
  int nc = rt_live_ncols(s->win[a]);
  for (int c = 0; c < nc; c++) {
    int g = s->map[a][c];
    RtLiveCell *cell = &s->cells[c];
    *cell = (RtLiveCell){.num = NAN};
    if (g < 0) continue;
    if (s->cat[g]) cell->str = s->cat[g], cell->len = strlen(s->cat[g]);
    else cell->num = s->num[g];
  }
  return nc > 0 ? s->cells : NULL;
}

/* Request i: draw the row, route the user's bucket at pct, predict with
 * that arm, observe (regressed: the injected regression applies). */
static void request(Sim *s, int64_t i, double pct, bool regressed) {
  const RtSimOpts *o = s->o;
  char key[48], rid[48];
  uint64_t user = rt_rand_below(&s->rng, (uint64_t)o->users);
  snprintf(key, sizeof key, "u%llu", (unsigned long long)user);
  snprintf(rid, sizeof rid, "sim-%lld", (long long)i);
  const char *bk = s->rel->bucket_field ? key : rid;   /* as serving: else the request id */
  int arm = rt_bucket_candidate(rt_bucket(bk, strlen(bk), s->rel->salt), pct) ? CAND : BASE;
  for (int g = 0; g < s->ncols; g++) {
    const RtTrainDist *d = &s->dist[g];
    s->cat[g] = NULL;
    if (regressed && g == s->drift_col) drift_value(s, d, &s->num[g], &s->cat[g]);
    else if (d->cat) s->cat[g] = draw_cat(s, d);
    else s->num[g] = draw_num(s, d);
  }
  double lat = arm == CAND && regressed && o->latency_us >= 0 ? o->latency_us : BASE_LATENCY_US;
  lat *= 0.9 + 0.2 * rt_rand_double(&s->rng);   /* +-10% */
  bool fail = arm == CAND && regressed && o->errors > 0 && rt_rand_double(&s->rng) < o->errors;
  s->requests[arm]++;
  if (fail) {
    s->failed[arm]++;
    RtLiveObs obs = {.outcome = RT_LIVE_FAILED, .latency_us = lat};
    rt_live_add(s->win[arm], &obs);
    return;
  }
  s->len = 0;
  put(s, "{", 1);
  bool first = true;
  if (s->rel->bucket_field) {
    put_str(s, s->rel->bucket_field);
    put(s, ":", 1);
    put_str(s, key);
    first = false;
  }
  for (int g = 0; g < s->ncols; g++) {
    if (!first) put(s, ",", 1);
    first = false;
    put_str(s, s->dist[g].column);
    put(s, ":", 1);
    if (s->cat[g]) {
      put_str(s, s->cat[g]);
    } else {
      char nb[40];
      snprintf(nb, sizeof nb, "%.17g", s->num[g]);
      put(s, nb, strlen(nb));
    }
  }
  put(s, "}", 1);
  RtServeReply rep;
  memset(&rep, 0, sizeof rep);
  rt_serve_predict(s->sm[arm], s->sw[arm], s->body, s->len, rid, &rep);
  RtLiveObs obs = {.outcome = rep.status == 200 ? RT_LIVE_OK
                              : rep.status == 400 ? RT_LIVE_INVALID : RT_LIVE_FAILED,
                   .latency_us = lat,
                   .n_rows = rep.status == 200 ? rep.n_rows : 0,
                   .out = rep.status == 200 ? rep.pred : NULL};
  if (rep.status == 200 && rep.n_rows == 1) obs.cells = row_cells(s, arm);
  if (rep.status != 200) s->failed[arm]++;
  rt_live_add(s->win[arm], &obs);
}

/* A window figure for the rules, as serving reads it (rt_serve_release.c). */
static double metric(void *ctx, const RtGateExpr *x) {
  Sim *s = ctx;
  return rt_live_rule_metric(s->took[CAND], s->took[BASE], x);
}

/* ---- the timeline ------------------------------------------------------------------ */

static double pct_of(const RtReleaseState *st) {
  return st->phase == RT_RS_STEP ? st->percent : st->phase == RT_RS_PROMOTED ? 100.0 : 0.0;
}

static void timeline(Sim *s, double t, const char *event, const RtReleaseState *st,
                     const char *reason) {
  char d[64], step[32], pct[32];
  rt_dur_text(t, d, sizeof d);
  snprintf(step, sizeof step, "%d/%d", st->step + 1, s->rel->n_steps);
  snprintf(pct, sizeof pct, "%g%%", pct_of(st));
  if (s->o->json) {
    json_t *e = json_object();
    json_object_set_new(e, "t_us", json_integer((json_int_t)llround(t)));
    json_object_set_new(e, "event", json_string(event));
    json_object_set_new(e, "step", json_integer(st->step + 1));
    json_object_set_new(e, "percent", json_real(pct_of(st)));
    json_object_set_new(e, "reason", json_string(reason ? reason : ""));
    json_array_append_new(s->events, e);
  } else {
    printf("%-10s %-14s %-6s %-8s %s\n", d, event, step, pct, reason ? reason : "");
  }
}

/* ---- the journal --------------------------------------------------------------------- */

static int replay(RtJournal *j, const RtRelease *rel, RtReleaseState *st) {
  RtEvent *ev;
  int64_t n;
  if (rt_journal_read(j, &ev, &n)) return -1;
  *st = rt_release_replay(rel, ev, n);
  rt_events_free(ev, n);
  return 0;
}

/* Appends one event (who "simulator") in a transaction of its own. */
static int append(RtJournal *j, RtEventKind kind, int64_t at, const char *why, const char *detail) {
  if (rt_journal_begin(j)) return -1;
  if (rt_journal_append(j, kind, at, "simulator", why, detail) < 0) {
    rt_journal_rollback(j);
    return -1;
  }
  return rt_journal_commit(j);
}

/* path with its directory resolved (the file itself need not exist). */
static char *canon(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[PATH_MAX];
  if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
  else snprintf(dir, sizeof dir, ".");
  char *r = realpath(dir, NULL);
  const char *base = slash ? slash + 1 : path;
  size_t n = (r ? strlen(r) : strlen(dir)) + strlen(base) + 2;
  char *out = rt_xmalloc(n);
  snprintf(out, n, "%s/%s", r ? r : dir, base);
  free(r);
  return out;
}

/* The candidate's offline gate, as `start` reads it: 0, or 3 after reporting. */
static int gate_ok(const RtRelease *rel, const RtModel *m, const char *cand) {
  if (!rel->gate) return EXIT_OK;
  json_t *o = m->metrics_json ? json_loads(m->metrics_json, 0, NULL) : NULL;
  json_t *gates = json_object_get(o, "gates");
  int found = 0, failed = 0;
  for (size_t i = 0; json_is_array(gates) && i < json_array_size(gates); i++) {
    json_t *g = json_array_get(gates, i);
    const char *name = json_string_value(json_object_get(g, "name"));
    if (!name || strcmp(name, rel->gate->name)) continue;
    found++;
    if (!json_is_false(json_object_get(g, "passed"))) continue;
    const char *expr = json_string_value(json_object_get(g, "expr"));
    if (!failed++)
      rt_diag(RT_ERROR, rel->gate->use_loc, "release '%s' cannot start, so nothing is simulated: "
              "the candidate '%s' failed gate '%s': %s", rel->name, cand, name, expr ? expr : "?");
  }
  if (!failed && !found)
    rt_diag(RT_ERROR, rel->gate->use_loc, "release '%s' cannot start, so nothing is simulated: "
            "the candidate '%s' has no results of gate '%s'", rel->name, cand, rel->gate->name);
  json_decref(o);
  rt_diag_flush();
  return failed || !found ? EXIT_MISMATCH : EXIT_OK;
}

static const char *outcome_word(RtSimExpect e) {
  return e == RT_SIM_PROMOTED ? "promoted" : e == RT_SIM_ROLLED_BACK ? "rolled_back"
       : e == RT_SIM_UNDECIDED ? "undecided" : "any";
}

/* ---- the run ------------------------------------------------------------------------- */

int rt_release_simulate(const RtRelease *rel, const RtModel *cand, const MlxKernels *kc,
                        const RtModel *base, const MlxKernels *kb, const RtSimOpts *o) {
  const RtReleaseBounds *bd = &o->bounds;
  double W = bd->check_us > 0 ? bd->check_us : 30e6;
  /* the virtual time cap: --for, else 2h or the least time to 100% + 1h */
  double cap = o->for_us > 0 ? o->for_us : fmax(2 * 3600e6, bd->least_us + 3600e6);
  if (o->rps * cap / 1e6 > MAX_REQUESTS) {
    char c[64];
    rt_dur_text(cap, c, sizeof c);
    return usage("%.0s%s of virtual time at this --rps is more than 1e8 requests: lower --rps or "
                 "--for", "", c);
  }
  if (!cand->data || !cand->data->dist || cand->data->n_dist < 1) {
    fprintf(stderr, "mlxc: error: the candidate '%s' has no training distributions to draw "
                    "requests from (a model written before they were recorded): train it again\n",
            cand->path ? cand->path : "?");
    return EXIT_DATA;
  }
  if (cand->desc.task != base->desc.task || cand->n_classes != base->n_classes) {
    rt_diag(RT_ERROR, rel->loc, "release '%s' cannot be simulated: its candidate and baseline "
            "have different %s", rel->name, cand->desc.task != base->desc.task ? "tasks"
                                                                               : "numbers of classes");
    rt_diag_flush();
    return EXIT_DATA;
  }
  Sim S;
  memset(&S, 0, sizeof S);
  Sim *s = &S;
  s->rel = rel;
  s->o = o;
  s->m[CAND] = cand, s->m[BASE] = base;
  s->dist = cand->data->dist;
  s->ncols = cand->data->n_dist;
  s->drift_col = -1;
  if (o->drift) {
    for (int g = 0; g < s->ncols; g++)
      if (!strcmp(s->dist[g].column, o->drift)) s->drift_col = g;
    if (s->drift_col < 0) {
      char list[1024] = "";
      for (int g = 0; g < s->ncols; g++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", g ? " " : "",
                 s->dist[g].column);
      return usage("--drift '%s' is not a column the candidate reads (%s)", o->drift, list);
    }
  }
  /* the store: never the release's own journal */
  char *own = rt_release_store_path(rel, NULL);
  char *own_c = canon(own), *store = NULL, *tmpdir = NULL;
  int code = EXIT_OK;
  RtJournal *j = NULL;
  if (o->store) {
    if (!*o->store) {
      code = usage("%s needs a file path%s", "--store", "");
      goto done;
    }
    if (strstr(o->store, "://")) {
      code = usage("simulate journals into an SQLite file of its own (--store PATH, or by "
                   "default a temporary one), not the store '%s'%s: it never touches a real "
                   "rollout's", "a URI", "");
      goto done;
    }
    char *st_c = canon(o->store);
    bool same = !strcmp(st_c, own_c);
    free(st_c);
    if (same) {
      code = usage("--store '%s' is the release's own journal: the simulator never writes the "
                   "real rollout's state; give another path, or none (a temporary file)%s",
                   o->store, "");
      goto done;
    }
    store = rt_xstrdup(o->store);
    struct stat sb;
    if (stat(store, &sb) == 0) {
      int c = 0;
      j = rt_journal_open(store, rel->name, o->spec_hash, false, &c);
      if (!j) {
        code = c ? c : EXIT_ENV;
        goto done;
      }
      RtEvent *ev;
      int64_t n;
      if (rt_journal_read(j, &ev, &n)) {
        code = EXIT_ENV;
        goto done;
      }
      rt_events_free(ev, n);
      if (n > 0) {
        char nb[32];
        snprintf(nb, sizeof nb, "%lld", (long long)n);
        code = usage("--store '%s' already holds a journal of %s events: the simulator starts a "
                     "rollout from nothing and never writes into one that ran; give a new path",
                     o->store, nb);
        goto done;
      }
      rt_journal_close(j);
      j = NULL;
    }
  } else {
    const char *td = getenv("TMPDIR");
    size_t n = strlen(td && *td ? td : "/tmp") + 32;
    tmpdir = rt_xmalloc(n);
    snprintf(tmpdir, n, "%s/mlxc-sim-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir)) {
      fprintf(stderr, "mlxc: error: cannot create a temporary directory for the simulated "
                      "journal ('%s'): %s\n", tmpdir, strerror(errno));
      free(tmpdir);
      tmpdir = NULL;
      code = EXIT_ENV;
      goto done;
    }
    n = strlen(tmpdir) + strlen(rel->name) + 16;
    store = rt_xmalloc(n);
    snprintf(store, n, "%s/%s.release.db", tmpdir, rel->name);
  }
  char *cand_path = rt_xstrdup(cand->path ? cand->path : "?");
  if ((code = gate_ok(rel, cand, cand_path))) {
    free(cand_path);
    goto done;
  }
  {
    int c = 0;
    j = rt_journal_open(store, rel->name, o->spec_hash, true, &c);
    if (!j) {
      free(cand_path);
      code = c ? c : EXIT_ENV;
      goto done;
    }
  }
  /* the arms */
  for (int a = 0; a < 2; a++) {
    s->sm[a] = rt_serve_model_new(s->m[a], a == CAND ? kc : kb);
    if (!s->sm[a]) {
      fprintf(stderr, "mlxc: error: internal: the model cannot be served (no predict kernel)\n");
      free(cand_path);
      code = 5;
      goto done;
    }
    if (rel->bucket_field) rt_serve_model_ignore(s->sm[a], rel->bucket_field);
    s->sw[a] = rt_serve_work_new(s->sm[a]);
    s->win[a] = rt_live_new(s->m[a]);
    s->took[a] = rt_live_new(s->m[a]);
    int nc = rt_live_ncols(s->win[a]);
    s->map[a] = rt_xmalloc(sizeof(int) * (size_t)(nc + 1));
    for (int c = 0; c < nc; c++) {
      s->map[a][c] = -1;
      for (int g = 0; g < s->ncols; g++)
        if (!strcmp(rt_live_col_dist(s->win[a], c)->column, s->dist[g].column)) s->map[a][c] = g;
    }
  }
  {
    int nmax = rt_live_ncols(s->win[0]) > rt_live_ncols(s->win[1]) ? rt_live_ncols(s->win[0])
                                                                     : rt_live_ncols(s->win[1]);
    s->cells = rt_xmalloc(sizeof(RtLiveCell) * (size_t)(nmax + 1));
    s->num = rt_xmalloc(sizeof(double) * (size_t)s->ncols);
    s->cat = rt_xmalloc(sizeof(char *) * (size_t)s->ncols);
  }
  rt_rand_seed(&s->rng, o->seed);
  s->events = json_array();

  bool regression = o->errors > 0 || o->drift || o->latency_us >= 0;
  double R = regression ? o->regress_us : -1;
  char wt[64], capt[64], lt[64], bt[64], rt[64];
  rt_dur_text(W, wt, sizeof wt);
  rt_dur_text(cap, capt, sizeof capt);
  rt_dur_text(bd->least_us, lt, sizeof lt);
  rt_dur_text(bd->rollback_us, bt, sizeof bt);
  rt_dur_text(R > 0 ? R : 0, rt, sizeof rt);
  if (!o->json) {
    printf("simulating release '%s': %g requests/s from %lld users, a check every %s, for %s of "
           "virtual time, seed %llu\n", rel->name, o->rps, (long long)o->users, wt, capt,
           (unsigned long long)o->seed);
    printf("candidate %s; baseline %s\n", cand_path,
           base == cand ? "the candidate (the release names none)" : rel->baseline);
    if (regression) {
      const char *sep = ":";
      printf("regression from %s", rt);
      if (o->errors > 0) printf("%s %g%% of candidate requests fail", sep, o->errors * 100), sep = ";";
      if (o->drift)
        printf("%s column '%s' of every request out of its training range", sep, o->drift), sep = ";";
      if (o->latency_us >= 0) {
        char l[64];
        rt_dur_text(o->latency_us, l, sizeof l);
        printf("%s candidate latency %s (baseline 2ms)", sep, l);
      }
      printf("\n");
    }
    printf("checker: at least %s and %.15g candidate requests to 100%%", lt, bd->least_requests);
    if (bd->manual) printf(" (plus %d manual promotion%s)", bd->manual, bd->manual == 1 ? "" : "s");
    if (bd->rollback_rule >= 0)
      printf("; rolls back within %s once a rollback condition holds ('%s')", bt,
             rel->rollback[bd->rollback_rule].text);
    printf("\n");
    if (o->store) printf("journal: %s\n", store);
    printf("%-10s %-14s %-6s %-8s %s\n", "time", "event", "step", "percent", "reason");
  }

  /* start: step 1 at virtual time 0 */
  int64_t T0 = rt_release_now_us();
  RtReleaseState st;
  {
    json_t *d = json_object();
    json_object_set_new(d, "step", json_integer(0));
    json_object_set_new(d, "percent", json_real(rel->steps[0].percent));
    json_object_set_new(d, "spec_hash", json_string(o->spec_hash ? o->spec_hash : ""));
    json_object_set_new(d, "candidate", json_string(cand_path));
    json_object_set_new(d, "baseline", rel->baseline ? json_string(rel->baseline) : json_null());
    json_object_set_new(d, "gate", rel->gate ? json_string(rel->gate->name) : json_null());
    json_object_set_new(d, "simulated", json_true());
    char *dt = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(d);
    int r = append(j, RT_EV_STARTED, T0, "simulate", dt);
    free(dt);
    if (r || replay(j, rel, &st)) {
      free(cand_path);
      code = EXIT_ENV;
      goto done;
    }
  }
  free(cand_path);
  timeline(s, 0, "started", &st, "by the simulator");
  bool marked = !regression || R <= 0;   /* the regression's beginning is on the timeline */
  int64_t inconclusive_after = 0;        /* inconclusive windows wholly after it */
  int64_t misses[RT_MAX_ROLLBACK] = {0};  /* conclusive ones after it on which rule k was false */
  double first_full = R >= 0 ? ceil(R / W - 1e-9) * W : 0;   /* the first window wholly after it */
  double gap = 1e6 / o->rps, t_req = 0, decided_at = -1;
  int64_t nreq = 0;
  int k = 0;
  bool manual_stop = false;
  for (double t = W; t <= cap + 1e-6 && st.phase == RT_RS_STEP; t += W) {
    /* a manual step: promoted at once (--manual auto), else the run stops */
    while (st.phase == RT_RS_STEP && rel->steps[st.step].kind == RT_STEP_MANUAL) {
      double now = t - W;
      if (!o->manual_auto) {
        manual_stop = true;
        break;
      }
      char *detail = NULL;
      RtEventKind kind = rt_release_manual_event(rel, &st, "promote", &detail);
      int r = append(j, kind, T0 + (int64_t)llround(now), "--manual auto", detail);
      free(detail);
      if (r || replay(j, rel, &st)) {
        code = EXIT_ENV;
        goto done;
      }
      timeline(s, now, kind == RT_EV_PROMOTED ? "promoted" : "step_advanced", &st,
               "manual promotion (--manual auto)");
      if (kind == RT_EV_PROMOTED) decided_at = now;
    }
    if (manual_stop || st.phase != RT_RS_STEP) break;
    double pct = pct_of(&st);
    for (; t_req < t - 1e-6; t_req = (double)++nreq * gap) {
      bool reg = regression && t_req >= R;
      if (reg && !marked) {
        marked = true;
        timeline(s, R, "regression", &st, "the injected regression begins");
      }
      request(s, nreq, pct, reg);
    }
    if (regression && !marked && R < t) {
      marked = true;
      timeline(s, R, "regression", &st, "the injected regression begins");
    }
    /* the check, as serving's timer runs it */
    rt_live_take(s->win[CAND], s->took[CAND]);
    rt_live_take(s->win[BASE], s->took[BASE]);
    char *extra = rt_live_check_json(s->took[CAND], s->took[BASE]);
    int64_t req = (int64_t)rt_live_metric(s->took[CAND], "requests");
    bool conclusive = req > 0 && req >= rel->min_requests;
    s->checks++;
    s->conclusive += conclusive;
    if (R >= 0 && t - W >= first_full - 1e-6) {
      if (!conclusive) inconclusive_after++;
      for (int r = 0; conclusive && r < rel->n_rollback && r < RT_MAX_ROLLBACK; r++)
        misses[r] += rt_rule_eval(rel->rollback[r].cond, metric, s) != 1;
    }
    /* a window in which neither arm saw a request: serving's idle check */
    bool idle = req == 0 && rt_live_metric(s->took[BASE], "requests") == 0;
    if (idle) k = rt_release_tick_idle(j, rel, T0 + (int64_t)llround(t), &st);
    else k = rt_release_tick(j, rel, -1, req, metric, s, extra, T0 + (int64_t)llround(t), &st);
    free(extra);
    rt_diag_flush();
    if (k < 0) {
      code = EXIT_ENV;
      goto done;
    }
    if (k != RT_EV__COUNT) {
      timeline(s, t, rt_event_names[k], &st, st.reason);
      if (k == RT_EV_PROMOTED || k == RT_EV_ROLLED_BACK) decided_at = t;
    }
  }

  /* the outcome, against the checker's bounds */
  const char *outcome = st.phase == RT_RS_PROMOTED ? "promoted"
                      : st.phase == RT_RS_ROLLED_BACK ? "rolled_back"
                      : manual_stop ? "manual" : "undecided";
  char at[64], line[1024];
  rt_dur_text(decided_at > 0 ? decided_at : 0, at, sizeof at);
  bool within = true;   /* the bound holds (or does not apply) */
  double bound = -1;
  if (st.phase == RT_RS_PROMOTED) {
    within = decided_at >= bd->least_us - 1e-6;
    snprintf(line, sizeof line, "promoted at %s (checker: at least %s)%s", at, lt,
             within ? "" : ": sooner than the checker's least time, its bound is wrong");
  } else if (st.phase == RT_RS_ROLLED_BACK) {
    bool by_rule = bd->rollback_rule >= 0 && strstr(st.reason, ": true on ") != NULL;
    int64_t missed = 0;   /* the rule that fired: windows it did not hold on (noise) */
    for (int r = 0; by_rule && r < rel->n_rollback && r < RT_MAX_ROLLBACK; r++) {
      char w[512];
      snprintf(w, sizeof w, "rollback when %s: true on ", rel->rollback[r].text);
      if (strstr(st.reason, w)) missed = misses[r];
    }
    if (regression && decided_at >= R && by_rule) {
      char after[64], bnd[64], extra_t[320] = "";
      rt_dur_text(decided_at - (R > 0 ? R : 0), after, sizeof after);
      /* from the first window wholly after the regression began; each
       * inconclusive window after it delays the rollback one window */
      bound = (first_full - (R > 0 ? R : 0)) + bd->rollback_us +
              (double)(inconclusive_after + missed) * W;
      rt_dur_text(bound, bnd, sizeof bnd);
      if (first_full > R + 1e-6 || inconclusive_after || missed) {
        char a[64], b[64];
        rt_dur_text(first_full - R, a, sizeof a);
        rt_dur_text((double)inconclusive_after * W, b, sizeof b);
        snprintf(extra_t, sizeof extra_t, " = %s%s%s%s%s", bt, first_full > R + 1e-6 ? " + " : "",
                 first_full > R + 1e-6 ? a : "", first_full > R + 1e-6 ? " to the next window" : "",
                 "");
        if (inconclusive_after)
          snprintf(extra_t + strlen(extra_t), sizeof extra_t - strlen(extra_t),
                   " + %s for %lld inconclusive window%s", b, (long long)inconclusive_after,
                   inconclusive_after == 1 ? "" : "s");
        if (missed) {
          rt_dur_text((double)missed * W, b, sizeof b);
          snprintf(extra_t + strlen(extra_t), sizeof extra_t - strlen(extra_t),
                   " + %s for %lld window%s its rule did not hold on", b, (long long)missed,
                   missed == 1 ? "" : "s");
        }
      }
      within = decided_at - (R > 0 ? R : 0) <= bound + 1e-6;
      snprintf(line, sizeof line, "rolled back at %s, %s after the regression began (checker "
               "bound: %s%s)%s", at, after, bnd, extra_t,
               within ? "" : ": later than the checker's bound, the bound is wrong");
    } else if (regression && decided_at < R) {
      snprintf(line, sizeof line, "rolled back at %s, before the regression began at %s (%s)", at,
               rt, st.reason);
    } else {
      snprintf(line, sizeof line, "rolled back at %s (%s)", at, st.reason);
    }
  } else if (manual_stop) {
    char sn[64];
    rt_dur_text(st.since_us - T0, sn, sizeof sn);
    snprintf(line, sizeof line, "stopped at step %d of %d (%g%%), a manual step, since %s: it "
             "waits for 'mlxc release ... promote' (--manual auto promotes it)", st.step + 1,
             rel->n_steps, st.percent, sn);
  } else {
    char sn[64];
    rt_dur_text(st.since_us - T0, sn, sizeof sn);
    snprintf(line, sizeof line, "no decision within %s: step %d of %d (%g%%) since %s; %lld "
             "checks, %lld conclusive, %lld candidate requests", capt, st.step + 1, rel->n_steps,
             st.percent, sn, (long long)s->checks, (long long)s->conclusive,
             (long long)s->requests[CAND]);
  }
  bool expected = o->expect == RT_SIM_ANY || !strcmp(outcome, outcome_word(o->expect));
  if (o->json) {
    json_t *r = json_object();
    json_object_set_new(r, "release", json_string(rel->name));
    json_object_set_new(r, "outcome", json_string(outcome));
    json_object_set_new(r, "at_us", decided_at >= 0 ? json_integer((json_int_t)llround(decided_at))
                                                     : json_null());
    json_object_set_new(r, "regression_us", regression ? json_integer((json_int_t)llround(R))
                                                       : json_null());
    json_object_set_new(r, "least_us", json_integer((json_int_t)llround(bd->least_us)));
    json_object_set_new(r, "rollback_us", bd->rollback_rule >= 0
                            ? json_integer((json_int_t)llround(bd->rollback_us)) : json_null());
    json_object_set_new(r, "bound_us", bound >= 0 ? json_integer((json_int_t)llround(bound))
                                                  : json_null());
    json_object_set_new(r, "within_bound", json_boolean(within));
    json_object_set_new(r, "expected", o->expect ? json_boolean(expected) : json_null());
    json_object_set_new(r, "checks", json_integer(s->checks));
    json_object_set_new(r, "conclusive", json_integer(s->conclusive));
    json_t *rq = json_object();
    json_object_set_new(rq, "candidate", json_integer(s->requests[CAND]));
    json_object_set_new(rq, "baseline", json_integer(s->requests[BASE]));
    json_object_set_new(rq, "candidate_failed", json_integer(s->failed[CAND]));
    json_object_set_new(rq, "baseline_failed", json_integer(s->failed[BASE]));
    json_object_set_new(r, "requests", rq);
    json_object_set_new(r, "step", json_integer(st.step + 1));
    json_object_set_new(r, "percent", json_real(pct_of(&st)));
    json_object_set_new(r, "events", s->events);
    s->events = NULL;
    json_object_set_new(r, "summary", json_string(line));
    json_object_set_new(r, "store", o->store ? json_string(store) : json_null());
    char *t = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(r);
    if (t) puts(t);
    free(t);
  } else {
    printf("%lld check%s (%lld conclusive); candidate %lld requests (%lld failed), baseline %lld "
           "(%lld failed)\n", (long long)s->checks, s->checks == 1 ? "" : "s", (long long)s->conclusive,
           (long long)s->requests[CAND], (long long)s->failed[CAND], (long long)s->requests[BASE],
           (long long)s->failed[BASE]);
    printf("%s\n", line);
  }
  fflush(stdout);
  if (!within) code = EXIT_MISMATCH;
  if (!expected) {
    fprintf(stderr, "mlxc: error: release '%s': the simulation ended %s, not %s (--expect)\n",
            rel->name, manual_stop ? "at a manual step" : outcome, outcome_word(o->expect));
    code = EXIT_MISMATCH;
  }
done:
  rt_journal_close(j);
  for (int a = 0; a < 2; a++) {
    rt_live_free(s->win[a]);
    rt_live_free(s->took[a]);
    rt_serve_work_free(s->sw[a]);
    rt_serve_model_free(s->sm[a]);
    free(s->map[a]);
  }
  json_decref(s->events);
  free(s->cells);
  free(s->num);
  free(s->cat);
  free(s->body);
  if (tmpdir) {   /* the temporary journal: the database and SQLite's files beside it */
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
      size_t n = strlen(store) + 16;
      char *p = rt_xmalloc(n);
      snprintf(p, n, "%s%s", store, sfx[i]);
      unlink(p);
      free(p);
    }
    rmdir(tmpdir);
  }
  free(tmpdir);
  free(store);
  free(own);
  free(own_c);
  return code;
}
