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
  X(FN)      /* name; params; str: return type; kids[0]: body expression */   \
  X(EXTERN)  /* name; params; str: return type; kids[0]: STR library */       \
  X(PARAM)   /* name; str: type name (NULL if none); kids[0]: default or none */ \
  X(STMT)    /* name: first word; kids: CLAUSE per comma-separated part */    \
  X(CLAUSE)  /* kids: items (atoms, ASSIGN, MOD, PAIR) in order */            \
  X(CHECK)   /* a gate line `path OP expr`; kids[0]: the BINARY */            \
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

/* ---- sema (sema.c) --------------------------------------------------------- */

typedef struct SemaTrain {
  Ast *node;            /* the train block */
  RtDataSpec *data;
  RtModelDesc *model;
  RtTrainCfg *cfg;
} SemaTrain;

typedef struct Program {
  Ast *file;                 /* root file (imports are resolved into decls) */
  SemaTrain *trains; int ntrains;   /* every train block, in order */
  char spec_hash[17];        /* hex FNV-1a 64 of the source bytes */
} Program;

/* How strict sema is: CHECK accepts the whole language; RUN also refuses,
 * "... is not supported yet", what `mlxc run` cannot execute. */
typedef enum { SEMA_CHECK, SEMA_RUN } SemaMode;

/* Checks the whole file (resolving imports through parse_source). Returns NULL
 * when any error was reported. Reads CSV headers to check column names; a bad
 * CSV sets *data_error (exit 4). */
Program *sema_check(Arena *a, Ast *file, SemaMode mode, bool *data_error);

/* ---- back end (plan.c grad.c fuse.c llvm_emit.c jit.c) ---------------------- */

typedef struct Plan Plan;
typedef struct KernelSet KernelSet;
typedef struct Jit Jit;

typedef enum { DT_F32, DT_F64 } DType;

/* Forward ops and the loss of m for tiles of `batch` rows, fixed shapes. */
Plan *plan_build(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, DType dt);
/* Appends the backward ops by reverse-mode differentiation of the loss. */
void grad_build(Arena *a, Plan *p);
void plan_dump(FILE *out, const Plan *p);   /* --dump=plan */
/* Groups ops into kernels: forward layer nests, fused backward, fused update.
 * with_grad also produces a non-updating gradient entry for gradient checks. */
KernelSet *fuse_build(Arena *a, Plan *p, bool with_grad);
void fuse_dump(FILE *out, const KernelSet *k);

/* Emits LLVM IR for the kernel set into a new module owned by the caller (ctx
 * owned by the caller too). cpu: NULL for the host. Optimizes with O3. */
void *llvm_emit(KernelSet *k, void *ctx, const char *cpu);  /* LLVMModuleRef */
void llvm_dump_ir(FILE *out, void *module);
int llvm_dump_asm(FILE *out, void *module);

/* JIT-compiles the module (taking ownership of it and its context) and fills
 * *out with the entry points. Returns NULL after reporting. */
Jit *jit_compile(void *module, void *ctx, const KernelSet *ks, MlxKernels *out);
void jit_free(Jit *j);

#endif
