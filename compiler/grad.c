/* grad.c — reverse-mode differentiation over the plan. Walks the forward and
 * loss ops backwards and appends, for each, the ops that carry the gradient of
 * the mean loss from its output to each input that needs one; then appends one
 * optimizer update per parameter. Runs between plan_build and fuse_build. */
#include <string.h>

#include "mlxc.h"

/* A fresh gradient tensor shaped like t, named d<t>. Gradients of parameters
 * live at the parameter's offset in the grad buffer (used by the gradient
 * entry; the step entry fuses them away); the others are per-row scratch. */
static int grad_tensor(Arena *a, Plan *p, int t) {
  char nm[64];
  snprintf(nm, sizeof nm, "d%s", p->t[t].name);
  Tensor src = p->t[t];
  bool param = src.buf == BUF_PARAM;
  int g = plan_tensor(a, p, nm, src.rows, src.cols, src.per_row, param ? BUF_GRAD : BUF_WORK,
                      param ? src.off : 0);
  if (param) p->t[g].param = t;
  return g;
}

/* Records g as the gradient of t. A tensor read by two ops would need the two
 * contributions summed; dense models never do that, so it is refused rather
 * than silently half-done. */
static bool grad_set(Plan *p, int t, int g) {
  if (p->t[t].grad >= 0) {
    rt_diag(RT_ERROR, rt_loc_file(p->model->name ? p->model->name : "model"),
            "internal: tensor '%s' is read twice; gradient accumulation is not supported",
            p->t[t].name);
    return false;
  }
  p->t[t].grad = g;
  return true;
}

/* The vector-Jacobian rule of each forward op. dout is the gradient of the
 * op's output; rules emit nothing for inputs that need no gradient (x, y). */
static bool grad_op(Arena *a, Plan *p, int i) {
  PlanOp o = p->ops[i];   /* copy: plan_op may move the op array */
  int dout = o.out >= 0 ? p->t[o.out].grad : -1;
  switch (o.kind) {
  case OP_PLAN_LOSS: {
    /* The seed: d(mean loss)/d input, 1/n folded into the loss gradient. */
    int x = o.in[0];
    if (!p->t[x].needs_grad) return true;
    int g = grad_tensor(a, p, x);
    plan_op(a, p, OP_PLAN_LOSS_GRAD, PH_BWD, o.sub, g, 2, o.in);
    return grad_set(p, x, g);
  }
  case OP_PLAN_ACT: {
    int x = o.in[0];
    if (dout < 0 || !p->t[x].needs_grad) return true;
    int g = grad_tensor(a, p, x);
    plan_op(a, p, OP_PLAN_ACT_GRAD, PH_BWD, o.sub, g, 2, (int[]){dout, o.out});
    return grad_set(p, x, g);
  }
  case OP_PLAN_BIAS_ADD: {
    if (dout < 0) return true;
    int x = o.in[0], b = o.in[1];
    if (p->t[b].needs_grad) {
      int g = grad_tensor(a, p, b);
      plan_op(a, p, OP_PLAN_COLSUM, PH_BWD, 0, g, 1, (int[]){dout});
      if (!grad_set(p, b, g)) return false;
    }
    /* The identity part passes the gradient through unchanged: no op. */
    if (p->t[x].needs_grad && !grad_set(p, x, dout)) return false;
    return true;
  }
  case OP_PLAN_MATMUL: {
    if (dout < 0) return true;
    int x = o.in[0], w = o.in[1];
    if (p->t[x].needs_grad) {
      int g = grad_tensor(a, p, x);
      plan_op(a, p, OP_PLAN_MATMUL_NT, PH_BWD, 0, g, 2, (int[]){dout, w});
      if (!grad_set(p, x, g)) return false;
    }
    if (p->t[w].needs_grad) {
      int g = grad_tensor(a, p, w);
      plan_op(a, p, OP_PLAN_MATMUL_TN, PH_BWD, 0, g, 2, (int[]){x, dout});
      if (!grad_set(p, w, g)) return false;
    }
    return true;
  }
  case OP_PLAN_DROPOUT: {
    /* The same mask (recomputed from the hash) scales the gradient. */
    int x = o.in[0];
    if (dout < 0 || !p->t[x].needs_grad) return true;
    int g = grad_tensor(a, p, x);
    plan_op(a, p, OP_PLAN_DROPOUT_GRAD, PH_BWD, o.sub, g, 1, (int[]){dout});
    return grad_set(p, x, g);
  }
  default:
    rt_diag(RT_ERROR, rt_loc_file(p->model->name ? p->model->name : "model"),
            "internal: no gradient rule for op '%s'", plan_op_name[o.kind]);
    return false;
  }
}

void grad_build(Arena *a, Plan *p) {
  if (!p || p->has_grad) return;
  p->has_grad = true;
  int nfwd = p->nops;
  for (int i = nfwd - 1; i >= 0; i--) {
    if (p->ops[i].phase == PH_OUT) continue;   /* predict only: not in the loss */
    if (!grad_op(a, p, i)) return;
  }
  /* Optimizer state sits beside the parameters: velocity (sgd), sum of
   * squares (adagrad), m then v (adam, adamw), or the square average then the
   * momentum buffer (rmsprop) at the parameter's offset, the second slot
   * shifted by n_params. */
  int nt = p->nt;
  for (int t = 0; t < nt; t++) {
    if (p->t[t].buf != BUF_PARAM || p->t[t].grad < 0) continue;
    Tensor w = p->t[t];
    char nm[64];
    RtOpt opt = p->cfg->opt;
    bool adam = opt == RT_OPT_ADAM || opt == RT_OPT_ADAMW;
    snprintf(nm, sizeof nm, "%s%s", adam ? "m_" : opt == RT_OPT_SGD ? "v_" : "sq_", w.name);
    int s1 = plan_tensor(a, p, nm, w.rows, w.cols, false, BUF_STATE, w.off);
    int s2 = s1;
    if (plan_opt_slots(opt) == 2) {
      snprintf(nm, sizeof nm, "%s%s", adam ? "v_" : "buf_", w.name);
      s2 = plan_tensor(a, p, nm, w.rows, w.cols, false, BUF_STATE, p->n_params + w.off);
    }
    plan_op(a, p, OP_PLAN_UPDATE, PH_UPD, p->cfg->opt, -1, 4,
            (int[]){t, p->t[t].grad, s1, s2});
  }
}
