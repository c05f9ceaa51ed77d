/* mlxc.h — the compiler's one internal header: arena, sources and spans,
 * diagnostics, the AST, and each stage's entry point in pipeline order
 * (parse → sema → plan → grad → fuse → llvm → jit).
 * Ownership: everything a stage returns lives in the compilation's Arena and
 * is never freed piecemeal; LLVM objects are owned as commented at each API. */
#ifndef MLXC_H
#define MLXC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../runtime/rt.h"

/* ---- arena (arena.c) ------------------------------------------------------ */

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head;   /* newest block first */
} Arena;

void *arena_alloc(Arena *a, size_t n);               /* zeroed, 16-aligned */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(Arena *a);                           /* releases everything */

/* A growable array of pointers in an arena. */
typedef struct PtrVec {
  void **items;
  int len, cap;
} PtrVec;
void ptrvec_push(Arena *a, PtrVec *v, void *p);

/* ---- sources and diagnostics (diag.c) -------------------------------------- */

/* A byte range [lo, hi) in a registered source file. */
typedef struct Span {
  uint32_t file;  /* index from src_add */
  uint32_t lo;    /* first byte */
  uint32_t hi;    /* one past the last byte */
} Span;

/* Registers a source; text must stay alive (NUL-terminated, len bytes). */
uint32_t src_add(const char *path, const char *text, size_t len);
const char *src_path(uint32_t file);
const char *src_text(uint32_t file, size_t *len);
Span span_join(Span a, Span b);
RtLoc span_loc(Span s);                    /* line/col, source line text */
char *span_str(Arena *a, Span s);          /* "file:line:col" for notes in data errors */

#define DIAG_MAX_ERRORS 20

/* Errors and warnings at a span; diag_note attaches to the latest one.
 * After DIAG_MAX_ERRORS errors further ones are dropped and diag_full() is true. */
