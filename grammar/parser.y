/* parser.y — the grammar of .mlx specs (DESIGN.md §2). Tokens come from
 * grammar/lexer.l, which already decided soft keywords, newlines and map
 * braces; the actions here only build AST nodes (compiler/ast.c), no checks.
 * Syntax errors are "expected X, found Y" with a note at an unclosed bracket;
 * recovery is per statement (to the end of the line or the closing brace),
 * and a statement boundary ends it at once (yyerrok), so the next bad line
 * is reported too. */

%code requires {
#include "compiler/mlxc.h"

/* A token's place: byte offsets into the source, spans made from them. */
typedef struct Loc {
  uint32_t lo;  /* first byte */
  uint32_t hi;  /* one past the last byte */
} Loc;

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
  do {                                                                \
    if (N) {                                                          \
      (Cur).lo = YYRHSLOC(Rhs, 1).lo;                                 \
      (Cur).hi = YYRHSLOC(Rhs, N).hi;                                 \
    } else {                                                          \
      (Cur).lo = (Cur).hi = YYRHSLOC(Rhs, 0).hi;                      \
    }                                                                 \
  } while (0)

#define LEX_MAX_DEPTH 64
#define LEX_MAX_OPS 1000   /* operators in one statement: bounds the AST's depth */

/* An open bracket on the lexer's stack. */
typedef struct LexOpen {
  char kind;    /* '(' '[' 'm' (map brace) or 'b' (block brace) */
  uint32_t lo;  /* where it opened */
} LexOpen;

/* The scanner's state beyond flex's own: what it needs to decide newlines,
 * soft keywords and map braces, and to help the parser recover. */
typedef struct LexState {
  Arena *arena;        /* token values live here */
  uint32_t file;       /* source being scanned */
  const char *text;    /* its bytes */
  uint32_t len;
  uint32_t off;        /* byte offset of the next unread byte */
  LexOpen stack[LEX_MAX_DEPTH];
  int depth;           /* entries used in stack */
  int over;            /* brackets opened beyond LEX_MAX_DEPTH, still unclosed */
  bool over_reported;  /* "nested too deeply" said once */
  int blocks;          /* block braces open */
  int nonblock;        /* ( [ and map braces open: newlines are ignored */
  int last;            /* kind of the last token handed out (0: none yet) */
  int ntok;            /* tokens handed out since the statement began */
  int nops;            /* operators since the statement began */
  int q[LEX_MAX_DEPTH + 8];   /* queued tokens: virtual newlines around '}', */
  Loc qloc[LEX_MAX_DEPTH + 8]; /* closers repairing an unterminated string */
  int nq, qi;          /* queued count, next to hand out */
  bool eof;            /* end of input reached */
  LexOpen implicit;    /* innermost bracket the latest closer left unclosed */
  bool has_implicit;
  uint32_t last_hi;    /* end of the last token with text: where "end of file" points */
  int skip_to;         /* after an error: drop tokens deeper than this many blocks
                          until the next newline at that level (-1: off) */
  bool repair;         /* an unterminated string: close its line's brackets at the newline */
} LexState;

/* What the parser carries: where nodes go, and how deep in blocks it is (to
 * tell the lexer how far to skip after an error). */
typedef struct ParseState {
  Arena *arena;
  uint32_t file;
  Ast *root;       /* the FILE node, filled as declarations reduce */
  LexState *lex;
  int in_block;    /* block braces the parser has entered */
} ParseState;
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);
/* Display name of a token kind for --dump=tokens (lexer.l). */
const char *lex_token_name(int tok);
}

