/* fmt.c — `mlxc fmt [--check] [--stdout] FILE...`: one canonical layout for
 * .mlx specs. Beside the pipeline, not in it: the spec is parsed first (its
 * syntax errors as `check` reports them; the AST tells binary from unary
 * '-'), then its tokens and comments are laid out again, line breaks kept,
 * indentation from bracket depth, and the result must parse to the same AST
 * before anything is written (docs/language.md, "Formatting"). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlxc.h"

enum { FMT_OK = 0, FMT_SPEC = 1, FMT_USAGE = 2, FMT_DATA = 4, FMT_INTERNAL = 5, FMT_ENV = 6 };

/* What the scanner finds: lexer.l's tokens by their spelling, plus the
 * comments and newlines the lexer drops. */
typedef enum { FT_WORD, FT_QNAME, FT_NUM, FT_STR, FT_PUNCT, FT_COMMENT, FT_NEWLINE } FmtKind;

typedef struct FmtTok {
  FmtKind kind;
  uint32_t lo, hi;    /* its bytes in the source */
  bool binary;        /* a '-' the parser made a binary operator (else unary) */
  bool keep_ff;       /* a modifier word last on its line that a form feed, vertical tab
                         or lone CR keeps a keyword there: written with a form feed after */
} FmtTok;

typedef enum { FL_CODE, FL_COMMENT, FL_BLANK } FmtLineKind;

/* An output line before blank lines are decided. */
typedef struct FmtLine {
  FmtLineKind kind;
  int indent;         /* levels of two spaces */
  size_t at, len;     /* its text in Fmt.text */
  bool top;           /* starts at the top level: a declaration or a comment between two */
  int decl;           /* the declaration it belongs to (-1: a comment between two) */
  bool opens;         /* leaves more brackets open than it found */
  bool closes;        /* starts with a closer */
} FmtLine;

typedef struct FmtOpen {
  char kind;          /* '(' '[' 'm' (map brace) or 'b' (block brace), as lexer.l */
  int base;           /* indent of the line it opened on */
} FmtOpen;

#define FMT_MAX_DEPTH 256   /* the lexer refuses more than 64 */

typedef struct Fmt {
  const char *src;    /* the spec's bytes */
  FmtTok *t; int nt, capt;               /* its tokens, comments and newlines */
  char *text; size_t ntext, captext;     /* the lines' text, back to back */
  FmtLine *lines; int nlines, caplines;
  FmtOpen stack[FMT_MAX_DEPTH];
  int depth;          /* brackets open (stack keeps the innermost FMT_MAX_DEPTH) */
  int nonblock;       /* ( [ and map braces open: newlines do not end statements */
  int ntok;           /* tokens since the statement began (lexer.l's ntok) */
  int stmt_indent;    /* the indent of the line the statement began on */
  bool last_ends;     /* a newline after the last token would end the statement */
  int last;           /* the last token that is not a comment or newline, -1 none */
  int ndecl;          /* top-level declarations begun */
  /* the line being built */
  bool open;          /* a line is being built */
  bool has_code;      /* it holds a token (else it is a comment line) */
  bool brk;           /* the next token starts a new line (after a block's brace) */
  int prev;           /* the token before on this line */
  int line_depth;     /* depth when the line began */
  FmtLine cur;        /* its layout so far */
} Fmt;

/* An array p of *cap elements, doubled. */
static void *fmt_grow(void *p, int *cap, size_t elem) {
  *cap = *cap ? *cap * 2 : 64;
  void *np = realloc(p, (size_t)*cap * elem);
  if (!np) {
    fprintf(stderr, "mlxc: error: out of memory\n");
    exit(FMT_INTERNAL);
  }
  return np;
}

/* Appends to the current line's text. */
static void fmt_put(Fmt *f, const char *s, size_t n) {
  if (f->ntext + n + 1 > f->captext) {
    while (f->ntext + n + 1 > f->captext) f->captext = f->captext ? f->captext * 2 : 4096;
    f->text = realloc(f->text, f->captext);
    if (!f->text) {
      fprintf(stderr, "mlxc: error: out of memory\n");
      exit(FMT_INTERNAL);
    }
  }
  if (n) memcpy(f->text + f->ntext, s, n);   /* s may be NULL when n is 0 */
  f->ntext += n;
}

