/* fuse.c — groups plan ops into kernels, the unit llvm_emit turns into one
 * loop nest each: matmul + bias + activation forward; the loss with its
 * gradient; the input gradient with the previous activation's derivative;
 * the weight and bias gradients with the optimizer update. Decides which
 * tensors reach memory (the work layout) and the order kernels run in. */
#include <string.h>

#include "mlxc.h"

static const char *const fuse_kind_name[] = {
#define X(n, s) s,
    FUSE_KINDS(X)
#undef X
};

/* Which entry a kernel list is for: it selects the phases that run. */
typedef enum { MODE_STEP, MODE_PREDICT, MODE_GRAD } FuseMode;

typedef struct Fuser {
  Arena *a;
  Plan *p;
  KernelSet *ks;
  Kernel **all; int nall, capall;   /* every distinct kernel, for sharing */
  int count[K__COUNT];              /* per-kind counter for names */
  bool train;                       /* the list being built applies dropout masks */
} Fuser;

static bool fuse_phase_in(FuseMode m, PlanPhase ph) {
  switch (m) {
  case MODE_STEP: return ph != PH_OUT;
  case MODE_PREDICT: return ph == PH_FWD || ph == PH_OUT;
  case MODE_GRAD: return ph == PH_FWD || ph == PH_LOSS || ph == PH_BWD;
  }
  return false;
}

/* Step and gradient entries run the same forward kernels: a kernel with the
 * same kind, ops and update flag as an earlier one is that one, so it is
 * emitted once. */
static Kernel *fuse_intern(Fuser *f, Kernel *k) {
  for (int i = 0; i < f->nall; i++) {
    Kernel *o = f->all[i];
    if (o->kind == k->kind && o->nops == k->nops && o->update == k->update &&
        o->train == k->train &&
        !memcmp(o->ops, k->ops, sizeof(int) * (size_t)k->nops))
      return o;
  }
  k->name = arena_printf(f->a, "%s_%d", fuse_kind_name[k->kind], f->count[k->kind]++);
  if (f->nall == f->capall) {
    int cap = f->capall ? f->capall * 2 : 16;
    Kernel **n = arena_alloc(f->a, sizeof(Kernel *) * (size_t)cap);
    if (f->nall) memcpy(n, f->all, sizeof(Kernel *) * (size_t)f->nall);
    f->all = n;
    f->capall = cap;
  }
  f->all[f->nall++] = k;
  return k;
}

static Kernel *fuse_new(Fuser *f, KernelKind kind, int nplan) {
  Kernel *k = arena_alloc(f->a, sizeof(Kernel));
  k->kind = kind;
  k->ops = arena_alloc(f->a, sizeof(int) * (size_t)(nplan + 1));
  return k;
}

static void fuse_add(Kernel *k, int op, bool *used) {
  k->ops[k->nops++] = op;
  used[op] = true;
}

/* The first selected, unused op after i of the given kind whose input slot
 * `slot` reads tensor t: the consumer to fuse into the kernel of i. */
static int fuse_find(Fuser *f, FuseMode m, const bool *used, int i, PlanOpKind kind, int slot,
                     int t) {
  for (int j = i + 1; j < f->p->nops; j++) {
    const PlanOp *o = &f->p->ops[j];
    if (!used[j] && fuse_phase_in(m, o->phase) && o->kind == kind && o->in[slot] == t) return j;
  }
  return -1;
}

static bool fuse_kernel_writes_param(const Plan *p, const Kernel *k, int t) {
  if (!k->update) return false;
  for (int i = 0; i < k->nops; i++) {
    const PlanOp *o = &p->ops[k->ops[i]];
    if (o->kind == OP_PLAN_UPDATE && o->in[0] == t) return true;
  }
  return false;
}

static bool fuse_kernel_reads(const Plan *p, const Kernel *k, int t) {
  for (int i = 0; i < k->nops; i++) {
    const PlanOp *o = &p->ops[k->ops[i]];
    for (int j = 0; j < o->nin; j++)
      if (o->in[j] == t && o->kind != OP_PLAN_UPDATE) return true;
  }
  return false;
}

/* An updating kernel must run after every kernel that still reads the old
 * parameters: the input gradient of a layer uses W before W is stepped. */