void diag_error(Span s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warning(Span s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(Span s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool diag_full(void);
int diag_error_count(void);
/* Forgets the errors counted so far (the REPL, before each block). */
void diag_reset(void);

/* Closest candidate to word by edit distance (NULL when none is close);
 * for "did you mean '...'" notes. */
const char *diag_suggest(const char *word, const char *const *cands, int n);

/* ---- AST (ast.c; built by grammar/parser.y) -------------------------------- */

/* Operators of expressions: name, spelling. */
#define AST_OPS(X)                                                             \
  X(NONE, "")                                                                  \
  X(OR, "or") X(AND, "and") X(NOT, "not")                                      \
  X(LT, "<") X(LE, "<=") X(GT, ">") X(GE, ">=") X(EQ, "==") X(NE, "!=")        \
  X(ADD, "+") X(SUB, "-") X(MUL, "*") X(DIV, "/") X(NEG, "-")

typedef enum {
#define X(n, s) OP_##n,
  AST_OPS(X)
#undef X
  OP__COUNT
} AstOp;
extern const char *const ast_op_spelling[];

/* Node kinds. Field use per kind is in the comment; unused fields are 0. */
#define AST_KINDS(X)                                                          \
  X(FILE)    /* kids: declarations in order */                                \
  X(IMPORT)  /* str: the path as written */                                   \
  X(CONST)   /* name; kids[0]: value */                                       \
  X(DATASET) /* name; kids: STMT/CHECK nodes */                               \
  X(MODEL)   /* name; params: PARAM; kids: statements */                      \
  X(GATE)    /* name; params: PARAM (may be empty); kids: statements */       \
  X(TRAIN)   /* name; kids: statements */                                     \
  X(SEARCH)  /* name; kids: statements */                                     \
  X(RELEASE) /* name; kids: statements */                                     \
  X(SCHEDULE) /* name; params: PARAM (may be empty); kids: train statements */ \
  X(ROLLOUT) /* name; params: PARAM (may be empty); kids: release statements */ \
  X(FN)      /* name; params; str: return type; kids[0]: body expression */   \
  X(EXTERN)  /* name; params; str: return type; kids[0]: STR library */       \
  X(PARAM)   /* name; str: type name (NULL if none); kids[0]: default or none */ \
  X(STMT)    /* name: first word; kids: CLAUSE per comma-separated part */    \
             /* (a gate macro line `f(args)`: name f, one CLAUSE with the CALL) */ \
  X(CLAUSE)  /* kids: items (atoms, ASSIGN, MOD, PAIR) in order */            \
             /* (also STAR for a bare `*`, UNARY NEG for `-atom`) */           \
  X(CHECK)   /* a gate line `path OP expr`; kids[0]: the BINARY */            \
             /* (left: PATH, or CALL as in `drift(x) < 0.2`; right: + - * / only) */ \
  X(ASSIGN)  /* `target = value`; kids[0]: NAME/PATH/STAR, kids[1]: value */  \
  X(MOD)     /* modifier word (for when by salt seed from patience every as  \
                min in); name: the word; kids[0]: operand (none if nkids 0) */ \
  X(PAIR)    /* `key: value` in a map or `column zip: str`; kids[0], kids[1] */ \
  X(NUM)     /* num: value */                                                 \
  X(STR)     /* str: unescaped bytes */                                       \
  X(DUR)     /* num: seconds; str: unit as written (us ms s m h d) */         \
  X(PCT)     /* num: the percent (70 for 70%) */                              \
  X(COUNT)   /* `1 epoch` inside an expression: num; name: the unit word */   \
  X(NAME)    /* name */                                                       \
  X(PATH)    /* kids: NAME parts (a.b.c) */                                   \
  X(STAR)    /* `*` as a wildcard */                                          \
  X(CALL)    /* name: callee; kids: arguments (expr, ARG, STAR) */            \
  X(ARG)     /* named argument; name; kids[0]: value */                       \
  X(LIST)    /* kids: elements */                                             \
  X(MAP)     /* kids: PAIR */                                                 \
  X(UNARY)   /* op: NOT or NEG; kids[0] */                                    \
  X(BINARY)  /* op; kids[0] op kids[1] */                                     \
  X(ERROR)   /* poison node after a syntax error: no further diagnostics */

typedef enum {
#define X(n) AST_##n,
  AST_KINDS(X)
#undef X
  AST__COUNT
} AstKind;
extern const char *const ast_kind_name[];

typedef struct Ast Ast;
struct Ast {
  AstKind kind;
  Span span;        /* the whole node */
  Span name_span;   /* the declared/used name, when there is one */
  const char *name; /* see the kind table */
  const char *str;  /* see the kind table */
  double num;       /* NUM, DUR (seconds), PCT (percent), COUNT */
  AstOp op;         /* UNARY, BINARY */
  Ast **kids; int nkids;
  Ast **params; int nparams;
};

Ast *ast_new(Arena *a, AstKind k, Span s);
void ast_add(Arena *a, Ast *parent, Ast *kid);
void ast_add_param(Arena *a, Ast *parent, Ast *param);
void ast_dump(FILE *out, const Ast *n);      /* --dump=ast: indented tree with line:col */

/* ---- parse (grammar/lexer.l, grammar/parser.y) ------------------------------ */

/* Parses one registered source. Reports syntax errors through diag_*; returns
 * the FILE node (with ERROR nodes where recovery happened), never NULL. */
Ast *parse_source(Arena *a, uint32_t file);
/* --dump=tokens: one token a line, `line:col KIND 'text'`. */
void lex_dump(FILE *out, uint32_t file);

/* The embedded standard library (generated build/stdlib_embed.c): the text of
 * module "std/NAME", or NULL. */
const char *stdlib_find(const char *name, size_t *len);
/* The i-th module's name ("std/gates"), NULL past the last. */
const char *stdlib_name(int i);

/* ---- sema (sema.c) --------------------------------------------------------- */

typedef struct SemaTrain {
  Ast *node;            /* the train block */
  RtDataSpec *data;
  RtModelDesc *model;
  RtTrainCfg *cfg;
} SemaTrain;

/* A search block as `run` executes it (rt_run_search). */
typedef struct SemaSearch {
  Ast *node;            /* the search block */
  RtSearch *desc;       /* the varied values, strategy and pick */
  SemaTrain *train;     /* the base train (its cfg and data; model without varies) */
  RtDataSpec *data;     /* the search's own copy of the train's dataset */
  RtModelDesc **models; int nmodels;   /* per combination of the model.PARAM varies */
} SemaSearch;

/* A const as checked: its folded value as a spec spells it. */
typedef struct SemaConst {
  const char *name;
  const char *text;          /* 0.5, 1.5s, 5%, 3 epochs, true, "text" */
  const char *type;          /* number, duration, percent, bool, string, count */
  double num;                /* the number (seconds, percent, count, 0/1) */
} SemaConst;

typedef struct Program {
  Ast *file;                 /* root file (imports are resolved into decls) */
  SemaTrain *trains; int ntrains;   /* every train block, in order */
  RtDataSpec **datasets; int ndatasets;   /* every dataset block of the root file */
  char spec_hash[17];        /* hex FNV-1a 64 of the source bytes */
  SemaSearch *searches; int nsearches;   /* every search block of the root file, in order */
  RtRelease **releases; int nreleases;   /* every checked release block of the root file */
  SemaConst *consts; int nconsts;        /* every const that folded, any file */
} Program;

/* How strict sema is: CHECK accepts the whole language; RUN also refuses,
 * "... is not supported yet", what `mlxc run` cannot execute. */
typedef enum { SEMA_CHECK, SEMA_RUN } SemaMode;

/* Checks the whole file (resolving imports through parse_source). Returns NULL
 * when any error was reported. Reads CSV headers to check column names; a bad
 * CSV sets *data_error (exit 4). */
Program *sema_check(Arena *a, Ast *file, SemaMode mode, bool *data_error);
/* ---- release_check.c: what `mlxc check` proves about a release ------------ */

/* live.M (path: as written) read by a release rule: a figure every window
 * has, or a feedback metric of the candidate's task (task -1: unknown, any
 * task's). False after reporting at `at`; *duration for p50 / p99. */
bool release_live_metric(Span at, const char *path, const char *m, int task, bool *duration);
/* drift(col): col must be a column the candidate's model reads (spec: its
 * dataset; NULL: unknown). False after reporting at `at`. */
bool release_drift_column(Span at, const RtDataSpec *spec, const char *col);
/* A release checked without errors (r) and its block: warnings where a
 * request count cannot let a rule decide, and notes with the least time to
 * 100% and the worst-case time to roll back. Only when notes is set (sema's
 * CHECK mode) and release_check_report (set by `mlxc check`, so that
 * `mlxc release` commands print none of them). */
void release_check(const RtRelease *r, Ast *blk, bool notes);
extern bool release_check_report;
/* The least time and candidate requests to 100% and the worst-case time to
 * roll back, as the notes state them: one computation for `mlxc check` and
 * `mlxc release ... simulate` (which compares what it sees with them). */
void release_bounds(const RtRelease *r, RtReleaseBounds *b);

/* When set, every csv(...) source reads this path instead of its own (a
 * standalone binary's `train DATA.csv`, aot_bin.c). */
extern const char *sema_csv_override;
/* When set (the REPL), a path like `NAME.test.auc` in a const's expression
 * asks it first: 1 with *out a number, 2 a duration in seconds (a trained
 * target's metric, NAME.predict.p99), 0 when it is not one, -1 when NAME
 * is a train block not trained yet. */
extern int (*sema_path_value)(const char *const *names, int n, double *out);
/* Set by `mlxc build` (aot.c): a feature calling an `extern fn` is an error
 * at the call, with or without --allow-extern (BIN cannot call it yet). */
extern bool sema_build_externs;
/* --allow-extern is rt_allow_extern, ext_call and rt_extern_resolve are the
 * runtime's (runtime/rt_extern.c, rt.h). */

/* ---- the REPL (repl.c) ------------------------------------------------------ */

/* What the REPL borrows from main.c: the same code paths as `mlxc run`,
 * `mlxc data`, --dump and `mlxc predict`. */
typedef struct ReplHost {
  int (*train)(Arena *a, Program *p, SemaTrain *t);   /* an exit code (3: a gate failed) */
  int (*describe)(Program *p, RtDataSpec *spec);      /* `mlxc data` of one dataset */
  int (*layers)(Program *p, SemaTrain *t);             /* a model's layers and parameters */
  int (*dump)(Arena *a, SemaTrain *t, const char *stage, FILE *out);
  /* a trained model and its predict kernels; NULL after reporting */
  void *(*load)(const char *path, RtModel **m, MlxKernels **k);
  void (*unload)(void *handle);
} ReplHost;
typedef struct ReplOpts {
  const char *file;          /* mlxc repl FILE: loaded first */
  const char *out_dir;       /* where :train writes (--out) */
  const char *version;
} ReplOpts;
/* Runs the REPL on stdin; 0, or 1 when input from a pipe had a failing block. */
int repl_main(const ReplOpts *o, const ReplHost *h);

/* ---- back end (plan.c grad.c fuse.c llvm_emit*.c jit.c) -------------------- */

typedef struct Jit Jit;
typedef struct LlvmUnit LlvmUnit;

typedef enum { DT_F32, DT_F64 } DType;

/* Where a tensor lives. The emitter turns a buffer plus an element offset
 * into a pointer; NONE means the tensor never reaches memory (fused away). */
#define PLAN_BUFS(X)                                                           \
  X(NONE, "-") X(X, "x") X(Y, "y") X(PARAM, "param") X(STATE, "state")         \
  X(WORK, "work") X(GRAD, "grad") X(OUT, "out")
typedef enum {
#define X(n, s) BUF_##n,
  PLAN_BUFS(X)
#undef X
  BUF__COUNT
} PlanBuf;

/* Tensor ops of a plan: name, spelling. in[] as listed; out is one tensor. */
#define PLAN_OPS(X)                                                            \
  X(MATMUL, "matmul")       /* out = in0 @ in1                          */     \
  X(BIAS_ADD, "bias_add")   /* out = in0 + in1 (broadcast over rows)    */     \
  X(ACT, "act")             /* out = f(in0), f = sub (RtAct)            */     \
  X(LOSS, "loss")           /* out = sum over rows of loss(in0, y=in1)  */     \
  X(LOSS_GRAD, "loss_grad") /* out = d(mean loss)/d in0                 */     \
  X(ACT_GRAD, "act_grad")   /* out = in0 (upstream) * f'(in1 = f's output) */  \
  X(MATMUL_NT, "matmul_nt") /* out = in0 @ in1^T (gradient of the input) */    \
  X(MATMUL_TN, "matmul_tn") /* out = in0^T @ in1 (gradient of weights)  */     \
  X(COLSUM, "colsum")       /* out = sum over rows of in0 (bias grad)   */     \
  X(UPDATE, "update")       /* in0 -= step(grad in1; state in2, in3), sub RtOpt */ \
  X(DROPOUT, "dropout")     /* out = in0 * mask / (1-p), sub = layer (step only) */ \
  X(DROPOUT_GRAD, "dropout_grad") /* out = in0 * mask / (1-p), same mask */
typedef enum {
#define X(n, s) OP_PLAN_##n,
  PLAN_OPS(X)
#undef X
  OP_PLAN__COUNT
} PlanOpKind;

/* When an op runs: forward (every entry), the predict-only output, the loss,
 * backward, and the optimizer update (step only). */
typedef enum { PH_FWD, PH_OUT, PH_LOSS, PH_BWD, PH_UPD } PlanPhase;

typedef struct Tensor {
  const char *name;   /* "x", "W0", "z1", "dW0" ... (unique in the plan) */
  int rows, cols;     /* shape; per-row tensors have rows == batch */
  bool per_row;       /* rows are data rows: only the first n are live */
  PlanBuf buf;        /* home; WORK offsets are assigned by fuse_build */
  int64_t off;        /* element offset inside buf */
  bool needs_grad;    /* a parameter, or computed from one */
  int grad;           /* tensor holding d loss / d this, or -1 */
  int param;          /* for a parameter's gradient: that parameter, else -1 */
} Tensor;

typedef struct PlanOp {
  PlanOpKind kind;
  PlanPhase phase;
  int sub;            /* RtAct (act, act_grad), RtLoss (loss*), RtOpt (update) */
  int out;            /* tensor written, or -1 (update writes in0 in place) */
  int in[4], nin;     /* tensors read */
} PlanOp;

typedef struct Plan {
  const RtModelDesc *model;
  const RtTrainCfg *cfg;
  DType dt;           /* element type of every buffer */
  int batch;          /* tile rows, fixed at compile time */
  Tensor *t; int nt, capt;      /* tensors, referenced by index */
  PlanOp *ops; int nops, capops;/* ops in execution order */
  int x, y;           /* input and label tensors */
  int pred;           /* what predict returns (probabilities or values) */
  int loss;           /* the scalar summed loss */
  int64_t n_params;   /* from rt_param_layout */
  int64_t n_state;    /* optimizer state elements */
  bool has_grad;      /* grad_build ran */
  bool grad_dropout;  /* the grad entry applies dropout too, with the train seed and step 0 */
} Plan;

/* Fused kernels: name, spelling. */
#define FUSE_KINDS(X)                                                          \
  X(DENSE_FWD, "dense_fwd")     /* matmul + bias + activation, row by row  */  \
  X(LOSS, "loss")               /* loss and its gradient (+ act derivative) */ \
  X(DENSE_BWD_X, "dense_bwd_x") /* input gradient + previous act derivative */ \
  X(DENSE_BWD_W, "dense_bwd_w") /* weight/bias gradient + optimizer update */
typedef enum {
#define X(n, s) K_##n,
  FUSE_KINDS(X)
#undef X
  K__COUNT
} KernelKind;

typedef struct Kernel {
  KernelKind kind;
  const char *name;   /* IR function name, unique in the set */
  int *ops; int nops; /* plan op indices, in order */
  bool update;        /* DENSE_BWD_W: apply the optimizer (step entry) */
  bool train;         /* dropout masks are live (step entry; grad when grad_dropout) */
} Kernel;

/* The kernels each entry point runs, in order. */
typedef struct KernelSet {
  Plan *plan;
  Kernel **step; int nstep;       /* forward, loss, backward with updates */
  Kernel **predict; int npredict; /* forward to the output */
  Kernel **grad; int ngrad;       /* forward, loss, backward into grad (with_grad) */
  bool with_grad;
  int64_t n_work;     /* scratch elements for one tile */
  int64_t scratch;    /* offset of the one-row scratch used by dense_bwd_w */
  int64_t grad_off;   /* clip norm: offset of the full gradient in work (else -1) */
} KernelSet;

/* Plan construction, shared by plan.c and grad.c: each returns the index of
 * the new tensor or op. */
int plan_tensor(Arena *a, Plan *p, const char *name, int rows, int cols, bool per_row,
                PlanBuf buf, int64_t off);
int plan_op(Arena *a, Plan *p, PlanOpKind kind, PlanPhase ph, int sub, int out,
            int nin, const int *in);
extern const char *const plan_op_name[];
extern const char *const plan_act_name[];   /* by RtAct */
extern const char *const plan_loss_name[];  /* by RtLoss */
extern const char *const plan_opt_name[];   /* by RtOpt */
/* Optimizer state per parameter: 1 (sgd, adagrad) or 2 (adam, adamw, rmsprop). */
int plan_opt_slots(RtOpt opt);

/* Forward ops and the loss of m for tiles of cfg->batch rows, fixed shapes.
 * Returns NULL after reporting a model the back end cannot compile. */
Plan *plan_build(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, DType dt);
/* Appends the backward ops by reverse-mode differentiation of the loss, then
 * the optimizer update of every parameter. NULL is ignored. */
void grad_build(Arena *a, Plan *p);
void plan_dump(FILE *out, const Plan *p);   /* --dump=plan */
/* Groups ops into kernels: forward layer nests, fused backward, fused update.
 * with_grad also produces a non-updating gradient entry for gradient checks. */
KernelSet *fuse_build(Arena *a, Plan *p, bool with_grad);
void fuse_dump(FILE *out, const KernelSet *k);

/* Emits LLVM IR for the kernel set into a new unit (its own thread-safe
 * context and module, owned by the unit). cpu: NULL for the host, else an
 * LLVM CPU name ("generic", "x86-64-v4") used when optimizing and emitting.
 * The IR is target-neutral and unoptimized (so --dump=llvm is stable). */
LlvmUnit *llvm_emit(KernelSet *k, const char *cpu);
/* Sets the target's CPU and features on every function and runs default<O3>.
 * Returns 0, or -1 after reporting. */
int llvm_optimize(LlvmUnit *u);
void llvm_dump_ir(FILE *out, LlvmUnit *u);
int llvm_dump_asm(FILE *out, LlvmUnit *u);    /* 0, or -1 after reporting */
void llvm_unit_free(LlvmUnit *u);
/* The CPU the unit is compiled for: the one named, else the host's portable
 * level ("x86-64-v3", "x86-64-v4"), or NULL for the host's own name. */
const char *llvm_unit_cpu(const LlvmUnit *u);
/* For jit.c: takes the module (LLVMModuleRef) and its thread-safe context
 * (LLVMOrcThreadSafeContextRef) out of the unit and frees the rest. */
void llvm_unit_release(LlvmUnit *u, void **mod, void **tsc);

/* JIT-compiles the unit (taking ownership of it, even on failure) and fills
 * *out with the entry points. Returns NULL after reporting. */
Jit *jit_compile(LlvmUnit *u, const KernelSet *ks, MlxKernels *out);
void jit_free(Jit *j);
/* The REPL's session: one LLJIT for the session. While jit_session_use(s)
 * is in effect, jit_compile links each compilation into a JITDylib of its
 * own in s under a resource tracker of its own, and jit_free of that Jit
 * removes it (the tracker, then whatever else the dylib holds): redefining
 * a train replaces its kernels in the one JIT. jit_session_use(NULL) goes
 * back to an LLJIT per compilation; jit_free(s) ends the session, after
 * every Jit linked into it. */
Jit *jit_session_new(void);
void jit_session_use(Jit *s);
void jit_init(void);   /* LLVM's native target, once per process (thread-safe) */

/* ---- GPU (ptx_emit.c): the predict kernel as PTX, --dump=ptx --------------- */

/* The architecture asked for: $MLXC_PTX_ARCH, else "sm_90"; ptx_arch_ok
 * whether LLVM's NVPTX knows it (sm_50 .. sm_90). */
const char *ptx_arch(void);
bool ptx_arch_ok(const char *arch);
/* Prints the PTX of kernel mlx_predict_gpu(params, work, x, n, out) for
 * train cfg's model m (its n_in set) and arch. Returns the exit code. */
int ptx_dump(FILE *out, Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, const char *arch);
/* For tests/ptx_host.c: the same module built and optimized for the host,
 * mlx_predict_gpu taking the thread and the thread count as two more i64s;
 * inlined as on the GPU, or with each kernel one function as on the CPU;
 * *mod (LLVMModuleRef) and *tsc (LLVMOrcThreadSafeContextRef) become the
 * caller's; *wpt: work elements each thread needs. 0 or an exit code. */
int ptx_host_module(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, bool inlined,
                    void **mod, void **tsc, int64_t *wpt);

/* ---- kernel cache (kcache.c): jit_compile's optimized objects on disk ------ */

typedef struct KcacheKey {
  uint8_t b[32];       /* BLAKE3 of everything that decides the object */
  char hex[33];        /* the file name: the first 16 bytes in hex */
} KcacheKey;

extern bool kcache_disabled;          /* --no-cache */
extern const char *kcache_spec_hash;  /* mixed into every key (main sets it) */

/* The key over the unoptimized IR, the target fields (triple, CPU, features,
 * code generation settings), the LLVM version, MLXC_BUILD_ID and the spec hash. */
void kcache_key(KcacheKey *k, const char *ir, size_t ir_len, const char *const *target,
                int ntarget);
/* The cache directory (malloc'd): $MLXC_CACHE_DIR, $XDG_CACHE_HOME/mlxc or
 * ~/.cache/mlxc; NULL when the cache is off (--no-cache, MLXC_CACHE=off). */
char *kcache_dir(void);
/* The object bytes of DIR/KEY.o (malloc'd, *len), or NULL: a miss when *why
 * is NULL, else why the entry is unusable (it will be overwritten). */
void *kcache_load(const char *dir, const KcacheKey *k, size_t *len, const char **why);
/* Stores the object atomically; 0, or -1 with *why. */
int kcache_store(const char *dir, const KcacheKey *k, const void *obj, size_t len,
                 const char **why);

/* ---- compiled transforms (xform_emit.c) ---------------------------------- */

/* Adds `mlx_xform` (mlxrt.h MlxXformFn) computing inputs in[0..n) from
 * their frozen programs to the module mod (an LLVMModuleRef) of context ctx
 * (its LLVMContextRef). Same double arithmetic, in the same order, as the
 * interpreter in rt_xform.c, so the values are bit-identical. */
void xform_emit(void *ctx, void *mod, const RtFeature *in, int n);
/* An EXTERN op (xform_extern.c): the name its calls are declared by
 * ("mlxext:LIB:SYM", malloc'd); its call on the doubles args[0..nargs) at
 * the builder (an LLVMBuilderRef) as a double value, NaN when an integer
 * argument is NaN or out of range; and, before linking, every such name of
 * in[0..n) defined in JITDylib jd of LLJIT jit at rt_extern_resolve's address (false
 * after reporting, unless quiet). */
char *xform_extern_name(const RtXop *o);
void *xform_emit_extern(void *ctx, void *mod, void *builder, const RtXop *o, void **args);
bool xform_extern_define(void *jit, void *jd, const RtFeature *in, int n, bool quiet);

/* ---- standalone executables (aot.c: mlxc build; aot_bin.c: BIN's main) ---- */

/* What `mlxc build` compiled, as the object's global `mlxb_image` lays it out
 * (aot.c emits it; every field 8 bytes, so LLVM's struct and this one agree).
 * A set is the kernels for one CPU level; per set two MlxKernels-like units:
 * [0] the train block's (step, its predict), [1] predict's as `mlxc predict`
 * compiles them (batch 256), with mlx_xform when a model is embedded. */
#define AOT_IMAGE_VERSION 1
#define AOT_FNS 8    /* per unit: step predict step_rows grad_rows update xform - - */
#define AOT_INTS 8   /* per unit: n_params n_state n_work batch grad_off vbits level - */
typedef struct AotImage {
  int64_t version;            /* AOT_IMAGE_VERSION */
  int64_t nsets;              /* 1 (--cpu native) or 2 (generic: x86-64-v3, x86-64-v4) */
  void *const *fns;           /* nsets x 2 x AOT_FNS entry points (NULL: absent) */
  const int64_t *ints;        /* nsets x 2 x AOT_INTS */
  const char *const *cpus;    /* nsets CPU names the sets were compiled for */
  const char *spec;           /* the spec's source text */
  int64_t spec_len;
  const char *spec_name;      /* its file name as built (diagnostics) */
  const char *train;          /* the train block compiled */
  const unsigned char *model; /* the embedded .mlxm, or NULL */
  int64_t model_len;
  const char *info;           /* build facts as JSON (aot.c) */
  int64_t n_in, n_classes;    /* the data shape the kernels were compiled for */
  int64_t threads;            /* cfg->threads the train kernels were compiled for */
  int64_t desc_hash;          /* aot_desc_hash of the model the kernels compute */
} AotImage;

/* FNV-1a over what shapes the kernels (inputs, layers, loss, task): a model
 * given to BIN predict must match the compiled one. */
int64_t aot_desc_hash(const RtModelDesc *m);

/* `mlxc build FILE TRAIN -o BIN [--model M] [--cpu generic|native]`;
 * returns an exit code after reporting. */
typedef struct AotOpts {
  const char *spec, *train, *out, *model, *cpu;
  bool verbose;
} AotOpts;
int aot_build(const AotOpts *o);
/* The BIN's main (the object's `main` calls it with its image). */
int aot_bin_main(int argc, char **argv, const AotImage *img);

/* ---- keyword tables for editors and tools (keywords.c) ---------------------- */

/* lexer.l's keyword tables by index: set 0 the declaration words, 1 the
 * modifier words; NULL past the end. */
const char *lex_keyword(int set, size_t i);
/* sema.c's word tables: the statement words of each block, layers, losses,
 * optimizers, schedules, metrics, units, ... (sema_words[0..sema_nwords)). */
typedef struct SemaWords {
  const char *name;           /* the table's name in sema.c */
  const char *const *words;
  int n;
} SemaWords;
extern const SemaWords sema_words[];
extern const int sema_nwords;
/* `mlxc --keywords` (a tooling flag; editors/gen.sh reads it): every table, one
 * line `NAME word word ...` each. Returns an exit code. */
int keywords_print(FILE *out);

/* ---- formatter (fmt.c) ------------------------------------------------------ */

/* `mlxc fmt [--check] [--stdout] FILE...` (a single "-": stdin to stdout):
 * each file laid out canonically, rewritten in place, printed, or (check)
 * listed when it would change. Returns the worst exit code. */
int fmt_files(const char *const *paths, int n, bool check, bool to_stdout);
/* One spec's text (name for messages): parsed, formatted and verified (the
 * same tokens, comments and AST); *out malloc'd. 0, 1 (syntax errors,
 * reported) or 5 (the layout would change the meaning: a bug, reported). */
int fmt_buffer(const char *name, const char *buf, size_t len, char **out, size_t *outlen);

#endif