%code {
#include <string.h>

#define A (ps->arena)
#define SP(l) ((Span){ps->file, (l).lo, (l).hi})
#define NODE(k, l) ast_new(A, (k), SP(l))

/* Moves the kids of scratch list node src into the params of dst. */
static void take_params(Ast *dst, Ast *src) {
  dst->params = src->kids;
  dst->nparams = src->nkids;
}

/* Only bison's own failures come here ("memory exhausted": the parse stack
 * hit its limit); syntax errors go through yyreport_syntax_error. */
static void yyerror(Loc *loc, void *scanner, ParseState *ps, const char *msg) {
  (void)scanner;
  diag_error((Span){ps->file, loc->lo, loc->hi}, "nested too deeply for the parser (%s)", msg);
}

static Ast *binary(ParseState *ps, AstOp op, Ast *l, Ast *r) {
  Ast *n = ast_new(ps->arena, AST_BINARY, span_join(l->span, r->span));
  n->op = op;
  ast_add(ps->arena, n, l);
  ast_add(ps->arena, n, r);
  return n;
}

static Ast *unary(ParseState *ps, AstOp op, Loc at, Ast *e) {
  Ast *n = ast_new(ps->arena, AST_UNARY, span_join(SP(at), e->span));
  n->op = op;
  ast_add(ps->arena, n, e);
  return n;
}

/* A modifier: name is the keyword, kids[0] its operand. */
static Ast *modifier(ParseState *ps, const char *word, Loc at, Ast *e) {
  Ast *n = ast_new(ps->arena, AST_MOD, span_join(SP(at), e->span));
  n->name = word;
  n->name_span = SP(at);
  ast_add(ps->arena, n, e);
  return n;
}

/* A named block declaration from the scratch node holding its statements. */
static Ast *block_decl(ParseState *ps, AstKind k, Loc at, Ast *name, Ast *body) {
  Ast *n = body;
  n->kind = k;
  n->span = SP(at);
  n->name = name->name;
  n->name_span = name->span;
  return n;
}
}

%define api.pure full
%define parse.error custom
%define parse.lac full
%locations
%define api.location.type {Loc}
%define api.value.type {Ast *}
%parse-param {void *scanner} {ParseState *ps}
%lex-param {void *scanner}
%expect 0

%token END 0 "end of file"
%token NL "end of line"
%token NAME "name" FNAME "call" NUM "number" STR "string" DUR "duration" PCT "percentage"
%token IMPORT "import" CONST "const" DATASET "dataset" MODEL "model" GATE "gate"
       TRAIN "train" SEARCH "search" RELEASE "release" FN "fn" EXTERN "extern"
       SCHEDULE "schedule" ROLLOUT "rollout"
%token AND "and" OR "or" NOT "not" IN "in" FOR "for" WHEN "when" BY "by"
       SALT "salt" SEED "seed" FROM "from" PATIENCE "patience" EVERY "every"
       AS "as" MIN "min"
%token LBRACE "{" MAPOPEN "{ (map)" RBRACE "}" LPAREN "(" RPAREN ")"
       LBRACK "[" RBRACK "]" COMMA "," COLON ":" ASSIGN "=" DOT "." ARROW "->"
       STAR "*" PLUS "+" MINUS "-" SLASH "/"
       LT "<" LE "<=" GT ">" GE ">=" EQ "==" NE "!="

/* Loosest first. ITEM_END ranks below every operator: an expression that runs
 * to the end of a statement item (after '=', 'when', 'in') takes the
 * following '*', '-' or a count word as its own rather than starting a new
 * item. */
%precedence ITEM_END
%precedence NAME
%left OR
%left AND
%precedence NOT
%nonassoc LT LE GT GE EQ NE
%left PLUS MINUS
%left STAR SLASH
%precedence UMINUS

%%

/* file : decls */
file
  : %empty
  | file decl                 { ast_add(A, ps->root, $2); }
  ;