/* ---- scanning ------------------------------------------------------------ */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_wordc(char c) { return is_alpha(c) || is_digit(c); }

/* Length of the number token at s, as flex's longest match finds it:
 * {NUM}, {NUM}"%", {NUM} then a unit or any other word (lexer.l). */
static uint32_t num_len(const char *s, uint32_t n) {
  uint32_t ends[3], ne = 0, i = 0;
  while (i < n && is_digit(s[i])) i++;
  ends[ne++] = i;
  if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
    i++;
    while (i < n && is_digit(s[i])) i++;
    ends[ne++] = i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    uint32_t j = i + 1;
    if (j < n && (s[j] == '+' || s[j] == '-')) j++;
    if (j < n && is_digit(s[j])) {
      while (j < n && is_digit(s[j])) j++;
      ends[ne++] = j;
    }
  }
  uint32_t best = ends[ne - 1];
  for (uint32_t k = 0; k < ne; k++) {
    uint32_t e = ends[k], m = e;
    if (e < n && s[e] == '%') m = e + 1;
    else if (e < n && is_alpha(s[e]))
      for (m = e + 1; m < n && is_wordc(s[m]);) m++;
    if (m > best) best = m;
  }
  return best;
}

static void scan_push(Fmt *f, FmtKind k, uint32_t lo, uint32_t hi) {
  if (f->nt == f->capt) f->t = fmt_grow(f->t, &f->capt, sizeof *f->t);
  f->t[f->nt++] = (FmtTok){k, lo, hi, false, false};
}

/* Whether the word s[lo, hi) is a modifier word that stays a keyword last
 * on its line only where lexer.l's `{WORD}/[ \t]*("#"[^\n]*)?\r?\n` does not
 * match: the blanks before the newline (or comment) hold \f, \v or a CR not
 * directly before the newline. fmt keeps that with a form feed. */
static bool keeps_keyword(const char *s, uint32_t lo, uint32_t hi, uint32_t len) {
  uint32_t j = hi;
  while (j < len && strchr(" \t\r\f\v", s[j]) && s[j]) j++;
  if (j == len || (s[j] != '\n' && s[j] != '#')) return false;   /* not last on its line */
  uint32_t k = hi;
  while (k < len && (s[k] == ' ' || s[k] == '\t')) k++;
  if (k < len && s[k] == '#')
    while (k < len && s[k] != '\n') k++;
  if (k < len && s[k] == '\r') k++;
  if (k < len && s[k] == '\n') return false;   /* the pattern matches: a name there */
  static const char *const stay[] = {"and", "or", "not", "when", "in"};   /* keywords anyway */
  for (size_t i = 0; i < sizeof stay / sizeof *stay; i++)
    if (strlen(stay[i]) == hi - lo && !memcmp(stay[i], s + lo, hi - lo)) return false;
  const char *w;
  for (size_t i = 0; (w = lex_keyword(1, i)); i++)
    if (strlen(w) == hi - lo && !memcmp(w, s + lo, hi - lo)) return true;
  return false;
}

/* Splits s[start, len) into tokens, comments and newlines following
 * lexer.l's rules; blanks ([ \t\r\f\v]) only separate. The spec has parsed
 * without errors, so every byte belongs to one of them; a byte that does not
 * becomes a one-byte token (the AST comparison would catch any harm). */
