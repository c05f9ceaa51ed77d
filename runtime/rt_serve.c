/* rt_serve.c — `mlxc serve` (and BIN serve): HTTP with libmicrohttpd. POST
 * /predict goes to rt_serve_req.c's decoder on a pool thread (one per CPU by
 * default, each with its own work buffers); GET /health and GET /metrics
 * (Prometheus text: requests by status, latency histogram, predictions)
 * are answered here. SIGTERM or SIGINT stops accepting, serves what was
 * already accepted or in flight, and returns 0. Needs only the model and
 * its kernels, so standalone executables serve through it too. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define DRAIN_LIMIT_S 30.0   /* longest wait for requests in flight after a signal */

/* Statuses counted in /metrics, in this order. */
static const int codes[] = {200, 400, 404, 405, 413, 415, 500};
#define N_CODES (int)(sizeof codes / sizeof codes[0])

/* /predict latency buckets (seconds), Prometheus `le` bounds. */
static const double lat_le[] = {25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3,
                                2.5e-3, 5e-3, 10e-3, 50e-3, 250e-3, 1.0};
#define N_LAT (int)(sizeof lat_le / sizeof lat_le[0])

/* Regression: the predicted values' histogram bounds. */
static const double val_le[] = {-1e6, -1e4, -1e3, -100, -10, -1, -0.1, 0, 0.1, 1, 10,
                                100, 1e3, 1e4, 1e6};
#define N_VAL (int)(sizeof val_le / sizeof val_le[0])

typedef struct Server {
  const RtModel *m;
  const RtServeModel *sm;
  size_t max_body;
  pthread_key_t work_key;          /* each pool thread's RtServeWork */
  atomic_uint_fast64_t by_code[N_CODES + 1];   /* + other statuses */
  atomic_uint_fast64_t lat[N_LAT + 1];         /* per bucket (not cumulative), + over */
  atomic_uint_fast64_t lat_ns;                 /* sum of latencies */
  atomic_uint_fast64_t *by_class;              /* rows predicted per class */
  atomic_uint_fast64_t val[N_VAL + 1];         /* regression values per bucket */
  atomic_uint_fast64_t rows;                   /* rows predicted */
  _Atomic double val_sum;                      /* regression: sum of values */
  atomic_int in_flight;                        /* requests begun, not yet completed */
  atomic_bool draining;                        /* a signal came: answer with Connection: close */
  atomic_uint_fast64_t next_id;
  char id_prefix[9];                           /* request ids: prefix-counter */
  const RtServeHooks *hooks;                   /* serving a release, or NULL */
} Server;

/* One request (MHD's con_cls). */
typedef struct Req {
  double t0;          /* when its headers were read */
  char *body; size_t len, cap;
  bool too_big;       /* the body passed max_body: 413 at the end */
  bool post;          /* a 405 for /predict: Allow: POST (else GET) */
  int status;         /* an error decided from the headers (404 405 415), else 0 */
  char msg[240];      /* its message */
  char id[72];        /* X-Request-Id: the client's, or made here */
} Req;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- metrics -------------------------------------------------------------------- */

static void count_status(Server *s, int status) {
  int i = 0;
  while (i < N_CODES && codes[i] != status) i++;
  atomic_fetch_add_explicit(&s->by_code[i], 1, memory_order_relaxed);
}

static void count_latency(Server *s, double sec) {
  int b = 0;
  while (b < N_LAT && sec > lat_le[b]) b++;
  atomic_fetch_add_explicit(&s->lat[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->lat_ns, (uint_fast64_t)(sec * 1e9), memory_order_relaxed);
}

static void count_preds(Server *s, const RtServeReply *r) {
  RtTask task = s->m->desc.task;
  atomic_fetch_add_explicit(&s->rows, (uint_fast64_t)r->n_rows, memory_order_relaxed);
  for (int64_t q = 0; q < r->n_rows; q++) {
    const float *p = r->pred + q * r->n_out;
    if (task == RT_TASK_REGRESSION) {
      int b = 0;
      while (b < N_VAL && !(p[0] <= val_le[b])) b++;
      atomic_fetch_add_explicit(&s->val[b], 1, memory_order_relaxed);
      double old = atomic_load_explicit(&s->val_sum, memory_order_relaxed);
      while (!atomic_compare_exchange_weak(&s->val_sum, &old, old + (double)p[0])) {}
      continue;
    }
    int best = 0;
    if (task == RT_TASK_BINARY) best = p[0] >= 0.5f;
    else
      for (int c = 1; c < r->n_out; c++)
        if (p[c] > p[best]) best = c;
    if (best < s->m->n_classes)
      atomic_fetch_add_explicit(&s->by_class[best], 1, memory_order_relaxed);
  }
}

/* A growing text buffer for /metrics and /health. */
typedef struct Text {
  char *p;
  size_t len, cap;
} Text;

static void tprintf(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(Text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->p && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    t->cap = (t->cap ? t->cap : 1024) * 2 + (size_t)n;
    t->p = rt_xrealloc(t->p, t->cap);
  }
}

/* s as a Prometheus label value: backslash, quote and newline escaped. */
static void tlabel(Text *t, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"') tprintf(t, "\\%c", *s);
    else if (*s == '\n') tprintf(t, "\\n");
    else tprintf(t, "%c", *s);
  }
}

