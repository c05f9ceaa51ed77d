/* plan.c — the back end's first stage: turns a checked model (RtModelDesc)
 * and training settings into a plan, a list of tensor ops with shapes fixed
 * for one tile of `batch` rows. grad.c appends the backward ops, fuse.c groups
 * them into kernels, llvm_emit.c generates code. plan_dump is --dump=plan. */
#include <stdarg.h>
#include <string.h>

#include "mlxc.h"

const char *const plan_op_name[] = {
#define X(n, s) s,
    PLAN_OPS(X)
#undef X
};
static const char *const plan_buf_name[] = {
#define X(n, s) s,
    PLAN_BUFS(X)
#undef X
};
static const char *const plan_phase_name[] = {"fwd", "out", "loss", "bwd", "upd"};
const char *const plan_act_name[] = {"identity", "relu", "sigmoid", "tanh", "softmax"};
const char *const plan_loss_name[] = {"mse", "bce", "cross_entropy", "mae"};
const char *const plan_opt_name[] = {"sgd", "adam", "adamw", "adagrad", "rmsprop"};

int plan_opt_slots(RtOpt opt) {
  return opt == RT_OPT_ADAM || opt == RT_OPT_ADAMW || opt == RT_OPT_RMSPROP ? 2 : 1;
}

int plan_tensor(Arena *a, Plan *p, const char *name, int rows, int cols, bool per_row,
                PlanBuf buf, int64_t off) {
  if (p->nt == p->capt) {
    int cap = p->capt ? p->capt * 2 : 32;
    Tensor *t = arena_alloc(a, sizeof(Tensor) * (size_t)cap);
    if (p->nt) memcpy(t, p->t, sizeof(Tensor) * (size_t)p->nt);
    p->t = t;
    p->capt = cap;
  }
  p->t[p->nt] = (Tensor){.name = arena_strdup(a, name), .rows = rows, .cols = cols,
                         .per_row = per_row, .buf = buf, .off = off, .grad = -1,
                         .param = -1};
  return p->nt++;
}

/* An op's output needs a gradient when any of its inputs does: that is what
 * lets grad.c skip work (no gradient for x, none through the labels). */
int plan_op(Arena *a, Plan *p, PlanOpKind kind, PlanPhase ph, int sub, int out, int nin,
            const int *in) {
  if (p->nops == p->capops) {
    int cap = p->capops ? p->capops * 2 : 32;
    PlanOp *o = arena_alloc(a, sizeof(PlanOp) * (size_t)cap);
    if (p->nops) memcpy(o, p->ops, sizeof(PlanOp) * (size_t)p->nops);
    p->ops = o;
    p->capops = cap;
  }
  PlanOp *o = &p->ops[p->nops];
  *o = (PlanOp){.kind = kind, .phase = ph, .sub = sub, .out = out, .nin = nin};
  bool ng = false;
  for (int i = 0; i < nin && i < 4; i++) {
    o->in[i] = in[i];
    ng |= p->t[in[i]].needs_grad;
  }
  if (out >= 0 && (ph == PH_FWD || ph == PH_OUT || ph == PH_LOSS))
    p->t[out].needs_grad = ng;
  return p->nops++;
}

/* Errors here are about the model as written (sema normally rejects them
 * first), so they point at the `dense` line when sema recorded it. */