static void fmt_scan(Fmt *f, const char *s, uint32_t start, uint32_t len) {
  static const char *const two[] = {"->", "<=", ">=", "==", "!="};
  for (uint32_t i = start; i < len;) {
    char c = s[i];
    uint32_t lo = i;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      i++;
      continue;
    }
    if (c == '\n') {
      scan_push(f, FT_NEWLINE, i, i + 1);
      i++;
      continue;
    }
    FmtKind k = FT_PUNCT;
    if (c == '#') {
      while (i < len && s[i] != '\n') i++;
      k = FT_COMMENT;
    } else if (is_digit(c)) {
      i += num_len(s + i, len - i);
      k = FT_NUM;
    } else if (is_alpha(c)) {
      while (i < len && is_wordc(s[i])) i++;
      k = FT_WORD;
    } else if (c == '`') {
      for (i++; i < len && s[i] != '`' && s[i] != '\n';) i++;
      if (i < len && s[i] == '`') i++;
      k = FT_QNAME;
    } else if (c == '"') {
      for (i++; i < len && s[i] != '"' && s[i] != '\n';)
        i += s[i] == '\\' && i + 1 < len && s[i + 1] != '\n' ? 2 : 1;
      if (i < len && s[i] == '"') i++;
      k = FT_STR;
    } else {
      i++;
      for (size_t j = 0; j < sizeof two / sizeof *two; j++)
        if (i < len && c == two[j][0] && s[i] == two[j][1]) {
          i++;
          break;
        }
    }
    scan_push(f, k, lo, i);
    if (k == FT_WORD) f->t[f->nt - 1].keep_ff = keeps_keyword(s, lo, i, len);
  }
}

/* ---- what the parse says ------------------------------------------------- */

static bool tok_is(const Fmt *f, int i, const char *p) {
  if (i < 0) return false;
  const FmtTok *t = &f->t[i];
  size_t n = strlen(p);
  return t->hi - t->lo == n && !memcmp(f->src + t->lo, p, n);
}

/* A token's text; a comment's without its trailing blanks. */
static size_t tok_text(const Fmt *f, int i, const char **s) {
  const FmtTok *t = &f->t[i];
  size_t n = t->hi - t->lo;
  *s = f->src + t->lo;
  if (t->kind == FT_COMMENT)
    while (n > 1 && strchr(" \t\r\f\v", (*s)[n - 1])) n--;
  return n;
}

/* The first token at or after byte off. */
static int tok_at(const Fmt *f, uint32_t off) {
  int lo = 0, hi = f->nt;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (f->t[mid].lo < off) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Marks the '-' of every binary subtraction: the one between its operands'
 * spans (parentheses around an operand are outside its span). */
static void mark_binary(Fmt *f, const Ast *n) {
  if (!n) return;
  if (n->kind == AST_BINARY && n->op == OP_SUB && n->nkids == 2 && n->kids[0] && n->kids[1]) {
    for (int i = tok_at(f, n->kids[0]->span.hi); i < f->nt && f->t[i].lo < n->kids[1]->span.lo; i++)
      if (tok_is(f, i, "-")) {
        f->t[i].binary = true;
        break;
      }
  }
  for (int i = 0; i < n->nparams; i++) mark_binary(f, n->params[i]);
  for (int i = 0; i < n->nkids; i++) mark_binary(f, n->kids[i]);
}

static bool same_str(const char *a, const char *b) {
  return a == b || (a && b && !strcmp(a, b));
}

/* Same tree, locations aside: what the spec means did not change. */
static bool ast_same(const Ast *a, const Ast *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || a->op != b->op || a->nkids != b->nkids || a->nparams != b->nparams ||
      !same_str(a->name, b->name) || !same_str(a->str, b->str))
    return false;
  if (a->num != b->num && !(a->num != a->num && b->num != b->num)) return false;
  for (int i = 0; i < a->nparams; i++)
    if (!ast_same(a->params[i], b->params[i])) return false;
  for (int i = 0; i < a->nkids; i++)
    if (!ast_same(a->kids[i], b->kids[i])) return false;
  return true;
}

/* ---- layout -------------------------------------------------------------- */

static bool is_closer(const Fmt *f, int i) {
  return f->t[i].kind == FT_PUNCT && (tok_is(f, i, ")") || tok_is(f, i, "]") || tok_is(f, i, "}"));
}