/* s as a JSON string; a byte that is not well-formed UTF-8 (a header
 * quoted back) as U+FFFD, so the body is always valid JSON. */
static void tjson(Text *t, const char *s) {
  tprintf(t, "\"");
  while (*s) {
    unsigned char ch = (unsigned char)*s;
    int n = ch >= 0x80 ? rt_utf8_len((const unsigned char *)s) : 1;
    if (n > 1) tprintf(t, "%.*s", n, s);
    else if (ch == '"' || ch == '\\') tprintf(t, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f) tprintf(t, "\\u%04x", ch);
    else if (ch >= 0x80) tprintf(t, "\\ufffd");
    else tprintf(t, "%c", ch);
    s += n ? n : 1;
  }
  tprintf(t, "\"");
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

static void metrics_text(Server *s, Text *t) {
  tprintf(t, "# HELP mlxc_http_requests_total HTTP requests answered, by status code.\n"
             "# TYPE mlxc_http_requests_total counter\n");
  for (int i = 0; i < N_CODES; i++)
    tprintf(t, "mlxc_http_requests_total{code=\"%d\"} %llu\n", codes[i], LOAD(s->by_code[i]));
  tprintf(t, "mlxc_http_requests_total{code=\"other\"} %llu\n", LOAD(s->by_code[N_CODES]));
  tprintf(t, "# HELP mlxc_requests_in_flight Requests begun and not yet completed.\n"
             "# TYPE mlxc_requests_in_flight gauge\n"
             "mlxc_requests_in_flight %d\n",
          atomic_load(&s->in_flight));
  tprintf(t, "# HELP mlxc_predict_duration_seconds Time from a /predict request's headers "
             "to its response.\n"
             "# TYPE mlxc_predict_duration_seconds histogram\n");
  unsigned long long cum = 0;
  for (int b = 0; b < N_LAT; b++) {
    cum += LOAD(s->lat[b]);
    tprintf(t, "mlxc_predict_duration_seconds_bucket{le=\"%g\"} %llu\n", lat_le[b], cum);
  }
  cum += LOAD(s->lat[N_LAT]);
  tprintf(t, "mlxc_predict_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
  tprintf(t, "mlxc_predict_duration_seconds_sum %.9f\n", LOAD(s->lat_ns) * 1e-9);
  tprintf(t, "mlxc_predict_duration_seconds_count %llu\n", cum);
  if (s->m->desc.task == RT_TASK_REGRESSION) {
    tprintf(t, "# HELP mlxc_prediction_value Values predicted, one per row.\n"
               "# TYPE mlxc_prediction_value histogram\n");
    cum = 0;
    for (int b = 0; b < N_VAL; b++) {
      cum += LOAD(s->val[b]);
      tprintf(t, "mlxc_prediction_value_bucket{le=\"%g\"} %llu\n", val_le[b], cum);
    }
    cum += LOAD(s->val[N_VAL]);
    tprintf(t, "mlxc_prediction_value_bucket{le=\"+Inf\"} %llu\n", cum);
    tprintf(t, "mlxc_prediction_value_sum %.9g\n", atomic_load(&s->val_sum));
    tprintf(t, "mlxc_prediction_value_count %llu\n", cum);
  } else {
    tprintf(t, "# HELP mlxc_predictions_total Rows predicted, by predicted class.\n"
               "# TYPE mlxc_predictions_total counter\n");
    for (int c = 0; c < s->m->n_classes; c++) {
      tprintf(t, "mlxc_predictions_total{class=\"");
      tlabel(t, s->m->class_names[c]);
      tprintf(t, "\"} %llu\n", LOAD(s->by_class[c]));
    }
  }
  if (s->hooks && s->hooks->metrics) {
    char *x = s->hooks->metrics(s->hooks->ctx);
    if (x) tprintf(t, "%s", x);
    free(x);
  }
}

static void health_text(Server *s, Text *t) {
  const RtModel *m = s->m;
  tprintf(t, "{\"status\":\"%s\",\"model\":", atomic_load(&s->draining) ? "draining" : "ok");
  tjson(t, m->desc.name ? m->desc.name : "");
  tprintf(t, ",\"spec_hash\":");
  tjson(t, m->spec_hash);
  tprintf(t, ",\"task\":\"%s\"", rt_task_name(m->desc.task));
  if (m->desc.task != RT_TASK_REGRESSION) {
    tprintf(t, ",\"classes\":[");
    for (int c = 0; c < m->n_classes; c++) {
      if (c) tprintf(t, ",");
      tjson(t, m->class_names[c]);
    }
    tprintf(t, "]");
  }
  tprintf(t, ",\"requests\":%llu}\n", (unsigned long long)atomic_load(&s->next_id));
}

/* ---- requests --------------------------------------------------------------------- */

/* The client's X-Request-Id when it is 1..64 bytes of [A-Za-z0-9._:-]. */
static bool id_ok(const char *id) {
  size_t n = 0;
  for (; id[n]; n++) {
    char ch = id[n];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '.' || ch == '_' || ch == ':' || ch == '-'))
      return false;
  }
  return n >= 1 && n <= 64;
}

