/* check.h — the one assertion macro of the C test drivers (tests/NAME.c): a
 * failed CHECK prints where and why and counts, so a driver reports every
 * failure in one run and exits non-zero at the end (return failures != 0). */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    checks++;                                                                 \
    if (!(cond)) {                                                            \
      failures++;                                                             \
      fprintf(stdout, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stdout, __VA_ARGS__);                                           \
      fputc('\n', stdout);                                                    \
    }                                                                         \
  } while (0)

#endif