/* A word the lexer may take for a keyword (declaration or modifier word). */
static bool keyword_spelled(const Fmt *f, int i) {
  for (int set = 0; set < 2; set++) {
    const char *w;
    for (size_t j = 0; (w = lex_keyword(set, j)); j++)
      if (tok_is(f, i, w)) return true;
  }
  return false;
}

static bool is_decl_word(const Fmt *f, int i) {
  const char *w;
  for (size_t j = 0; (w = lex_keyword(0, j)); j++)
    if (tok_is(f, i, w)) return true;
  return false;
}

/* Whether a '{' opens a map: after = ( [ , or : (lexer.l), else a block. */
static bool opens_map(const Fmt *f, int prev) {
  return tok_is(f, prev, "=") || tok_is(f, prev, "(") || tok_is(f, prev, "[") ||
         tok_is(f, prev, ",") || tok_is(f, prev, ":");
}

/* The innermost open bracket (NULL: none, or deeper than kept). */
static const FmtOpen *innermost(const Fmt *f) {
  return f->depth > 0 && f->depth <= FMT_MAX_DEPTH ? &f->stack[f->depth - 1] : NULL;
}

/* Whether the innermost open bracket is a map's brace. */
static bool top_is_map(const Fmt *f) { return innermost(f) && innermost(f)->kind == 'm'; }

/* One space between tokens p and k of a line, or none. */
static bool need_space(const Fmt *f, int p, int k, bool k_map_open, bool k_map_close,
                       bool p_map_open) {
  const FmtTok *pt = &f->t[p], *kt = &f->t[k];
  bool adjacent = pt->hi == kt->lo;
  if (tok_is(f, k, ",") || tok_is(f, k, ")") || tok_is(f, k, "]") || tok_is(f, k, ":"))
    return false;
  if (tok_is(f, p, "(") || tok_is(f, p, "[")) return false;
  if (k_map_close) return !p_map_open;   /* { k: v } and {} */
  if (p_map_open || k_map_open) return true;
  /* a word directly before '(' is a call, before '.' always a name: keep
   * what decides that */
  if (tok_is(f, k, "(") && pt->kind == FT_WORD) return !adjacent;
  if (tok_is(f, k, "."))
    return !adjacent && !(pt->kind == FT_WORD && !keyword_spelled(f, p));
  if (tok_is(f, p, ".")) return kt->kind == FT_WORD ? false : !adjacent;
  if (tok_is(f, p, "-") && !pt->binary) return f->src[kt->lo] == '>';
  return true;
}

/* Whether a newline after token i (just laid out; ntok tokens came before it
 * in its statement) ends the statement, as lexer.l decides. */
static bool ends_stmt(const Fmt *f, int i, int prev) {
  const FmtTok *t = &f->t[i];
  switch (t->kind) {
  case FT_WORD:
    if (f->ntok == 0 && f->depth == 0 && is_decl_word(f, i)) return false;
    if (t->keep_ff && f->ntok > 0 && !tok_is(f, prev, ".")) return false;
    if (tok_is(f, prev, "extern") && tok_is(f, i, "fn")) return false;
    if (f->ntok > 0 && !tok_is(f, prev, ".") &&
        (tok_is(f, i, "and") || tok_is(f, i, "or") || tok_is(f, i, "not") ||
         tok_is(f, i, "when") || tok_is(f, i, "in")))
      return false;
    return true;
  case FT_QNAME: case FT_NUM: case FT_STR:
    return true;
  default:
    if (tok_is(f, i, ")") || tok_is(f, i, "]") || tok_is(f, i, "}")) return true;
    if (tok_is(f, i, "*")) return f->ntok == 1;
    return false;
  }
}

/* Ends the current line. */
static void end_line(Fmt *f) {
  if (!f->open) return;
  f->cur.len = f->ntext - f->cur.at;
  f->cur.opens = f->depth > f->line_depth;
  if (f->nlines == f->caplines) f->lines = fmt_grow(f->lines, &f->caplines, sizeof *f->lines);
  f->lines[f->nlines++] = f->cur;
  f->open = false;
}