static enum MHD_Result reply(Server *s, struct MHD_Connection *conn, Req *q, int status,
                             const char *type, const char *body, size_t len) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  if (q) MHD_add_response_header(resp, "X-Request-Id", q->id);
  if (status == 405)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, q && q->post ? "POST" : "GET");
  if (atomic_load(&s->draining)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  count_status(s, status);
  return ret;
}

/* An error reply {"request_id", "error"} outside the decoder. */
static enum MHD_Result reply_error(Server *s, struct MHD_Connection *conn, Req *q, int status,
                                   const char *msg) {
  Text t = {0};
  tprintf(&t, "{\"request_id\":");
  tjson(&t, q->id);
  tprintf(&t, ",\"error\":");
  tjson(&t, msg);
  tprintf(&t, "}");
  enum MHD_Result ret = reply(s, conn, q, status, "application/json", t.p, t.len);
  free(t.p);
  return ret;
}

static void free_work(void *w) { rt_serve_work_free(w); }

/* MHD calls this for the headers, then each piece of the body, then once
 * more with none left: the reply goes out on that last call, even when the
 * headers decided it (a reply queued before the request is read closes
 * the connection, which keep-alive clients pay for). */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls) {
  (void)version;
  Server *s = cls;
  Req *q = *con_cls;
  bool predict = !strcmp(url, "/predict");
  /* a path of the release server's (POST /feedback, /release/...) */
  bool other = !predict && s->hooks && s->hooks->owns && s->hooks->owns(s->hooks->ctx, url);
  bool post = predict || other;
  if (!q) {   /* the headers */
    q = *con_cls = rt_xmalloc(sizeof *q);
    q->t0 = now_s();
    atomic_fetch_add(&s->in_flight, 1);
    uint_fast64_t n = atomic_fetch_add(&s->next_id, 1) + 1;
    const char *cid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (cid && id_ok(cid)) snprintf(q->id, sizeof q->id, "%s", cid);
    else snprintf(q->id, sizeof q->id, "%s-%08llx", s->id_prefix, (unsigned long long)n);
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!post && strcmp(url, "/health") && strcmp(url, "/metrics")) {
      q->status = 404;
      snprintf(q->msg, sizeof q->msg, "no such endpoint (%s)",
               s->hooks && s->hooks->endpoints ? s->hooks->endpoints
                                               : "POST /predict, GET /health, GET /metrics");
    } else if (post ? strcmp(method, "POST") : !get) {
      q->status = 405;
      q->post = post;
      snprintf(q->msg, sizeof q->msg, "method %.20s not allowed on %s (use %s)", method, url,
               post ? "POST" : "GET");
    } else if (post && type && strncasecmp(type, "application/json", 16)) {
      q->status = 415;
      snprintf(q->msg, sizeof q->msg, "content type '%.60s' is not JSON (send Content-Type: "
               "application/json)", type);
    }
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->max_body) q->too_big = true;
    return MHD_YES;
  }
  if (*upload_size) {   /* a piece of the body: kept only for a /predict that may run */
    if (!q->too_big && q->len + *upload_size > s->max_body) q->too_big = true;
    if (!q->too_big && !q->status && post) {
      if (q->len + *upload_size > q->cap) {
        q->cap = q->cap ? q->cap : 1024;
        while (q->cap < q->len + *upload_size) q->cap *= 2;
        q->body = rt_xrealloc(q->body, q->cap);
      }
      memcpy(q->body + q->len, upload, *upload_size);
      q->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (q->status) return reply_error(s, conn, q, q->status, q->msg);
  if (other && !q->too_big) {
    char *out = NULL;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    int st = s->hooks->route(s->hooks->ctx, url, auth, q->body ? q->body : "", q->len, q->id,
                             &out);
    enum MHD_Result ret = reply(s, conn, q, st, "application/json", out ? out : "{}",
                                out ? strlen(out) : 2);
    free(out);
    return ret;
  }
  if (!predict && !other) {
    Text t = {0};
    if (!strcmp(url, "/health")) health_text(s, &t);
    else metrics_text(s, &t);
    enum MHD_Result ret = reply(s, conn, q, 200,
                                url[1] == 'h' ? "application/json"
                                              : "text/plain; version=0.0.4; charset=utf-8",
                                t.p, t.len);
    free(t.p);
    return ret;
  }
  if (q->too_big) {
    char msg[120];
    snprintf(msg, sizeof msg, "request body over the limit of %zu bytes", s->max_body);
    return reply_error(s, conn, q, 413, msg);
  }
  RtServeReply r;
  if (s->hooks) {
    s->hooks->predict(s->hooks->ctx, q->body ? q->body : "", q->len, q->id, q->t0, &r);
  } else {
    RtServeWork *w = pthread_getspecific(s->work_key);
    if (!w) {
      w = rt_serve_work_new(s->sm);
      pthread_setspecific(s->work_key, w);
    }
    rt_serve_predict(s->sm, w, q->body ? q->body : "", q->len, q->id, &r);
  }
  if (r.status == 200) count_preds(s, &r);
  enum MHD_Result ret = reply(s, conn, q, r.status, "application/json", r.body, r.len);
  count_latency(s, now_s() - q->t0);
  return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)conn, (void)toe;
  Server *s = cls;
  Req *q = *con_cls;
  if (!q) return;
  free(q->body);
  free(q);
  *con_cls = NULL;
  atomic_fetch_sub(&s->in_flight, 1);
}

