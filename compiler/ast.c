/* ast.c — the syntax tree the parser (grammar/parser.y) builds and every later
 * stage reads: node construction in the compilation's arena, the kind and
 * operator name tables, and `--dump=ast`, a deterministic indented tree that
 * golden tests compare. */
#include <string.h>

#include "mlxc.h"

const char *const ast_kind_name[] = {
#define X(n) #n,
    AST_KINDS(X)
#undef X
};

const char *const ast_op_spelling[] = {
#define X(n, s) s,
    AST_OPS(X)
#undef X
};

Ast *ast_new(Arena *a, AstKind k, Span s) {
  Ast *n = arena_alloc(a, sizeof *n);
  n->kind = k;
  n->span = s;
  n->name_span = s;
  return n;
}

/* Appends p to the array *v of length *len. Capacity is implied by the length
 * (0, 4, 8, 16 ...), so nodes carry no capacity field and an array can move
 * from one node to another (the parser builds lists in scratch nodes). */
static void ast_push(Arena *a, Ast ***v, int *len, Ast *p) {
  int n = *len;
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
    int cap = n == 0 ? 4 : n * 2;
    Ast **nv = arena_alloc(a, sizeof(Ast *) * (size_t)cap);
    if (n) memcpy(nv, *v, sizeof(Ast *) * (size_t)n);
    *v = nv;
  }
  (*v)[(*len)++] = p;
}

void ast_add(Arena *a, Ast *parent, Ast *kid) {
  if (!parent || !kid) return;
  ast_push(a, &parent->kids, &parent->nkids, kid);
}

void ast_add_param(Arena *a, Ast *parent, Ast *param) {
  if (!parent || !param) return;
  ast_push(a, &parent->params, &parent->nparams, param);
}

/* A string as the dump shows it: double-quoted, escapes for the bytes that
 * would break a golden line. */
static void dump_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c == '\t') fputs("\\t", out);
    else if (c < 0x20 || c == 0x7f) fprintf(out, "\\x%02x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

/* One node a line: `KIND [name] [value] @line:col`, children indented two
 * spaces; a node's parameters come before its children. */
static void dump_node(FILE *out, const Ast *n, int depth) {
  for (int i = 0; i < depth; i++) fputs("  ", out);
  if (!n) {
    fputs("(null)\n", out);
    return;
  }
  fputs(n->kind < AST__COUNT ? ast_kind_name[n->kind] : "?", out);
  if (n->name) fprintf(out, " %s", n->name);
  switch (n->kind) {
  case AST_NUM: fprintf(out, " %g", n->num); break;
  case AST_PCT: fprintf(out, " %g%%", n->num); break;
  case AST_DUR: fprintf(out, " %gs (%s)", n->num, n->str ? n->str : "?"); break;
  case AST_COUNT: fprintf(out, " %g", n->num); break;
  case AST_UNARY:
  case AST_BINARY:
    fprintf(out, " %s", n->op < OP__COUNT ? ast_op_spelling[n->op] : "?");
    break;
  case AST_FN:
  case AST_EXTERN:
    if (n->str) fprintf(out, " -> %s", n->str);
    break;
  case AST_PARAM:
    if (n->str) fprintf(out, " : %s", n->str);
    break;
  default:
    if (n->str) {
      fputc(' ', out);
      dump_str(out, n->str);
    }
  }
  RtLoc l = span_loc(n->span);
  fprintf(out, " @%d:%d\n", l.line, l.col);
  for (int i = 0; i < n->nparams; i++) dump_node(out, n->params[i], depth + 1);
  for (int i = 0; i < n->nkids; i++) dump_node(out, n->kids[i], depth + 1);
}

void ast_dump(FILE *out, const Ast *n) { dump_node(out, n, 0); }