/* A blank line of the source (decided later by fmt_render). */
static void blank_line(Fmt *f) {
  if (f->nlines == f->caplines) f->lines = fmt_grow(f->lines, &f->caplines, sizeof *f->lines);
  f->lines[f->nlines++] = (FmtLine){.kind = FL_BLANK, .decl = -1};
}

/* Begins a line whose first token is k: its indent from the brackets open
 * (a line that starts with a closer sits at its opener's line), one level
 * more when it continues a statement at block level. */
static void start_line(Fmt *f, int k, FmtLineKind kind) {
  bool cont = f->nonblock == 0 && f->ntok > 0;
  memset(&f->cur, 0, sizeof f->cur);
  f->cur.kind = kind;
  f->cur.at = f->ntext;
  const FmtOpen *in = innermost(f);
  if (kind == FL_CODE && is_closer(f, k) && in) {
    f->cur.indent = in->base;
    f->cur.closes = true;
  } else {
    f->cur.indent = (in ? in->base + 1 : 0) + (cont ? 1 : 0);
    if (f->nonblock == 0 && f->ntok == 0) f->stmt_indent = f->cur.indent;
  }
  f->cur.top = f->depth == 0 && !cont;
  f->cur.decl = f->cur.top ? (kind == FL_CODE ? f->ndecl++ : -1) : f->ndecl - 1;
  f->line_depth = f->depth;
  f->open = true;
  f->has_code = false;
  f->prev = -1;
}

/* An opener of kind ('(' '[' 'm' 'b') on the current line. */
static void push_open(Fmt *f, char kind) {
  if (kind != 'b') f->nonblock++;
  /* a block's statements sit one level in from the line its statement began on,
   * though its `{` ends a continued line (a parameter list over two lines) */
  int base = kind == 'b' ? f->stmt_indent : f->cur.indent;
  if (f->depth < FMT_MAX_DEPTH) f->stack[f->depth] = (FmtOpen){kind, base};
  f->depth++;
}

/* Pops up to the opener of a closer ('(' '[' or '{' for either brace), as
 * lexer.l's lex_close does. */
static void pop_open(Fmt *f, char want) {
  while (f->depth > 0) {
    char k = f->depth <= FMT_MAX_DEPTH ? f->stack[f->depth - 1].kind : want;
    f->depth--;
    if (k != 'b') f->nonblock--;
    if (k == want || (want == '{' && (k == 'm' || k == 'b'))) break;
  }
}

/* One code token onto the lines. */
static void lay_token(Fmt *f, int k) {
  bool is_lbrace = tok_is(f, k, "{"), is_rbrace = tok_is(f, k, "}");
  bool map_open = is_lbrace && opens_map(f, f->last);
  bool block_open = is_lbrace && !map_open;
  bool map_close = is_rbrace && top_is_map(f);
  bool block_close = is_rbrace && !map_close;
  /* an empty block stays `{}` on its line */
  bool empty_block = block_close && f->open && f->prev >= 0 && tok_is(f, f->prev, "{");
  if (f->open && !empty_block && (f->brk || (block_close && f->has_code))) end_line(f);
  f->brk = false;
  if (!f->open) {
    start_line(f, k, FL_CODE);
  } else if (f->prev >= 0 && !empty_block) {
    bool p_map_open = tok_is(f, f->prev, "{") && top_is_map(f);
    if (need_space(f, f->prev, k, map_open, map_close, p_map_open)) fmt_put(f, " ", 1);
  }
  const FmtTok *t = &f->t[k];
  fmt_put(f, f->src + t->lo, t->hi - t->lo);
  if (t->keep_ff) fmt_put(f, "\f", 1);
  f->has_code = true;
  f->last_ends = ends_stmt(f, k, f->last);
  f->ntok++;
  if (tok_is(f, k, "(")) push_open(f, '(');
  else if (tok_is(f, k, "[")) push_open(f, '[');
  else if (is_lbrace) push_open(f, map_open ? 'm' : 'b');
  else if (tok_is(f, k, ")")) pop_open(f, '(');
  else if (tok_is(f, k, "]")) pop_open(f, '[');
  else if (is_rbrace) pop_open(f, '{');
  if (block_open || block_close) {
    f->ntok = 0;
    f->last_ends = false;
    f->brk = true;
  }
  f->prev = k;
  f->last = k;
}