/* ---- the server ------------------------------------------------------------------- */

/* A listening socket on bind:port; -1 after printing why. *port gets the
 * port bound (port 0: the kernel's choice). */
static int listen_on(const char *addr, int *port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", *port);
  int e = getaddrinfo(addr, ps, &hints, &ai);
  if (e) {
    fprintf(stderr, "mlxc: error: cannot listen on %s:%d: %s\n", addr, *port, gai_strerror(e));
    return -1;
  }
  int fd = -1, err = 0;
  for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 1024)) {
      err = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(ai);
  if (fd < 0) {
    fprintf(stderr, "mlxc: error: cannot listen on %s:%d: %s\n", addr, *port, strerror(err));
    return -1;
  }
  struct sockaddr_storage sa;
  socklen_t sl = sizeof sa;
  if (!getsockname(fd, (struct sockaddr *)&sa, &sl))
    *port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                           : ((struct sockaddr_in *)&sa)->sin_port);
  return fd;
}

/* Hands MHD the connections the kernel accepted before MHD stopped
 * accepting, so a client that got through is answered. */
static void take_backlog(struct MHD_Daemon *d, int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK)) return;
  for (;;) {
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    int c = accept(fd, (struct sockaddr *)&sa, &sl);
    if (c < 0) {
      if (errno == EINTR) continue;
      return;
    }
    MHD_add_connection(d, c, (struct sockaddr *)&sa, sl);
  }
}