static void fuse_order(const Plan *p, Kernel **ks, int n) {
  for (int guard = 0; guard < n * n + 1; guard++) {
    bool moved = false;
    for (int i = 0; i < n && !moved; i++) {
      int last = -1;
      for (int j = i + 1; j < n; j++)
        for (int t = 0; t < p->nt; t++)
          if (fuse_kernel_writes_param(p, ks[i], t) && fuse_kernel_reads(p, ks[j], t)) last = j;
      if (last > i) {
        Kernel *k = ks[i];
        memmove(&ks[i], &ks[i + 1], sizeof(Kernel *) * (size_t)(last - i));
        ks[last] = k;
        moved = true;
      }
    }
    if (!moved) return;
  }
}

static void fuse_internal(const Plan *p, const char *what) {
  rt_diag(RT_ERROR, rt_loc_file(p->model->name ? p->model->name : "model"),
          "internal: %s", what);
}

/* Greedy pattern matching over the selected ops, in plan order. Every op must
 * land in some kernel; one that fits no pattern is an internal error. */
static bool fuse_list(Fuser *f, FuseMode m, Kernel ***out, int *nout) {
  Plan *p = f->p;
  bool *used = arena_alloc(f->a, (size_t)p->nops + 1);
  Kernel **ks = arena_alloc(f->a, sizeof(Kernel *) * (size_t)(p->nops + 1));
  int n = 0;
  Kernel **wk = arena_alloc(f->a, sizeof(Kernel *) * (size_t)(p->nops + 1));
  int *wk_dz = arena_alloc(f->a, sizeof(int) * (size_t)(p->nops + 1));
  int nwk = 0;
  for (int i = 0; i < p->nops; i++) {
    const PlanOp *o = &p->ops[i];
    if (used[i] || !fuse_phase_in(m, o->phase)) continue;
    Kernel *k = NULL;
    switch (o->kind) {
    case OP_PLAN_MATMUL: {
      k = fuse_new(f, K_DENSE_FWD, p->nops);
      fuse_add(k, i, used);
      int j = fuse_find(f, m, used, i, OP_PLAN_BIAS_ADD, 0, o->out);
      if (j >= 0) {
        fuse_add(k, j, used);
        int a = fuse_find(f, m, used, j, OP_PLAN_ACT, 0, p->ops[j].out);
        if (a >= 0) fuse_add(k, a, used);
        int last = p->ops[k->ops[k->nops - 1]].out;
        int d = fuse_find(f, m, used, j, OP_PLAN_DROPOUT, 0, last);
        if (d >= 0) {
          fuse_add(k, d, used);
          k->train = f->train;
        }
      }
      break;
    }
    case OP_PLAN_LOSS: {
      k = fuse_new(f, K_LOSS, p->nops);
      fuse_add(k, i, used);
      int j = fuse_find(f, m, used, i, OP_PLAN_LOSS_GRAD, 0, o->in[0]);
      if (j >= 0) {
        fuse_add(k, j, used);
        int a = fuse_find(f, m, used, j, OP_PLAN_ACT_GRAD, 0, p->ops[j].out);
        if (a >= 0) fuse_add(k, a, used);
      }
      break;
    }
    case OP_PLAN_MATMUL_NT: {
      k = fuse_new(f, K_DENSE_BWD_X, p->nops);
      fuse_add(k, i, used);
      int g = o->out;
      int d = fuse_find(f, m, used, i, OP_PLAN_DROPOUT_GRAD, 0, g);
      if (d >= 0) {
        fuse_add(k, d, used);
        k->train = f->train;
        g = p->ops[d].out;
      }
      int a = fuse_find(f, m, used, i, OP_PLAN_ACT_GRAD, 0, g);
      if (a >= 0) fuse_add(k, a, used);
      break;
    }
    case OP_PLAN_COLSUM:
    case OP_PLAN_MATMUL_TN: {
      /* Both read the layer's output gradient dz: one kernel per dz. */
      int dz = o->kind == OP_PLAN_COLSUM ? o->in[0] : o->in[1];
      int w = -1;
      for (int q = 0; q < nwk; q++)
        if (wk_dz[q] == dz) w = q;
      if (w < 0) {
        Kernel *nk = fuse_new(f, K_DENSE_BWD_W, p->nops);
        nk->update = m == MODE_STEP;
        wk[nwk] = nk;
        wk_dz[nwk] = dz;
        w = nwk++;
        ks[n++] = nk;
      }
      fuse_add(wk[w], i, used);
      continue;
    }
    case OP_PLAN_UPDATE: {
      /* The update joins the kernel that computes its gradient. */
      for (int q = 0; q < nwk && !used[i]; q++)
        for (int r = 0; r < wk[q]->nops; r++)
          if (p->ops[wk[q]->ops[r]].out == o->in[1]) {
            fuse_add(wk[q], i, used);
            break;
          }
      if (!used[i]) {
        fuse_internal(p, "an update whose gradient no kernel computes");
        return false;
      }
      continue;
    }
    default:
      fuse_internal(p, arena_printf(f->a, "op '%s' fits no kernel", plan_op_name[o->kind]));
      return false;
    }
    ks[n++] = k;
  }
  /* A weight kernel needs its matmul_tn; sort its ops so the emitter finds
   * colsum, matmul_tn, then the updates in one order. */
  for (int i = 0; i < n; i++) {
    Kernel *k = ks[i];
    if (k->kind != K_DENSE_BWD_W) continue;
    int tn = -1, cs = -1;
    for (int r = 0; r < k->nops; r++) {
      if (p->ops[k->ops[r]].kind == OP_PLAN_MATMUL_TN) tn = k->ops[r];
      if (p->ops[k->ops[r]].kind == OP_PLAN_COLSUM) cs = k->ops[r];
    }
    if (tn < 0 || cs < 0) {
      fuse_internal(p, "a weight gradient kernel without its matmul_tn and colsum");
      return false;
    }
    int nops = 0, *ops = arena_alloc(f->a, sizeof(int) * (size_t)(k->nops + 1));
    ops[nops++] = cs;
    ops[nops++] = tn;
    for (int r = 0; r < k->nops; r++)
      if (p->ops[k->ops[r]].kind == OP_PLAN_UPDATE) ops[nops++] = k->ops[r];
    k->ops = ops;
    k->nops = nops;
  }
  for (int i = 0; i < n; i++) ks[i] = fuse_intern(f, ks[i]);
  fuse_order(p, ks, n);
  *out = ks;
  *nout = n;
  return true;
}