/* Lays out every token into f->lines. */
static void fmt_lines(Fmt *f) {
  f->last = -1;
  for (int k = 0; k < f->nt; k++) {
    const FmtTok *t = &f->t[k];
    if (t->kind == FT_NEWLINE) {
      if (f->open) end_line(f);
      else blank_line(f);
      f->brk = false;
      if (f->nonblock == 0 && f->ntok > 0 && f->last_ends) f->ntok = 0;
    } else if (t->kind == FT_COMMENT) {
      if (f->open && f->has_code) {
        fmt_put(f, "  ", 2);
      } else {
        if (f->open) end_line(f);
        start_line(f, k, FL_COMMENT);
      }
      const char *c;
      size_t n = tok_text(f, k, &c);   /* its trailing blanks go; c set before it is read */
      fmt_put(f, c, n);
    } else {
      lay_token(f, k);
    }
  }
  if (f->open) end_line(f);
}

/* The lines with their blank lines decided, into a new buffer: at most one
 * blank line in a row, none at the start or end or just inside brackets; one
 * between top-level declarations when either spans several lines (a comment
 * directly above a declaration goes with it). */
static char *fmt_render(Fmt *f, size_t *outlen) {
  int *nl = calloc((size_t)f->ndecl + 1, sizeof *nl);     /* lines per declaration */
  int *grp = malloc(((size_t)f->nlines + 1) * sizeof *grp);
  size_t cap = f->ntext + (size_t)f->nlines * 2 + 16;
  for (int i = 0; i < f->nlines; i++) cap += (size_t)f->lines[i].indent * 2 + 1;
  char *out = malloc(cap);
  if (!nl || !grp || !out) {
    fprintf(stderr, "mlxc: error: out of memory\n");
    exit(FMT_INTERNAL);
  }
  for (int i = 0; i < f->nlines; i++)
    if (f->lines[i].kind != FL_BLANK && f->lines[i].decl >= 0) nl[f->lines[i].decl]++;
  /* the declaration a top-level line leads to: its first line, or a comment
   * directly above it (only comments in between); else -1 */
  for (int i = f->nlines - 1; i >= 0; i--) {
    const FmtLine *l = &f->lines[i];
    grp[i] = !l->top ? -1 : l->kind == FL_CODE ? l->decl
           : l->kind == FL_COMMENT && i + 1 < f->nlines ? grp[i + 1] : -1;
  }
  size_t n = 0;
  int prev = -1;
  bool pending = false;
  for (int i = 0; i < f->nlines; i++) {
    const FmtLine *l = &f->lines[i];
    if (l->kind == FL_BLANK) {
      pending = prev >= 0;
      continue;
    }
    bool blank = false;
    if (prev >= 0) {
      const FmtLine *p = &f->lines[prev];
      if (l->top) {
        int g = grp[i];
        bool same_group = p->top && p->kind == FL_COMMENT && g >= 0 && grp[prev] == g;
        if (same_group) blank = false;
        else if (pending) blank = true;
        else blank = g >= 0 && (nl[g] > 1 || (p->decl >= 0 && nl[p->decl] > 1));
      } else {
        blank = pending && !p->opens && !l->closes;
      }
    }
    if (blank) out[n++] = '\n';
    for (int j = 0; j < l->indent * 2; j++) out[n++] = ' ';
    memcpy(out + n, f->text + l->at, l->len);
    n += l->len;
    out[n++] = '\n';
    prev = i;
    pending = false;
  }
  out[n] = 0;
  *outlen = n;
  free(nl);
  free(grp);
  return out;
}

/* Whether a and b hold the same tokens and comments in the same order
 * (newlines aside): nothing lost, doubled or re-spelled. */