/* SIGTERM, SIGINT (taken by sigwait) and SIGPIPE blocked in this thread and
 * every thread it starts from now on: rt_serve and the release timer. */
void rt_serve_block_signals(sigset_t *old) {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigs, old);
}

int rt_serve(const RtModel *m, const MlxKernels *k, const RtServeOpts *o) {
  const char *addr = o && o->bind ? o->bind : "127.0.0.1";
  int port = o ? o->port : 8080;
  int threads = o && o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  Server *s = rt_xmalloc(sizeof *s);
  s->m = m;
  s->max_body = o && o->max_body ? o->max_body : DEFAULT_MAX_BODY;
  s->hooks = o ? o->hooks : NULL;
  s->by_class = rt_xmalloc(sizeof(atomic_uint_fast64_t) * (size_t)(m->n_classes + 1));
  snprintf(s->id_prefix, sizeof s->id_prefix, "%08x",
           (unsigned)(rt_fnv1a(&(double){now_s()}, sizeof(double), RT_FNV_INIT) ^ (unsigned)getpid()));
  RtServeModel *sm = rt_serve_model_new(m, k);
  if (!sm) {
    fprintf(stderr, "mlxc: error: internal: the model cannot be served (no predict kernel)\n");
    free(s->by_class);
    free(s);
    return 5;
  }
  s->sm = sm;
  pthread_key_create(&s->work_key, free_work);
  /* the signals are taken by sigwait below; every thread MHD starts
   * inherits the mask, so none of them is interrupted */
  sigset_t old;
  rt_serve_block_signals(&old);
  sigset_t stop;   /* what ends the server */
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  int code = 0;
  struct MHD_Daemon *d = NULL;
  int fd = listen_on(addr, &port);
  if (fd < 0) {
    code = 6;
    goto done;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO;
  if (threads > 1)
    d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                         MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
  else
    d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                         MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "mlxc: error: cannot start the HTTP server on %s:%d\n", addr, port);
    close(fd);
    code = 6;
    goto done;
  }
  if (o && o->port_file) {
    char pb[16];
    int n = snprintf(pb, sizeof pb, "%d\n", port);
    if (rt_write_atomic(o->port_file, pb, (size_t)n)) {
      rt_diag_flush();
      code = 6;
    }
  }
  if (!code) {
    bool v6 = strchr(addr, ':') != NULL;
    printf("serving %s on http://%s%s%s:%d (%d thread%s; POST /predict, GET /health, GET /metrics)\n",
           m->desc.name ? m->desc.name : "model", v6 ? "[" : "", addr, v6 ? "]" : "", port,
           threads, threads == 1 ? "" : "s");
    fflush(stdout);
    int sig = 0;
    while (sigwait(&stop, &sig)) {}
  }
  /* drain: no new connections, then every request begun gets its answer */
  atomic_store(&s->draining, true);
  int lfd = MHD_quiesce_daemon(d);
  if (lfd >= 0) take_backlog(d, lfd);
  double t0 = now_s(), quiet = 0;
  struct timespec tick = {0, 2000000};
  while (now_s() - t0 < DRAIN_LIMIT_S) {
    if (atomic_load(&s->in_flight) > 0) quiet = 0;
    else if ((quiet += 0.002) >= 0.05) break;   /* 50 ms with none: headers in transit are in */
    nanosleep(&tick, NULL);
  }
  int left = atomic_load(&s->in_flight);
  MHD_stop_daemon(d);
  if (lfd >= 0) close(lfd);
  if (left > 0) {
    fprintf(stderr, "mlxc: error: %d requests still in flight after %.0f s; stopped anyway\n",
            left, DRAIN_LIMIT_S);
    code = 5;
  } else if (!code) {
    fprintf(stderr, "mlxc: stopped after %llu requests\n",
            (unsigned long long)atomic_load(&s->next_id));
  }
done:;
  /* a second signal sent while draining must not kill the process now */
  struct timespec zero = {0, 0};
  while (sigtimedwait(&stop, NULL, &zero) > 0) {}
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  void *w = pthread_getspecific(s->work_key);
  if (w) rt_serve_work_free(w);
  pthread_key_delete(s->work_key);
  rt_serve_model_free(sm);
  free(s->by_class);
  free(s);
  return code;
}