/* decl : IMPORT STR NL | CONST NAME '=' expr NL | DATASET NAME block | ... */
decl
  : IMPORT STR NL             { $$ = NODE(AST_IMPORT, @$); $$->str = $2->str;
                                $$->span = span_join(SP(@1), $2->span); }
  | CONST NAME ASSIGN expr NL { $$ = NODE(AST_CONST, @$); $$->name = $2->name;
                                $$->name_span = $2->span; ast_add(A, $$, $4);
                                $$->span = span_join(SP(@1), $4->span); }
  | DATASET NAME block        { $$ = block_decl(ps, AST_DATASET, @1, $2, $3); }
  | TRAIN NAME block          { $$ = block_decl(ps, AST_TRAIN, @1, $2, $3); }
  | SEARCH NAME block         { $$ = block_decl(ps, AST_SEARCH, @1, $2, $3); }
  | RELEASE NAME block        { $$ = block_decl(ps, AST_RELEASE, @1, $2, $3); }
  | MODEL NAME block          { $$ = block_decl(ps, AST_MODEL, @1, $2, $3); }
  | MODEL FNAME LPAREN params RPAREN block
                              { $$ = block_decl(ps, AST_MODEL, @1, $2, $6);
                                take_params($$, $4); }
  | GATE NAME block           { $$ = block_decl(ps, AST_GATE, @1, $2, $3); }
  | GATE FNAME LPAREN params RPAREN block
                              { $$ = block_decl(ps, AST_GATE, @1, $2, $6);
                                take_params($$, $4); }
  | SCHEDULE NAME block       { $$ = block_decl(ps, AST_SCHEDULE, @1, $2, $3); }
  | SCHEDULE FNAME LPAREN params RPAREN block
                              { $$ = block_decl(ps, AST_SCHEDULE, @1, $2, $6);
                                take_params($$, $4); }
  | ROLLOUT NAME block        { $$ = block_decl(ps, AST_ROLLOUT, @1, $2, $3); }
  | ROLLOUT FNAME LPAREN params RPAREN block
                              { $$ = block_decl(ps, AST_ROLLOUT, @1, $2, $6);
                                take_params($$, $4); }
  | FN FNAME LPAREN params RPAREN ARROW NAME ASSIGN expr NL
                              { $$ = NODE(AST_FN, @$); $$->name = $2->name;
                                $$->name_span = $2->span; take_params($$, $4);
                                $$->str = $7->name; ast_add(A, $$, $9);
                                $$->span = span_join(SP(@1), $9->span); }
  | EXTERN FN FNAME LPAREN params RPAREN ARROW NAME FROM STR NL
                              { $$ = NODE(AST_EXTERN, @$); $$->name = $3->name;
                                $$->name_span = $3->span; take_params($$, $5);
                                $$->str = $8->name; ast_add(A, $$, $10);
                                $$->span = span_join(SP(@1), $10->span); }
  | error NL                  { $$ = NODE(AST_ERROR, @1); yyerrok; }
  ;

/* params : empty | param (',' param)*  — collected as kids of a scratch node */
params
  : %empty                    { $$ = NODE(AST_FILE, @$); }
  | param_list
  ;
param_list
  : param                     { $$ = NODE(AST_FILE, @$); ast_add(A, $$, $1); }
  | param_list COMMA param    { $$ = $1; ast_add(A, $$, $3); }
  ;

/* param : NAME [':' NAME] ['=' expr] */
param
  : NAME                      { $$ = NODE(AST_PARAM, @$); $$->name = $1->name; }
  | NAME COLON NAME           { $$ = NODE(AST_PARAM, @$); $$->name = $1->name;
                                $$->name_span = $1->span; $$->str = $3->name; }
  | NAME ASSIGN expr          { $$ = NODE(AST_PARAM, @$); $$->name = $1->name;
                                $$->name_span = $1->span; ast_add(A, $$, $3); }
  | NAME COLON NAME ASSIGN expr
                              { $$ = NODE(AST_PARAM, @$); $$->name = $1->name;
                                $$->name_span = $1->span; $$->str = $3->name;
                                ast_add(A, $$, $5); }
  ;

/* block : '{' stmts '}' NL — the statements, in a scratch node the
 * declaration takes over. The mid-rule action counts block depth for error
 * recovery (see yyreport_syntax_error). */
block
  : LBRACE { ps->in_block++; } stmts block_end
                              { $$ = $3; ast_add(A, $$, $4); ps->in_block--; }
  ;
block_end
  : RBRACE NL                 { $$ = NULL; }
  | error RBRACE NL           { $$ = NODE(AST_ERROR, @1); yyerrok; }
  ;