static bool same_tokens(const Fmt *a, const Fmt *b) {
  int i = 0, j = 0;
  for (;;) {
    while (i < a->nt && a->t[i].kind == FT_NEWLINE) i++;
    while (j < b->nt && b->t[j].kind == FT_NEWLINE) j++;
    if (i == a->nt || j == b->nt) return i == a->nt && j == b->nt;
    const char *sa, *sb;
    size_t na = tok_text(a, i, &sa), nb = tok_text(b, j, &sb);
    if (a->t[i].kind != b->t[j].kind || na != nb || memcmp(sa, sb, na)) return false;
    i++, j++;
  }
}

/* Formats src (len bytes, parsed into ast without errors); a malloc'd,
 * NUL-terminated result, or NULL when the result would not hold the same
 * tokens and comments (a bug). */
static char *fmt_text(const char *src, uint32_t len, const Ast *ast, size_t *outlen) {
  Fmt f, g;
  memset(&f, 0, sizeof f);
  memset(&g, 0, sizeof g);
  f.src = src;
  uint32_t start = len >= 3 && !memcmp(src, "\xef\xbb\xbf", 3) ? 3 : 0;   /* no BOM */
  fmt_scan(&f, src, start, len);
  mark_binary(&f, ast);
  fmt_lines(&f);
  char *out = fmt_render(&f, outlen);
  g.src = out;
  fmt_scan(&g, out, 0, (uint32_t)*outlen);
  if (!same_tokens(&f, &g)) {
    free(out);
    out = NULL;
  }
  free(f.t);
  free(f.text);
  free(f.lines);
  free(g.t);
  return out;
}

/* ---- files --------------------------------------------------------------- */

/* All of stdin, NUL-terminated; NULL with errno on failure. */
static char *read_stdin(size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    ssize_t got = read(0, buf + n, cap - n - 1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      free(buf);
      return NULL;
    }
    if (got == 0) break;
    n += (size_t)got;
    if (n == cap - 1) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  if (!buf) {
    errno = ENOMEM;
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

static int write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    s += w, n -= (size_t)w;
  }
  return 0;
}

/* Replaces the file at path (through symlinks) with buf: a temporary file
 * beside it, written, given the old owner (where allowed) and mode, synced
 * and renamed over it. */
static int write_atomic(const char *path, const char *buf, size_t n, const struct stat *st) {
  char *real = realpath(path, NULL);
  if (!real) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write the formatted spec: %s", strerror(errno));
    return FMT_ENV;
  }
  char *slash = strrchr(real, '/');
  size_t dn = slash ? (size_t)(slash - real) : 0;
  size_t tn = strlen(real) + 32;
  char *tmp = malloc(tn);
  if (!tmp) {
    free(real);
    return FMT_INTERNAL;
  }
  snprintf(tmp, tn, "%.*s/.%s.fmt-XXXXXX", (int)dn, real, slash ? slash + 1 : real);
  int code = FMT_OK;
  int fd = mkstemp(tmp);
  if (fd < 0) {
    code = FMT_ENV;
  } else {
    if (fchown(fd, st->st_uid, st->st_gid)) {   /* only root may give a file away */
    }
    if (write_all(fd, buf, n) || fchmod(fd, st->st_mode & 07777) || fsync(fd)) code = FMT_ENV;
    if (close(fd)) code = FMT_ENV;
    if (!code && rename(tmp, real)) code = FMT_ENV;
    if (code) {
      int e = errno;
      unlink(tmp);
      errno = e;
    }
  }
  if (code) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write the formatted spec: %s", strerror(errno));
  } else {
    snprintf(tmp, tn, "%.*s", dn ? (int)dn : 1, dn ? real : "/");
    int dfd = open(tmp, O_RDONLY | O_DIRECTORY);   /* the rename itself, durable */
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  free(tmp);
  free(real);
  return code;
}

