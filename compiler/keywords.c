/* keywords.c — `mlxc --keywords`: the compiler's own word tables, printed for
 * tools. The lexer's keyword tables (lexer.l) and sema's statement and name
 * tables (sema.c) are the source of truth; editors/gen.sh writes the keyword
 * parts of the vim, emacs and VS Code files from this output, so a new word
 * reaches the editors by regenerating them (tests/editors/gen_drift.sh fails
 * until then). One line per table, `NAME word word ...`, in table order;
 * `bools` is no table (sema.c's name lookup tests "true" and "false"). Exits
 * 0, or 6 when the output cannot be written. */
#include <errno.h>
#include <string.h>

#include "mlxc.h"

int keywords_print(FILE *out) {
  static const char *const lex_sets[] = {"top_keywords", "mod_keywords"};
  for (int set = 0; set < 2; set++) {
    fputs(lex_sets[set], out);
    const char *w;
    for (size_t i = 0; (w = lex_keyword(set, i)); i++) fprintf(out, " %s", w);
    fputc('\n', out);
  }
  fputs("bools true false\n", out);
  for (int t = 0; t < sema_nwords; t++) {
    fputs(sema_words[t].name, out);
    for (int i = 0; i < sema_words[t].n; i++) fprintf(out, " %s", sema_words[t].words[i]);
    fputc('\n', out);
  }
  /* A failed write (a full disk, a closed pipe) is the environment's: exit 6. */
  if (fflush(out) != 0 || ferror(out)) {
    fprintf(stderr, "mlxc: error: cannot write the keyword tables: %s\n", strerror(errno));
    return 6;
  }
  return 0;
}