stmts
  : %empty                    { $$ = NODE(AST_FILE, @$); }
  | stmts stmt                { $$ = $1; ast_add(A, $$, $2); }
  ;

/* stmt : NAME clauses NL | NAME NL | path cmpop arith NL | FNAME '(' args ')' NL */
stmt
  : NAME clauses NL           { $$ = $2; $$->name = $1->name; $$->name_span = $1->span;
                                $$->span = span_join($1->span, $2->span); }
  | NAME NL                   { $$ = NODE(AST_STMT, @1); $$->name = $1->name;
                                $$->name_span = $1->span; }
  | path cmpop arith NL       { $$ = NODE(AST_CHECK, @$);
                                ast_add(A, $$, binary(ps, $2->op, $1, $3));
                                $$->span = $$->kids[0]->span; }
  | call cmpop arith NL       { $$ = NODE(AST_CHECK, @$);
                                ast_add(A, $$, binary(ps, $2->op, $1, $3));
                                $$->span = $$->kids[0]->span; }
  | call NL                   { Ast *c = NODE(AST_CLAUSE, @1); ast_add(A, c, $1);
                                $$ = NODE(AST_STMT, @1); $$->name = $1->name;
                                $$->name_span = $1->name_span; ast_add(A, $$, c); }
  | error NL                  { $$ = NODE(AST_ERROR, @1); yyerrok; }
  ;

/* A comparison operator; its value is a scratch node carrying the op. */
cmpop
  : LT                        { $$ = NODE(AST_BINARY, @1); $$->op = OP_LT; }
  | LE                        { $$ = NODE(AST_BINARY, @1); $$->op = OP_LE; }
  | GT                        { $$ = NODE(AST_BINARY, @1); $$->op = OP_GT; }
  | GE                        { $$ = NODE(AST_BINARY, @1); $$->op = OP_GE; }
  | EQ                        { $$ = NODE(AST_BINARY, @1); $$->op = OP_EQ; }
  | NE                        { $$ = NODE(AST_BINARY, @1); $$->op = OP_NE; }
  ;

/* clauses : clause (',' clause)*  — the STMT node, name filled by stmt */
clauses
  : clause                    { $$ = NODE(AST_STMT, @$); ast_add(A, $$, $1); }
  | clauses COMMA clause      { $$ = $1; ast_add(A, $$, $3);
                                $$->span = span_join($$->span, $3->span); }
  ;

/* clause : item+ */
clause
  : item                      { $$ = NODE(AST_CLAUSE, @$); $$->span = $1->span;
                                ast_add(A, $$, $1); }
  | clause item               { $$ = $1; ast_add(A, $$, $2);
                                $$->span = span_join($$->span, $2->span); }
  ;

/* item : atom | atom '=' expr | '*' '=' expr | '*' | atom ':' atom | '-' atom
 *      | MODKW atom | 'when' expr | 'in' expr */
item
  : atom
  | atom ASSIGN expr %prec ITEM_END
                              { $$ = NODE(AST_ASSIGN, @$); ast_add(A, $$, $1);
                                ast_add(A, $$, $3);
                                $$->span = span_join($1->span, $3->span); }
  | star ASSIGN expr %prec ITEM_END
                              { $$ = NODE(AST_ASSIGN, @$); ast_add(A, $$, $1);
                                ast_add(A, $$, $3);
                                $$->span = span_join($1->span, $3->span); }
  | star
  | atom COLON atom           { $$ = NODE(AST_PAIR, @$); ast_add(A, $$, $1);
                                ast_add(A, $$, $3); }
  | MINUS atom                { $$ = unary(ps, OP_NEG, @1, $2); }
  | modkw atom                { $$ = modifier(ps, $1->name, @1, $2); }
  | WHEN expr %prec ITEM_END  { $$ = modifier(ps, "when", @1, $2); }
  | IN expr %prec ITEM_END    { $$ = modifier(ps, "in", @1, $2); }
  ;

star
  : STAR                      { $$ = NODE(AST_STAR, @1); }
  ;

