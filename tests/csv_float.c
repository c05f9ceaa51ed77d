/* csv_float.c — rt_parse_float against (float)strtod on random decimals: the
 * fast paths (multiply by 10^-k with a boundary check, Clinger's exact
 * cases) must give the float strtod's double rounds to, bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

static uint64_t s = 88172645463325252ull;
static uint64_t next(void) {
  s ^= s << 13, s ^= s >> 7, s ^= s << 17;
  return s;
}

int main(void) {
  long bad = 0, n = 0;
  char buf[64];
  for (long i = 0; i < 3000000; i++) {
    uint64_t r = next();
    int intd = (int)(r % 10), frac = (int)((r >> 8) % 12);
    int at = 0;
    if (r >> 62) buf[at++] = '-';
    for (int k = 0; k < intd + 1; k++) buf[at++] = (char)('0' + next() % 10);
    if (frac) {
      buf[at++] = '.';
      for (int k = 0; k < frac; k++) buf[at++] = (char)('0' + next() % 10);
    }
    if ((r >> 20) % 5 == 0) at += snprintf(buf + at, sizeof buf - (size_t)at, "e%d", (int)((r >> 24) % 40) - 20);
    buf[at] = 0;
    float got, want = (float)strtod(buf, NULL);
    n++;
    if (!rt_parse_float(buf, (size_t)at, &got)) {
      if (want == want && want - want == 0) {   /* finite: must parse */
        if (bad++ < 10) fprintf(stderr, "refused %s\n", buf);
      }
      continue;
    }
    if (memcmp(&got, &want, sizeof got)) {
      if (bad++ < 10) fprintf(stderr, "%s: got %.9g, strtod %.9g\n", buf, got, want);
    }
  }
  /* decimals at and next to the midpoints between neighbouring floats,
   * 9 to 19 significant digits: the multiply's boundary check must see them */
  for (long i = 0; i < 2000000; i++) {
    uint64_t r = next();
    float f;
    uint32_t fb = 0x30000000u + (uint32_t)(r % 0x20000000u);   /* ~1e-9 .. 1e10 */
    memcpy(&f, &fb, sizeof f);
    double mid = ((double)f + (double)nextafterf(f, 1e30f)) / 2;
    int prec = 9 + (int)((r >> 40) % 11);
    int at = snprintf(buf, sizeof buf, "%.*f", prec, mid);
    if (at <= 0 || at >= (int)sizeof buf) continue;
    float got, want = (float)strtod(buf, NULL);
    n++;
    if (!rt_parse_float(buf, (size_t)at, &got) || memcmp(&got, &want, sizeof got))
      if (bad++ < 10) fprintf(stderr, "%s: got %.9g, strtod %.9g\n", buf, got, want);
  }
  /* halfway cases between floats, written out exactly, the divide's job */
  const char *ties[] = {"16777217", "0.5000000298023223876953125", "1.00000005960464477539062500",
                        "33554435", "0.1", "0.3", "3.4028235e38", "1.17549435e-38", "7.038531e-26"};
  for (size_t i = 0; i < sizeof ties / sizeof *ties; i++) {
    float got = 0, want = (float)strtod(ties[i], NULL);
    n++;
    if (!rt_parse_float(ties[i], strlen(ties[i]), &got) || memcmp(&got, &want, sizeof got)) {
      fprintf(stderr, "%s: got %.9g, strtod %.9g\n", ties[i], got, want);
      bad++;
    }
  }
  printf("csv_float: %ld numbers, %ld differ from strtod\n", n, bad);
  return bad != 0;
}