int fmt_buffer(const char *name, const char *buf, size_t len, char **out, size_t *outlen) {
  *out = NULL;
  *outlen = 0;
  Arena a = {0};
  int code = FMT_OK;
  diag_reset();
  uint32_t file = src_add(name, buf, len);
  Ast *ast = parse_source(&a, file);
  if (diag_error_count()) {
    code = FMT_SPEC;
    goto done;
  }
  if (len > UINT32_MAX / 2) {
    rt_diag(RT_ERROR, rt_loc_file(name), "spec too large to format (%zu bytes)", len);
    code = FMT_SPEC;
    goto done;
  }
  /* the formatted spec must hold the same tokens and comments, and mean
   * what the original did */
  *out = fmt_text(buf, (uint32_t)len, ast, outlen);
  Ast *ast2 = NULL;
  if (*out) {
    char *name2 = arena_printf(&a, "%s (formatted)", name);
    ast2 = parse_source(&a, src_add(name2, *out, *outlen));
  }
  if (!*out || diag_error_count() || !ast_same(ast, ast2)) {
    rt_diag_flush();
    fprintf(stderr, "mlxc: internal error: fmt: the formatted %s would not mean what it "
                    "does now; it is left as it was (this is a bug in mlxc fmt)\n", name);
    free(*out);
    *out = NULL;
    code = FMT_INTERNAL;
  }
done:
  arena_free(&a);
  return code;
}

/* One file (path "-": stdin to stdout): read, parse, format, verify, then
 * list (check), print (to_stdout) or rewrite it. Returns its exit code. */
static int fmt_file(const char *path, bool check, bool to_stdout) {
  bool in = !strcmp(path, "-");
  const char *name = in ? "<stdin>" : path;
  struct stat st;
  memset(&st, 0, sizeof st);
  if (!in && stat(path, &st)) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot open spec: %s", strerror(errno));
    return FMT_DATA;
  }
  if (!in && !S_ISREG(st.st_mode)) {
    rt_diag(RT_ERROR, rt_loc_file(path), "%s", S_ISDIR(st.st_mode)
                ? "is a directory; fmt takes spec files (mlxc fmt DIR/*.mlx)"
                : "not a regular file; fmt takes spec files, or - for stdin");
    return FMT_USAGE;
  }
  size_t len;
  char *buf = in ? read_stdin(&len) : rt_read_file(path, &len);
  if (!buf) {
    rt_diag(RT_ERROR, rt_loc_file(name), "cannot read spec: %s", strerror(errno));
    return FMT_DATA;
  }
  char *out = NULL;
  size_t outlen = 0;
  int code = fmt_buffer(name, buf, len, &out, &outlen);
  if (code) goto done;
  bool changed = outlen != len || memcmp(out, buf, len);
  if (check) {
    if (changed) {
      printf("%s\n", name);
      code = FMT_SPEC;
    }
  } else if (to_stdout || in) {
    if (fwrite(out, 1, outlen, stdout) != outlen || fflush(stdout)) {
      fprintf(stderr, "mlxc: error: cannot write the formatted spec to stdout: %s\n",
              strerror(errno));
      code = FMT_ENV;
    }
  } else if (changed) {
    code = write_atomic(path, out, outlen, &st);
  }
done:
  rt_diag_flush();
  fflush(stdout);
  diag_reset();
  free(out);
  free(buf);
  return code;
}

int fmt_files(const char *const *paths, int n, bool check, bool to_stdout) {
  if (n < 1) {
    fprintf(stderr, "mlxc: error: fmt needs at least one spec file (or - for stdin)\n"
                    "(run 'mlxc --help' for usage)\n");
    return FMT_USAGE;
  }
  if (check && to_stdout) {
    fprintf(stderr, "mlxc: error: --check and --stdout do not go together\n"
                    "(run 'mlxc --help' for usage)\n");
    return FMT_USAGE;
  }
  for (int i = 0; i < n; i++)
    if (!strcmp(paths[i], "-") && n > 1) {
      fprintf(stderr, "mlxc: error: - (stdin) must be fmt's only file\n"
                      "(run 'mlxc --help' for usage)\n");
      return FMT_USAGE;
    }
  int worst = FMT_OK;
  for (int i = 0; i < n; i++) {
    int code = fmt_file(paths[i], check, to_stdout);
    rt_diag_flush();
    if (code > worst) worst = code;
  }
  return worst;
}