/* Tensors a kernel writes for others to read. */
static void fuse_mark_stored(const Plan *p, const Kernel *k, bool *stored) {
  const PlanOp *last = &p->ops[k->ops[k->nops - 1]];
  switch (k->kind) {
  case K_DENSE_FWD:
  case K_LOSS:
  case K_DENSE_BWD_X:
    if (last->out >= 0) stored[last->out] = true;
    /* dropout keeps the activation too: act_grad reads it */
    if (k->kind == K_DENSE_FWD && last->kind == OP_PLAN_DROPOUT) stored[last->in[0]] = true;
    break;
  case K_DENSE_BWD_W:
    break;
  default:
    break;
  }
}

/* Work layout: each per-row tensor some kernel stores gets batch x cols
 * elements; then the scratch row the updating weight kernel accumulates into
 * (a one-unit layer's: its whole weight column), which is also where the
 * input-gradient kernel transposes a layer's weights.
 * Everything else stays in registers inside its kernel. */
static void fuse_layout(Fuser *f) {
  Plan *p = f->p;
  KernelSet *ks = f->ks;
  bool *stored = arena_alloc(f->a, (size_t)p->nt + 1);
  for (int i = 0; i < f->nall; i++) fuse_mark_stored(p, f->all[i], stored);
  int64_t off = 0;
  int maxu = 1;
  for (int t = 0; t < p->nt; t++) {
    Tensor *T = &p->t[t];
    if (T->buf != BUF_WORK) continue;
    if (!stored[t]) {
      T->buf = BUF_NONE;
      continue;
    }
    T->off = off;
    off += (int64_t)T->rows * T->cols;
  }
  /* a one-unit layer accumulates its whole weight column (its inputs) */
  int in = p->model->n_in;
  for (int l = 0; l < p->model->n_layers; l++) {
    int u = p->model->layers[l].units;
    if (u > maxu) maxu = u;
    if (u == 1 && in > maxu) maxu = in;
    /* dense_bwd_x's transposed W; the updating dense_bwd_w's whole gradient */
    if ((int64_t)in * u > maxu) maxu = in * u;
    in = u;
  }
  ks->scratch = off;
  off += maxu;
  ks->grad_off = -1;
  if (p->cfg && (p->cfg->clip == RT_CLIP_NORM || p->cfg->threads > 1)) {
    ks->grad_off = off;
    off += p->n_params;
  }
  ks->n_work = off;
}