/* The modifier words that take one atom; the value names the word. */
modkw
  : FOR                       { $$ = NODE(AST_NAME, @1); $$->name = "for"; }
  | BY                        { $$ = NODE(AST_NAME, @1); $$->name = "by"; }
  | SALT                      { $$ = NODE(AST_NAME, @1); $$->name = "salt"; }
  | SEED                      { $$ = NODE(AST_NAME, @1); $$->name = "seed"; }
  | FROM                      { $$ = NODE(AST_NAME, @1); $$->name = "from"; }
  | PATIENCE                  { $$ = NODE(AST_NAME, @1); $$->name = "patience"; }
  | EVERY                     { $$ = NODE(AST_NAME, @1); $$->name = "every"; }
  | AS                        { $$ = NODE(AST_NAME, @1); $$->name = "as"; }
  | MIN                       { $$ = NODE(AST_NAME, @1); $$->name = "min"; }
  ;

/* atom : NUM | STR | DUR | PCT | NAME | path | call | list | map | '(' expr ')' */
atom
  : NUM %prec ITEM_END
  | STR
  | DUR
  | PCT
  | NAME
  | path
  | call
  | LBRACK RBRACK             { $$ = NODE(AST_LIST, @$); }
  | LBRACK expr_list RBRACK   { $$ = $2; $$->span = SP(@$); }
  | LBRACK expr_list COMMA RBRACK
                              { $$ = $2; $$->span = SP(@$); }
  | MAPOPEN RBRACE            { $$ = NODE(AST_MAP, @$); }
  | MAPOPEN pair_list RBRACE  { $$ = $2; $$->span = SP(@$); }
  | MAPOPEN pair_list COMMA RBRACE
                              { $$ = $2; $$->span = SP(@$); }
  | LPAREN expr RPAREN        { $$ = $2; }
  ;

/* path : NAME '.' NAME ('.' NAME)* */
path
  : NAME DOT NAME             { $$ = NODE(AST_PATH, @$); ast_add(A, $$, $1);
                                ast_add(A, $$, $3); }
  | path DOT NAME             { $$ = $1; ast_add(A, $$, $3);
                                $$->span = SP(@$); }
  ;

/* call : FNAME '(' args ')'  (a trailing ',' is allowed in calls, lists and maps) */
call
  : FNAME LPAREN RPAREN       { $$ = NODE(AST_CALL, @$); $$->name = $1->name;
                                $$->name_span = $1->span; }
  | FNAME LPAREN arg_list opt_comma RPAREN
                              { $$ = $3; $$->span = SP(@$); $$->name = $1->name;
                                $$->name_span = $1->span; }
  ;
opt_comma
  : %empty
  | COMMA
  ;
arg_list
  : arg                       { $$ = NODE(AST_CALL, @$); ast_add(A, $$, $1); }
  | arg_list COMMA arg        { $$ = $1; ast_add(A, $$, $3); }
  ;

/* arg : expr | NAME '=' expr | '*' */
arg
  : expr
  | NAME ASSIGN expr          { $$ = NODE(AST_ARG, @$); $$->name = $1->name;
                                $$->name_span = $1->span; ast_add(A, $$, $3); }
  | star
  ;

expr_list
  : expr                      { $$ = NODE(AST_LIST, @$); ast_add(A, $$, $1); }
  | expr_list COMMA expr      { $$ = $1; ast_add(A, $$, $3); }
  ;

/* map : '{' [expr ':' expr (',' expr ':' expr)*] '}' */
pair_list
  : pair                      { $$ = NODE(AST_MAP, @$); ast_add(A, $$, $1); }
  | pair_list COMMA pair      { $$ = $1; ast_add(A, $$, $3); }
  ;
pair
  : expr COLON expr           { $$ = NODE(AST_PAIR, @$); ast_add(A, $$, $1);
                                ast_add(A, $$, $3); }
  ;

/* expr : precedence climbing, loosest first: or, and, not, comparisons,
 *        + -, * /, unary -, then primary (atom, or NUM NAME as a COUNT) */
