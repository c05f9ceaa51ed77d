/* rt_train.c — the training loop: weight initialisation, seeded per-epoch
 * shuffles, batches gathered into buffers allocated once, the compiled step
 * kernel per batch, validation through the predict kernel after each epoch,
 * progress on stdout, and the final metrics on every split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Glorot uniform (limit sqrt(6 / (in + out))) keeps sigmoid/tanh/linear
 * layers' variance steady both ways; He uniform (sqrt(6 / in)) makes up for
 * relu zeroing half its inputs. Weights are drawn in storage order, biases
 * are 0, so a seed fixes every initial parameter. */
static void init_params(const RtModelDesc *m, const int64_t *w_off, const int64_t *b_off,
                        float *params, int64_t n_params, uint64_t seed) {
  RtRand r;
  rt_rand_seed(&r, seed);
  memset(params, 0, sizeof(float) * (size_t)n_params);
  int in = m->n_in;
  for (int l = 0; l < m->n_layers; l++) {
    int out = m->layers[l].units;
    double lim = m->layers[l].act == RT_ACT_RELU ? sqrt(6.0 / (in > 0 ? in : 1))
                                                 : sqrt(6.0 / (in + out > 0 ? in + out : 1));
    float *w = params + w_off[l];
    for (int64_t i = 0; i < (int64_t)in * out; i++)
      w[i] = (float)((2 * rt_rand_double(&r) - 1) * lim);
    memset(params + b_off[l], 0, sizeof(float) * (size_t)out);
    in = out;
  }
}

/* rt_metrics with the loss the model trains on: mae-trained regressions
 * report mae as their loss. */
static RtMetrics split_metrics(const RtModelDesc *m, int n_classes, const float *pred,
                               const float *y, int64_t n) {
  RtMetrics v = rt_metrics(m->task, n_classes, pred, y, n);
  if (m->loss == RT_LOSS_MAE) v.loss = v.mae;
  return v;
}

/* The number every progress line ends with: accuracy for classes, mae for
 * values. */
static void val_words(char *buf, size_t cap, RtTask task, const RtMetrics *v) {
  if (v->n == 0)
    snprintf(buf, cap, "  (no val rows)");
  else if (task == RT_TASK_REGRESSION)
    snprintf(buf, cap, "  val loss %.4f  val mae %.4f", v->loss, v->mae);
  else
    snprintf(buf, cap, "  val loss %.4f  val acc %.4f", v->loss, v->accuracy);
}

/* Throughput for people: 950, 12.3k, 4.56M. */
static const char *rate(char *buf, size_t cap, double v) {
  if (v >= 1e6) snprintf(buf, cap, "%.3gM", v / 1e6);
  else if (v >= 1e4) snprintf(buf, cap, "%.3gk", v / 1e3);
  else snprintf(buf, cap, "%.0f", v);
  return buf;
}

/* The live line on a terminal: epoch (1-based), a bar, the batch, loss so
 * far, the last epoch's val metric (val: what the epoch lines show), rows/s,
 * and the time left for every remaining epoch at this rate (an upper bound
 * when early stopping ends the run sooner). */