KernelSet *fuse_build(Arena *a, Plan *p, bool with_grad) {
  if (!p) return NULL;
  if (!p->has_grad) grad_build(a, p);
  KernelSet *ks = arena_alloc(a, sizeof(KernelSet));
  ks->plan = p;
  ks->with_grad = with_grad;
  Fuser f = {.a = a, .p = p, .ks = ks};
  if (!fuse_list(&f, MODE_PREDICT, &ks->predict, &ks->npredict)) return NULL;
  f.train = true;
  /* clip norm needs every gradient before any update, and a step split
   * between threads sums their gradients first: the step runs the gradient
   * kernels into work, and llvm_emit adds the norm and the update. */
  bool unfused = p->cfg && (p->cfg->clip == RT_CLIP_NORM || p->cfg->threads > 1);
  if (!fuse_list(&f, unfused ? MODE_GRAD : MODE_STEP, &ks->step, &ks->nstep)) return NULL;
  f.train = p->grad_dropout;
  if (with_grad && !fuse_list(&f, MODE_GRAD, &ks->grad, &ks->ngrad)) return NULL;
  fuse_layout(&f);
  return ks;
}

static void fuse_dump_list(FILE *out, const KernelSet *ks, const char *entry, Kernel **k,
                           int n) {
  const Plan *p = ks->plan;
  fprintf(out, "%s:\n", entry);
  for (int i = 0; i < n; i++) {
    fprintf(out, "  %-14s", k[i]->name);
    for (int j = 0; j < k[i]->nops; j++) {
      const PlanOp *o = &p->ops[k[i]->ops[j]];
      fprintf(out, "%s %s", j ? "," : "", plan_op_name[o->kind]);
      if (o->kind == OP_PLAN_ACT || o->kind == OP_PLAN_ACT_GRAD)
        fprintf(out, ".%s", plan_act_name[o->sub]);
      else if (o->kind == OP_PLAN_LOSS || o->kind == OP_PLAN_LOSS_GRAD)
        fprintf(out, ".%s", plan_loss_name[o->sub]);
      else if (o->kind == OP_PLAN_UPDATE)
        fprintf(out, ".%s", plan_opt_name[o->sub]);
      else if (o->kind == OP_PLAN_DROPOUT || o->kind == OP_PLAN_DROPOUT_GRAD)
        fprintf(out, ".%s", k[i]->train ? "masked" : "off");
      if (o->kind == OP_PLAN_UPDATE)
        fprintf(out, " %%%s", p->t[o->in[0]].name);
      else if (o->out >= 0)
        fprintf(out, " %%%s", p->t[o->out].name);
    }
    fputc('\n', out);
  }
}

/* Kernels per entry with the ops fused in each, then where stored tensors
 * sit in the work buffer (elements, per tile). */
void fuse_dump(FILE *out, const KernelSet *ks) {
  if (!ks) return;
  const Plan *p = ks->plan;
  fprintf(out, "kernels:\n");
  fuse_dump_list(out, ks, "predict", ks->predict, ks->npredict);
  fuse_dump_list(out, ks, "step", ks->step, ks->nstep);
  if (ks->with_grad) fuse_dump_list(out, ks, "grad", ks->grad, ks->ngrad);
  fprintf(out, "work: %lld elements per tile\n", (long long)ks->n_work);
  for (int t = 0; t < p->nt; t++)
    if (p->t[t].buf == BUF_WORK)
      fprintf(out, "  %%%-6s @%lld\n", p->t[t].name, (long long)p->t[t].off);
  fprintf(out, "  scratch @%lld\n", (long long)ks->scratch);
  if (ks->grad_off >= 0)
    fprintf(out, "  gradient @%lld (clip norm: the step updates after the gradient kernels)\n",
            (long long)ks->grad_off);
}