expr
  : expr OR expr              { $$ = binary(ps, OP_OR, $1, $3); }
  | expr AND expr             { $$ = binary(ps, OP_AND, $1, $3); }
  | NOT expr                  { $$ = unary(ps, OP_NOT, @1, $2); }
  | expr LT expr              { $$ = binary(ps, OP_LT, $1, $3); }
  | expr LE expr              { $$ = binary(ps, OP_LE, $1, $3); }
  | expr GT expr              { $$ = binary(ps, OP_GT, $1, $3); }
  | expr GE expr              { $$ = binary(ps, OP_GE, $1, $3); }
  | expr EQ expr              { $$ = binary(ps, OP_EQ, $1, $3); }
  | expr NE expr              { $$ = binary(ps, OP_NE, $1, $3); }
  | expr PLUS expr            { $$ = binary(ps, OP_ADD, $1, $3); }
  | expr MINUS expr           { $$ = binary(ps, OP_SUB, $1, $3); }
  | expr STAR expr            { $$ = binary(ps, OP_MUL, $1, $3); }
  | expr SLASH expr           { $$ = binary(ps, OP_DIV, $1, $3); }
  | MINUS expr %prec UMINUS   { $$ = unary(ps, OP_NEG, @1, $2); }
  | primary
  ;

/* arith : the + - * / part of expr, for the right side of a gate line (a
 * gate line is one comparison; 'and' there is a syntax error) */
arith
  : arith PLUS arith          { $$ = binary(ps, OP_ADD, $1, $3); }
  | arith MINUS arith         { $$ = binary(ps, OP_SUB, $1, $3); }
  | arith STAR arith          { $$ = binary(ps, OP_MUL, $1, $3); }
  | arith SLASH arith         { $$ = binary(ps, OP_DIV, $1, $3); }
  | MINUS arith %prec UMINUS  { $$ = unary(ps, OP_NEG, @1, $2); }
  | primary
  ;

primary
  : atom
  | NUM NAME                  { $$ = NODE(AST_COUNT, @$); $$->num = $1->num;
                                $$->name = $2->name; $$->name_span = $2->span; }
  ;

%%

/* The text of a token at loc for "found ...": quoted source, shortened. */
static void found_text(ParseState *ps, yysymbol_kind_t tok, Loc loc, char *buf, size_t cap) {
  if (tok == YYSYMBOL_YYEOF) {
    snprintf(buf, cap, "end of file");
    return;
  }
  if (tok == YYSYMBOL_NL) {
    snprintf(buf, cap, "end of line");
    return;
  }
  size_t len;
  const char *text = src_text(ps->file, &len);
  uint32_t lo = loc.lo, hi = loc.hi;
  if (hi > len) hi = (uint32_t)len;
  if (lo > hi) lo = hi;
  size_t n = hi - lo;
  bool cut = n > 40;
  if (cut) n = 40;
  snprintf(buf, cap, "'%.*s%s'", (int)n, text + lo, cut ? "..." : "");
}

/* How an expected token reads in a message: words for token classes,
 * quoted spelling for keywords and punctuation. */
static const char *expected_name(yysymbol_kind_t s, char *buf, size_t cap) {
  switch (s) {
  case YYSYMBOL_YYEOF: return "end of file";
  case YYSYMBOL_NL: return "end of line";
  case YYSYMBOL_NAME: return "a name";
  case YYSYMBOL_FNAME: return "a call";
  case YYSYMBOL_NUM: return "a number";
  case YYSYMBOL_STR: return "a string";
  case YYSYMBOL_DUR: return "a duration";
  case YYSYMBOL_PCT: return "a percentage";
  case YYSYMBOL_MAPOPEN: return "'{'";
  default: break;
  }
  snprintf(buf, cap, "'%s'", yysymbol_name(s));
  return buf;
}

static bool has(const yysymbol_kind_t *e, int n, yysymbol_kind_t s) {
  for (int i = 0; i < n; i++)
    if (e[i] == s) return true;
  return false;
}

