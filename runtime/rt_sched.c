/* rt_sched.c — the learning rate of each step, from a train's `schedule`.
 * The training loop asks for step t's lr and passes it to the step kernel in
 * MlxHyper.lr, so a schedule never recompiles anything. The formulas are
 * PyTorch's closed forms, over steps (t counts from 0 over the whole run;
 * E steps make an epoch, T = epochs * E in all):
 *
 *   warmup W steps      t < W: lr = base * (t + 1) / W (linear from 0, first
 *                       step base / W); the schedule below then starts at
 *                       s = t - W over S = max(T - W, 1) steps
 *   constant            base
 *   step(every, gamma)  base * gamma^floor(s / every)              (StepLR)
 *   exponential(gamma)  base * gamma^floor(s / E), once an epoch   (ExponentialLR)
 *   linear(end)         base + (end - base) * s / S                (LinearLR)
 *   cosine(end)         end + (base - end) * (1 + cos(pi s / S)) / 2
 *                                                           (CosineAnnealingLR)
 *   reduce_on_plateau(metric, factor, patience)   base * factor^r, r the
 *                       reductions so far: after each epoch the val metric
 *                       is better when it beats the best by more than 1e-4 of
 *                       it (threshold_mode 'rel'); after more than `patience`
 *                       epochs without, lr *= factor and the count restarts
 *                       (ReduceLROnPlateau with cooldown 0, min_lr 0, eps 1e-8)
 */
#include <math.h>

#include "rt.h"

#define PLATEAU_THRESHOLD 1e-4
#define PLATEAU_EPS 1e-8
#define PI 3.14159265358979323846

void rt_sched_init(RtSched *s, const RtTrainCfg *cfg, int64_t steps_per_epoch) {
  *s = (RtSched){.cfg = cfg, .spe = steps_per_epoch > 0 ? steps_per_epoch : 1,
                 .scale = 1, .best = NAN};
  s->total = (int64_t)cfg->epochs * s->spe;
  s->warm = (int64_t)(cfg->warmup_steps ? cfg->warmup : cfg->warmup * (double)s->spe);
  s->every = (int64_t)(cfg->sched_every_steps ? cfg->sched_every
                                              : cfg->sched_every * (double)s->spe);
  if (s->every < 1) s->every = 1;
}

double rt_sched_lr(const RtSched *s, int64_t t) {
  const RtTrainCfg *c = s->cfg;
  double base = c->lr * s->scale;
  if (t < s->warm) return base * (double)(t + 1) / (double)s->warm;
  double at = (double)(t - s->warm);
  double span = s->total - s->warm > 1 ? (double)(s->total - s->warm) : 1;
  switch (c->sched) {
  case RT_SCHED_STEP: return base * pow(c->sched_gamma, floor(at / (double)s->every));
  case RT_SCHED_EXPONENTIAL: return base * pow(c->sched_gamma, floor(at / (double)s->spe));
  case RT_SCHED_LINEAR: return base + (c->sched_end - base) * at / span;
  case RT_SCHED_COSINE:
    return c->sched_end + (base - c->sched_end) * (1 + cos(PI * at / span)) / 2;
  default: return base;
  }
}

void rt_sched_epoch_end(RtSched *s, const RtMetrics *val) {
  const RtTrainCfg *c = s->cfg;
  if (c->sched != RT_SCHED_PLATEAU || !val || val->n == 0) return;
  double v = rt_metric_get(val, c->plateau_metric ? c->plateau_metric : "loss");
  bool higher = rt_metric_higher(c->plateau_metric ? c->plateau_metric : "loss");
  bool better = isnan(s->best) ? !isnan(v)
                : higher ? v > s->best * (1 + PLATEAU_THRESHOLD)
                         : v < s->best * (1 - PLATEAU_THRESHOLD);
  if (better) {
    s->best = v;
    s->bad = 0;
  } else if (++s->bad > c->plateau_patience) {
    double old = c->lr * s->scale;
    if (old - old * c->plateau_factor > PLATEAU_EPS) s->scale *= c->plateau_factor;
    s->bad = 0;
  }
}