static void live_line(int e, int epochs, int64_t batch, int64_t batches, int64_t done,
                      int64_t total, double loss, const char *val, double rows_s) {
  char bar[21];
  int fill = total ? (int)(20 * done / total) : 20;
  for (int i = 0; i < 20; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
  bar[20] = 0;
  char rb[32];
  double left = rows_s > 0 ? ((double)(epochs - e) * (double)total + (double)(total - done)) / rows_s
                           : 0;
  int eta = left < 359999 ? (int)(left + 0.5) : 359999;
  printf("\r\033[Kepoch %d/%d [%s] batch %lld/%lld  loss %.4f%s  %s rows/s  ETA %d:%02d:%02d", e,
         epochs, bar, (long long)batch, (long long)batches, loss, val,
         rate(rb, sizeof rb, rows_s), eta / 3600, eta / 60 % 60, eta % 60);
  fflush(stdout);
}

int rt_step_threads(const RtModelDesc *m, int batch, int threads) {
  if (threads <= 1) return 1;
  int64_t w_off[RT_MAX_LAYERS], b_off[RT_MAX_LAYERS];
  int64_t work = rt_param_layout(m, w_off, b_off) * (int64_t)batch;
  return work >= 1000000 ? threads : 1;
}

/* One step split by rows between threads: each part's gradient lands in its
 * own work buffer, then part 0's gets the others added in part order. */
typedef struct StepJob {
  const MlxKernels *k;
  const float *params;
  float **work;          /* one per part */
  const float *x, *y;
  const int64_t *rows;   /* the batch's rows */
  int64_t nb;            /* rows in the batch */
  int parts;
  const MlxHyper *h;
  float *loss;           /* per part */
} StepJob;

static void step_part(void *ctx, int t) {
  StepJob *j = ctx;
  int64_t lo = j->nb * t / j->parts, hi = j->nb * (t + 1) / j->parts;
  MlxHyper h = *j->h;
  /* each part draws its own dropout masks (their row numbers restart at 0) */
  h.seed ^= 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
  j->loss[t] = j->k->grad_rows(j->params, j->work[t], j->x, j->y, j->rows + lo, hi - lo, j->nb, &h);
}

/* early_stop's state: the best value of its metric and epochs since. */
typedef struct EarlyStop {
  double best;   /* NaN until the first epoch with a value */
  int wait;      /* epochs since the last improvement */
} EarlyStop;

/* After each epoch: true when val's metric improved on the best by more
 * than min_delta in its direction (the first value always does); counts the
 * epochs without. A NaN value never improves. */
static bool early_stop_check(const RtTrainCfg *cfg, EarlyStop *es, const RtMetrics *v) {
  double x = rt_metric_get(v, cfg->es_metric);
  bool up = rt_metric_higher(cfg->es_metric);
  bool better = !isnan(x) && (isnan(es->best) || (up ? x > es->best + cfg->es_min_delta
                                                     : x < es->best - cfg->es_min_delta));
  if (better) {
    es->best = x;
    es->wait = 0;
  } else {
    es->wait++;
  }
  return better;
}

int rt_train(const RtTrainCfg *cfg, const RtModelDesc *m, const MlxKernels *k, RtData *d,
             float *params, RtTrainResult *res) {
  memset(res, 0, sizeof *res);
  int64_t w_off[RT_MAX_LAYERS], b_off[RT_MAX_LAYERS];
  if (m->n_layers < 1 || m->n_layers > RT_MAX_LAYERS) {
    rt_diag(RT_ERROR, rt_loc_file(cfg->name), "internal error: model has %d layers",
            m->n_layers);
    return -1;
  }
  int64_t n_params = rt_param_layout(m, w_off, b_off);
  if (n_params != k->n_params || m->n_in != d->n_feats) {
    rt_diag(RT_ERROR, rt_loc_file(cfg->name),
            "internal error: kernels expect %lld parameters and the model has %lld "
            "(inputs %d, features %d)",
            (long long)k->n_params, (long long)n_params, m->n_in, d->n_feats);
    return -1;
  }
  int nf = d->n_feats;
  int n_out = m->layers[m->n_layers - 1].units;
  int64_t B = k->batch > 0 ? k->batch : cfg->batch;
  if (cfg->batch > 0 && cfg->batch < B) B = cfg->batch;
  if (B < 1) B = 1;
  RtSplit *tr = &d->split[0], *va = &d->split[1];
  int64_t most = 1;
  for (int s = 0; s < 3; s++)
    if (d->split[s].n > most) most = d->split[s].n;

  /* every buffer once, up front */
  float *state = calloc((size_t)(k->n_state > 0 ? k->n_state : 1), sizeof(float));
  float *work = calloc((size_t)(k->n_work > 0 ? k->n_work : 1), sizeof(float));
  float *bx = malloc(sizeof(float) * (size_t)(B * nf + 1));
  float *by = malloc(sizeof(float) * (size_t)B);
  float *pred = malloc(sizeof(float) * (size_t)(most * n_out));
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)(tr->n + 1));
  if (!state || !work || !bx || !by || !pred || !idx) {
    fprintf(stderr, "mlxc: error: out of memory\n");
    exit(5);
  }
  init_params(m, w_off, b_off, params, n_params, cfg->seed);
  /* a step split between threads: kernels compiled unfused (cfg->threads) */
  int parts = cfg->threads > 1 && k->grad_rows && k->update && k->grad_off >= 0 ? cfg->threads : 1;
  RtPool *pool = parts > 1 ? rt_pool_new(parts) : NULL;
  if (pool) parts = rt_pool_size(pool);
  float **pwork = rt_xmalloc(sizeof(float *) * (size_t)parts);
  float *ploss = rt_xmalloc(sizeof(float) * (size_t)parts);
  pwork[0] = work;
  for (int t = 1; t < parts; t++)
    pwork[t] = rt_xmalloc(sizeof(float) * (size_t)(k->n_work > 0 ? k->n_work : 1));

  FILE *out = cfg->log ? cfg->log : stdout;   /* a search trial's buffer, or stdout */
  bool tty = !cfg->log && isatty(STDOUT_FILENO);
  char last_val[48] = "";   /* the live line's val metric, from the epoch before */
  MlxHyper h = {.lr = cfg->lr, .momentum = cfg->momentum, .beta1 = cfg->beta1,
                .beta2 = cfg->beta2, .eps = cfg->eps, .weight_decay = cfg->weight_decay,
                .rho = cfg->rho, .l1 = cfg->l1, .l2 = cfg->l2, .clip = cfg->clip_bound,
                .seed = cfg->seed};
  bool cw_err;
  float *class_w = rt_class_weights(cfg, d, &cw_err);
  h.class_w = class_w;
  int64_t t = 0;
  double best = INFINITY;
  RtSched sched;
  rt_sched_init(&sched, cfg, (tr->n + B - 1) / B);
  EarlyStop es = {.best = NAN};
  float *best_params = cfg->es_metric ? malloc(sizeof(float) * (size_t)(n_params + 1)) : NULL;
  if (cfg->es_metric && !best_params) {
    fprintf(stderr, "mlxc: error: out of memory\n");
    exit(5);
  }
  if (cfg->es_metric && va->n == 0)
  {
    rt_diag(RT_WARNING, cfg->es_loc,
            "'early_stop' reads val.%s but the val split is empty; every epoch runs",
            cfg->es_metric);
    rt_diag_flush();
  }
  for (int e = 0; e < cfg->epochs; e++) {
    double t0 = now_s(), last_draw = t0;
    /* each epoch's order depends only on the seed and the epoch number */
    RtRand r;
    rt_rand_seed(&r, cfg->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(e + 1)));
    for (int64_t i = 0; i < tr->n; i++) idx[i] = i;
    rt_rand_shuffle(&r, idx, tr->n);
    double sum = 0;
    for (int64_t at = 0; at < tr->n; at += B) {
      int64_t nb = tr->n - at < B ? tr->n - at : B;
      for (int64_t i = 0; !k->step_rows && !pool && i < nb; i++) {
        memcpy(bx + i * nf, tr->x + idx[at + i] * nf, sizeof(float) * (size_t)nf);
        by[i] = tr->y[idx[at + i]];
      }
      t++;
      double lr = rt_sched_lr(&sched, t - 1);
      h.lr = (float)lr;
      if (at == 0 && e < RT_MAX_EPOCHS) res->epoch_lr[e] = lr;
      h.bc1 = (float)(1 - pow(cfg->beta1, (double)t));
      h.bc2 = (float)(1 - pow(cfg->beta2, (double)t));
      h.step = t - 1;
      if (pool) {
        StepJob job = {k, params, pwork, tr->x, tr->y, idx + at, nb, parts, &h, ploss};
        rt_pool_run(pool, step_part, &job);
        float *g0 = work + k->grad_off;
        for (int t = 1; t < parts; t++) {
          const float *g = pwork[t] + k->grad_off;
          for (int64_t i = 0; i < n_params; i++) g0[i] += g[i];
        }
        k->update(params, state, g0, &h);
        for (int t = 0; t < parts; t++) sum += ploss[t];
      } else if (k->step_rows)   /* reads the shuffled rows in place */
        sum += k->step_rows(params, state, work, tr->x, tr->y, idx + at, nb, &h);
      else
        sum += k->step(params, state, work, bx, by, nb, &h);
      if (tty) {
        double now = now_s();
        if (now - last_draw > 0.1) {
          last_draw = now;
          live_line(e + 1, cfg->epochs, at / B + 1, (tr->n + B - 1) / B, at + nb, tr->n,
                    sum / (double)(at + nb), last_val, (double)(at + nb) / (now - t0));
        }
      }
    }
    double dt = now_s() - t0;
    double train_loss = sum / (double)(tr->n ? tr->n : 1);
    RtMetrics v = rt_metrics(m->task, d->n_classes, NULL, NULL, 0);   /* all NaN */
    if (va->n > 0) {
      k->predict(params, work, va->x, va->n, pred);
      v = split_metrics(m, d->n_classes, pred, va->y, va->n);
    }
    if (e < RT_MAX_EPOCHS) {
      res->epoch_s[e] = dt;
      res->train_loss[e] = train_loss;
      res->val_loss[e] = v.loss;
      res->val[e] = v;
      res->n_epochs = e + 1;
    }
    double score = va->n > 0 ? v.loss : train_loss;
    if (cfg->es_metric) {
      if (va->n > 0 && early_stop_check(cfg, &es, &v)) {
        memcpy(best_params, params, sizeof(float) * (size_t)n_params);
        res->best_epoch = e + 1;
      }
    } else if (va->n == 0) res->best_epoch = e + 1;
    else if (score < best || res->best_epoch == 0) best = score, res->best_epoch = e + 1;
    rt_sched_epoch_end(&sched, &v);
    char vw[96];
    val_words(vw, sizeof vw, m->task, &v);
    if (v.n > 0)
      snprintf(last_val, sizeof last_val, m->task == RT_TASK_REGRESSION ? "  val mae %.4f"
                                                                        : "  val acc %.4f",
               m->task == RT_TASK_REGRESSION ? v.mae : v.accuracy);
    char rb[32];
    if (tty)
      fprintf(out, "\r\033[Kepoch %d/%d  loss %.4f%s  %s rows/s\n", e + 1, cfg->epochs, train_loss,
             vw, rate(rb, sizeof rb, dt > 0 ? (double)tr->n / dt : 0.0));
    else
      fprintf(out, "epoch %d/%d  loss %.4f%s\n", e + 1, cfg->epochs, train_loss, vw);
    fflush(out);
    if (rt_verbose) fprintf(stderr, "mlxc: epoch %-8d %8.1f ms\n", e + 1, dt * 1e3);
    if (cfg->es_metric && va->n > 0 && es.wait >= cfg->es_patience && e + 1 < cfg->epochs) {
      res->stopped_epoch = e + 1;
      fprintf(out, "early stop: val.%s has not improved for %d epoch%s; keeping epoch %d\n",
             cfg->es_metric, es.wait, es.wait == 1 ? "" : "s", res->best_epoch);
      fflush(stdout);
      break;
    }
  }
  /* early_stop keeps the best epoch's weights */
  if (best_params && res->best_epoch > 0)
    memcpy(params, best_params, sizeof(float) * (size_t)n_params);
  free(best_params);
  res->conf_k = m->task == RT_TASK_BINARY ? 2
                : m->task == RT_TASK_MULTICLASS && d->n_classes <= RT_MAX_CONF ? d->n_classes
                                                                                : 0;
  for (int s = 0; s < 3; s++) {
    RtSplit *sp = &d->split[s];
    if (sp->n > 0) k->predict(params, work, sp->x, sp->n, pred);
    res->split[s] = split_metrics(m, d->n_classes, pred, sp->y, sp->n);
    if (res->conf_k > 0) rt_confusion(m->task, res->conf_k, pred, sp->y, sp->n, res->confusion[s]);
  }
  rt_pool_free(pool);
  for (int t = 1; t < parts; t++) free(pwork[t]);
  free(pwork);
  free(ploss);
  free(state);
  free(work);
  free(class_w);
  free(bx);
  free(by);
  free(pred);
  free(idx);
  return 0;
}