static void plan_error(const RtModelDesc *m, int layer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void plan_error(const RtModelDesc *m, int layer, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  RtLoc loc = rt_loc_file(m->name ? m->name : "model");
  if (layer >= 0 && layer < RT_MAX_LAYERS && m->layer_loc[layer].file) loc = m->layer_loc[layer];
  rt_diag(RT_ERROR, loc, "%s", msg);
}

/* The back end compiles what sema accepts: dense layers and one of the legal
 * endings. Checked again here so no description can reach the emitter with a
 * shape it would index out of bounds. */
static bool plan_check(const RtModelDesc *m, const RtTrainCfg *cfg) {
  if (m->n_in < 1 || m->n_in > 1000000) {
    plan_error(m, -1, "model '%s' has %d inputs; expected 1 to 1000000", m->name ? m->name : "?", m->n_in);
    return false;
  }
  if (m->n_layers < 1 || m->n_layers > RT_MAX_LAYERS) {
    plan_error(m, -1, "model '%s' has %d layers; expected 1 to %d", m->name ? m->name : "?",
               m->n_layers, RT_MAX_LAYERS);
    return false;
  }
  int64_t params = m->n_in;
  for (int l = 0; l < m->n_layers; l++) {
    const RtLayer *L = &m->layers[l];
    if (L->units < 1 || L->units > 1000000) {
      plan_error(m, l, "a dense layer needs 1 to 1000000 units, found %d", L->units);
      return false;
    }
    if ((unsigned)L->act > RT_ACT_SOFTMAX) {
      plan_error(m, l, "unknown activation");
      return false;
    }
    float dr = m->dropout[l];
    if (!(dr >= 0 && dr < 1) || (dr > 0 && l == m->n_layers - 1)) {
      plan_error(m, l, "dropout %g: expected 0 <= P < 1 between dense layers", dr);
      return false;
    }
    params = params * L->units;
    if (params > ((int64_t)1 << 31)) {
      plan_error(m, l, "layer too large: more than 2^31 weights");
      return false;
    }
    params = L->units;
  }
  if (!cfg || cfg->batch < 1 || cfg->batch > 1 << 20) {
    plan_error(m, -1, "batch must be 1 to 1048576, found %d", cfg ? cfg->batch : 0);
    return false;
  }
  const RtLayer *last = &m->layers[m->n_layers - 1];
  int ll = m->n_layers - 1;
  switch (m->loss) {
  case RT_LOSS_BCE:
    if (last->act != RT_ACT_SIGMOID || last->units != 1) {
      plan_error(m, ll, "loss 'bce' needs a last layer 'dense 1 sigmoid'");
      return false;
    }
    break;
  case RT_LOSS_CE:
    if (last->act != RT_ACT_SOFTMAX || last->units < 2) {
      plan_error(m, ll, "loss 'cross_entropy' needs a last softmax layer of 2 or more units");
      return false;
    }
    break;
  case RT_LOSS_MSE:
  case RT_LOSS_MAE:
    if (last->units != 1 || last->act == RT_ACT_SOFTMAX) {
      plan_error(m, ll, "loss '%s' needs a last layer 'dense 1'", plan_loss_name[m->loss]);
      return false;
    }
    break;
  default:
    plan_error(m, ll, "unknown loss");
    return false;
  }
  return true;
}

/* Each dense layer is matmul, bias_add and (unless identity) act. With bce
 * and cross_entropy the last activation is fused into the loss, which reads
 * the logits (stable log-sum-exp); the activation then survives only as the
 * predict-only output op. */
Plan *plan_build(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, DType dt) {
  if (!m || !plan_check(m, cfg)) return NULL;
  Plan *p = arena_alloc(a, sizeof(Plan));
  p->model = m;
  p->cfg = cfg;
  p->dt = dt;
  p->batch = cfg->batch;
  int B = cfg->batch;
  int64_t w_off[RT_MAX_LAYERS], b_off[RT_MAX_LAYERS];
  p->n_params = rt_param_layout(m, w_off, b_off);
  /* two state slots: adam/adamw (m, v) and rmsprop (square average, momentum) */
  p->n_state = plan_opt_slots(cfg->opt) * p->n_params;
  p->x = plan_tensor(a, p, "x", B, m->n_in, true, BUF_X, 0);
  p->y = plan_tensor(a, p, "y", B, 1, true, BUF_Y, 0);
  int cur = p->x, in_units = m->n_in;
  bool fused_end = m->loss == RT_LOSS_BCE || m->loss == RT_LOSS_CE;
  for (int l = 0; l < m->n_layers; l++) {
    int u = m->layers[l].units;
    RtAct act = m->layers[l].act;
    char nm[32];
    snprintf(nm, sizeof nm, "W%d", l);
    int W = plan_tensor(a, p, nm, in_units, u, false, BUF_PARAM, w_off[l]);
    snprintf(nm, sizeof nm, "b%d", l);
    int b = plan_tensor(a, p, nm, 1, u, false, BUF_PARAM, b_off[l]);
    p->t[W].needs_grad = p->t[b].needs_grad = true;
    snprintf(nm, sizeof nm, "mm%d", l);
    int mm = plan_tensor(a, p, nm, B, u, true, BUF_WORK, 0);
    plan_op(a, p, OP_PLAN_MATMUL, PH_FWD, 0, mm, 2, (int[]){cur, W});
    snprintf(nm, sizeof nm, "z%d", l);
    int z = plan_tensor(a, p, nm, B, u, true, BUF_WORK, 0);
    plan_op(a, p, OP_PLAN_BIAS_ADD, PH_FWD, 0, z, 2, (int[]){mm, b});
    cur = z;
    bool last = l == m->n_layers - 1;
    if (act != RT_ACT_IDENTITY && !(last && fused_end)) {
      snprintf(nm, sizeof nm, "a%d", l);
      int ao = plan_tensor(a, p, nm, B, u, true, BUF_WORK, 0);
      plan_op(a, p, OP_PLAN_ACT, PH_FWD, act, ao, 1, (int[]){z});
      cur = ao;
    }
    if (m->dropout[l] > 0 && !last) {
      snprintf(nm, sizeof nm, "dr%d", l);
      int dr = plan_tensor(a, p, nm, B, u, true, BUF_WORK, 0);
      plan_op(a, p, OP_PLAN_DROPOUT, PH_FWD, l, dr, 1, (int[]){cur});
      cur = dr;
    }
    in_units = u;
  }
  int out_units = m->layers[m->n_layers - 1].units;
  if (fused_end) {
    p->pred = plan_tensor(a, p, "p", B, out_units, true, BUF_OUT, 0);
    plan_op(a, p, OP_PLAN_ACT, PH_OUT, m->layers[m->n_layers - 1].act, p->pred, 1,
            (int[]){cur});
  } else {
    p->pred = cur;
  }
  p->loss = plan_tensor(a, p, "loss", 1, 1, false, BUF_NONE, 0);
  plan_op(a, p, OP_PLAN_LOSS, PH_LOSS, m->loss, p->loss, 2, (int[]){cur, p->y});
  return p;
}

/* One op a line: `phase  %out = op.sub %in, ...   ; [rows x cols]`, preceded
 * by the tensor table. Only plan facts (no addresses), so it is golden-tested. */
void plan_dump(FILE *out, const Plan *p) {
  if (!p) return;
  const RtModelDesc *m = p->model;
  fprintf(out, "plan %s: %s, batch %d, %lld params, %s, optimizer %s\n",
          m->name ? m->name : "?", p->dt == DT_F32 ? "f32" : "f64", p->batch,
          (long long)p->n_params, plan_loss_name[m->loss], plan_opt_name[p->cfg->opt]);
  const RtTrainCfg *c = p->cfg;
  if (c->nesterov) fprintf(out, "  nesterov\n");
  if (c->l1 != 0 || c->l2 != 0) fprintf(out, "  l1 %g, l2 %g on weights\n", c->l1, c->l2);
  if (c->clip != RT_CLIP_NONE)
    fprintf(out, "  clip %s %g\n", c->clip == RT_CLIP_NORM ? "norm" : "value", c->clip_bound);
  fprintf(out, "tensors:\n");
  for (int i = 0; i < p->nt; i++) {
    const Tensor *t = &p->t[i];
    fprintf(out, "  %%%-6s [%s%d x %d]", t->name, t->per_row ? "B=" : "", t->rows, t->cols);
    if (t->buf != BUF_WORK && t->buf != BUF_NONE)
      fprintf(out, " %s@%lld", plan_buf_name[t->buf], (long long)t->off);
    if (t->param >= 0) fprintf(out, " grad of %%%s", p->t[t->param].name);
    fputc('\n', out);
  }
  fprintf(out, "ops:\n");
  for (int i = 0; i < p->nops; i++) {
    const PlanOp *o = &p->ops[i];
    fprintf(out, "  %-4s ", plan_phase_name[o->phase]);
    if (o->out >= 0) fprintf(out, "%%%s = ", p->t[o->out].name);
    fprintf(out, "%s", plan_op_name[o->kind]);
    if (o->kind == OP_PLAN_ACT || o->kind == OP_PLAN_ACT_GRAD)
      fprintf(out, ".%s", plan_act_name[o->sub]);
    else if (o->kind == OP_PLAN_LOSS || o->kind == OP_PLAN_LOSS_GRAD)
      fprintf(out, ".%s", plan_loss_name[o->sub]);
    else if (o->kind == OP_PLAN_UPDATE)
      fprintf(out, ".%s", plan_opt_name[o->sub]);
    else if (o->kind == OP_PLAN_DROPOUT || o->kind == OP_PLAN_DROPOUT_GRAD)
      fprintf(out, ".%g", m->dropout[o->sub]);
    for (int j = 0; j < o->nin; j++) fprintf(out, "%s %%%s", j ? "," : "", p->t[o->in[j]].name);
    fputc('\n', out);
  }
}