/* Tokens that can begin a value, a statement argument or a modifier:
 * listed together as "a value". */
static bool starts_value(yysymbol_kind_t s) {
  switch (s) {
  case YYSYMBOL_NUM: case YYSYMBOL_STR: case YYSYMBOL_DUR: case YYSYMBOL_PCT:
  case YYSYMBOL_NAME: case YYSYMBOL_FNAME: case YYSYMBOL_LPAREN: case YYSYMBOL_LBRACK:
  case YYSYMBOL_MAPOPEN: case YYSYMBOL_MINUS: case YYSYMBOL_NOT: case YYSYMBOL_STAR:
  case YYSYMBOL_WHEN: case YYSYMBOL_IN: case YYSYMBOL_FOR: case YYSYMBOL_BY:
  case YYSYMBOL_SALT: case YYSYMBOL_SEED: case YYSYMBOL_FROM: case YYSYMBOL_PATIENCE:
  case YYSYMBOL_EVERY: case YYSYMBOL_AS: case YYSYMBOL_MIN:
    return true;
  default:
    return false;
  }
}

static bool binary_op(yysymbol_kind_t s) {
  switch (s) {
  case YYSYMBOL_OR: case YYSYMBOL_AND: case YYSYMBOL_LT: case YYSYMBOL_LE: case YYSYMBOL_GT:
  case YYSYMBOL_GE: case YYSYMBOL_EQ: case YYSYMBOL_NE: case YYSYMBOL_PLUS: case YYSYMBOL_MINUS:
  case YYSYMBOL_STAR: case YYSYMBOL_SLASH:
    return true;
  default:
    return false;
  }
}

static int rank(yysymbol_kind_t s) {
  switch (s) {
  case YYSYMBOL_RPAREN: case YYSYMBOL_RBRACK: case YYSYMBOL_RBRACE: return 0;
  case YYSYMBOL_COMMA: return 1;
  case YYSYMBOL_NL: return 2;
  case YYSYMBOL_ASSIGN: return 3;
  default: return 4;
  }
}

static const char *const decl_words[] = {"import", "const", "dataset", "model", "gate",
                                         "train", "search", "release", "fn", "extern",
                                         "schedule", "rollout"};

/* The closer a bracket on the lexer stack waits for. */
static yysymbol_kind_t closer_of(char kind) {
  return kind == '(' ? YYSYMBOL_RPAREN : kind == '[' ? YYSYMBOL_RBRACK : YYSYMBOL_RBRACE;
}

static char opener_char(char kind) { return kind == 'm' || kind == 'b' ? '{' : kind; }

