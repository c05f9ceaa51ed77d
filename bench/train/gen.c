/* gen.c — deterministic data for bench/train/run.sh: ROWS x 64 float32-ish
 * features (N(0,1), four decimals) and a binary label y from a fixed linear
 * score plus a few pairwise products and noise, so an MLP has something a
 * linear model cannot reach. xorshift64* seeded by SEED; the same arguments
 * always give the same bytes.
 *   gen OUT.csv ROWS SEED */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { F = 64 };
static uint64_t s;
static double u01(void) {
  s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
  return ((s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}
static double gauss(void) {
  double a = u01(), b = u01();
  return sqrt(-2 * log(a + 0x1.0p-60)) * cos(6.283185307179586 * b);
}

int main(int argc, char **argv) {
  if (argc != 4) return fprintf(stderr, "usage: gen OUT.csv ROWS SEED\n"), 2;
  FILE *f = fopen(argv[1], "w");
  if (!f) return perror(argv[1]), 1;
  long rows = atol(argv[2]);
  double w[F];
  s = 0x9E3779B97F4A7C15ull;   /* the model is the same for every seed */
  for (int j = 0; j < F; j++) w[j] = gauss() / sqrt((double)F) * 2.0;
  s = 0x243F6A8885A308D3ull ^ (uint64_t)atoll(argv[3]) * 0x9E3779B97F4A7C15ull;
  static char buf[1 << 16];
  setvbuf(f, buf, _IOFBF, sizeof buf);
  for (int j = 0; j < F; j++) fprintf(f, "f%d,", j);
  fputs("y\n", f);
  for (long i = 0; i < rows; i++) {
    double x[F], z = 0;
    char line[F * 12 + 8], *p = line;
    for (int j = 0; j < F; j++) {
      long q = lround(gauss() * 1e4);   /* four decimals, written exactly */
      if (q > 99999999) q = 99999999;
      if (q < -99999999) q = -99999999;
      x[j] = (double)q * 1e-4;
      z += w[j] * x[j];
      long a = q < 0 ? -q : q;
      p += sprintf(p, "%s%ld.%04ld,", q < 0 ? "-" : "", a / 10000, a % 10000);
    }
    z += 1.5 * x[0] * x[1] - 1.2 * x[2] * x[3] + fabs(x[4]) - 0.8;
    z += 0.5 * gauss();
    p += sprintf(p, "%d\n", z > 0);
    fwrite(line, 1, (size_t)(p - line), f);
  }
  if (fclose(f)) return perror(argv[1]), 1;
  return 0;
}