/* "expected X, found Y": the expected set from LAC, with the tokens that
 * start a value folded into "a value" and those that start a declaration
 * into "a declaration"; at most four listed. Adds a note at the bracket the
 * expected closer would close, a suggestion for a misspelled declaration
 * word, and tells the lexer how far to skip so recovery resumes at the next
 * statement of the right block. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, ParseState *ps) {
  (void)scanner;
  LexState *ls = ps->lex;
  yysymbol_kind_t tok = yypcontext_token(ctx);
  Loc loc = *yypcontext_location(ctx);
  if (tok == YYSYMBOL_YYEOF) loc.lo = loc.hi = ls->last_hi;
  Span at = {ps->file, loc.lo, loc.hi};
  yysymbol_kind_t exp[64];
  int n = yypcontext_expected_tokens(ctx, exp, 64);
  if (n < 0) n = 0;
  char found[128];
  found_text(ps, tok, loc, found, sizeof found);

  bool decl_start = has(exp, n, YYSYMBOL_DATASET) && has(exp, n, YYSYMBOL_IMPORT);
  if (decl_start && (tok == YYSYMBOL_NAME || tok == YYSYMBOL_FNAME)) {
    diag_error(at, "expected a declaration, found %s", found);
    size_t len;
    const char *text = src_text(ps->file, &len);
    char word[256];
    size_t wn = loc.hi - loc.lo < sizeof word ? loc.hi - loc.lo : sizeof word - 1;
    memcpy(word, text + loc.lo, wn);
    word[wn] = 0;
    const char *s = diag_suggest(word, decl_words, 12);
    if (s) diag_note(at, "did you mean '%s'", s);
    else
      diag_note(at, "a spec holds import, const, dataset, model, gate, train, search, "
                    "release, schedule, rollout, fn and extern declarations");
  } else {
    char msg[512];
    size_t m = 0;
    int shown = 0, total = 0;
    bool value = has(exp, n, YYSYMBOL_NUM) && has(exp, n, YYSYMBOL_NAME);
    /* Where the line may end, "end of line" says more than the operators
     * that could also continue it (or a count word after a number). */
    bool end_ok = has(exp, n, YYSYMBOL_NL) && !value;
    bool closer_only = tok == YYSYMBOL_YYEOF &&
                       (has(exp, n, YYSYMBOL_RBRACE) || has(exp, n, YYSYMBOL_RPAREN) ||
                        has(exp, n, YYSYMBOL_RBRACK));
    const char *items[64];
    char bufs[64][32];
    if (decl_start) items[total++] = "a declaration";
    if (value && !closer_only) items[total++] = "a value";
    bool cmp = !end_ok && !closer_only && has(exp, n, YYSYMBOL_LT) && has(exp, n, YYSYMBOL_GE) &&
               has(exp, n, YYSYMBOL_NE);
    /* Closers first, then ',' and the end of the line: the likely fixes. */
    for (int i = 1; i < n; i++)
      for (int j = i; j > 0 && rank(exp[j]) < rank(exp[j - 1]); j--) {
        yysymbol_kind_t t = exp[j];
        exp[j] = exp[j - 1];
        exp[j - 1] = t;
      }
    for (int i = 0; i < n && total < 64; i++) {
      yysymbol_kind_t s = exp[i];
      if (decl_start && s >= YYSYMBOL_IMPORT && s <= YYSYMBOL_ROLLOUT) continue;
      if (value && starts_value(s)) continue;
      if (end_ok && (binary_op(s) || s == YYSYMBOL_NAME)) continue;
      if (cmp && s >= YYSYMBOL_LT && s <= YYSYMBOL_NE) {
        if (s == YYSYMBOL_LT) items[total++] = "a comparison";
        continue;
      }
      if (closer_only && s != YYSYMBOL_RBRACE && s != YYSYMBOL_RPAREN && s != YYSYMBOL_RBRACK)
        continue;
      items[total] = expected_name(s, bufs[total], sizeof bufs[total]);
      total++;
    }
    msg[0] = 0;
    for (int i = 0; i < total && shown < 4; i++, shown++) {
      const char *sep = i == 0 ? "" : (i == total - 1 ? " or " : ", ");
      m += (size_t)snprintf(msg + m, sizeof msg - m, "%s%s", sep, items[i]);
      if (m >= sizeof msg) m = sizeof msg - 1;
    }
    if (total > 4) snprintf(msg + m, sizeof msg - m, " or ...");
    if (total == 0) diag_error(at, "unexpected %s", found);
    else diag_error(at, "expected %s, found %s", msg, found);
  }

  /* The bracket left open: one a closer skipped over, else the innermost. */
  LexOpen open = {0};
  bool have = false;
  if (ls->has_implicit) open = ls->implicit, have = true;
  else if (ls->depth > 0) open = ls->stack[ls->depth - 1], have = true;
  if (have && has(exp, n, closer_of(open.kind))) {
    Span os = {ps->file, open.lo, open.lo + 1};
    RtLoc l = span_loc(os);
    diag_note(os, "to close '%c' opened at %d:%d", opener_char(open.kind), l.line, l.col);
  }

  /* Recovery resumes at a newline in the parser's own block: the lexer
   * drops the tokens of any block it enters beyond that one (say, the body
   * of a misspelled declaration) until the next newline at this level. */
  if (tok != YYSYMBOL_NL && tok != YYSYMBOL_YYEOF) ls->skip_to = ps->in_block;
  return 0;
}
