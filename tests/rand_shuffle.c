/* rand_shuffle.c — rt_rand_shuffle draws its swap partners ahead of the
 * swaps (to overlap memory latencies): it must give exactly the permutation
 * of plain Fisher-Yates with the same draws, for short and long lists, and
 * leave the generator where plain Fisher-Yates leaves it. Exits 1 on failure. */
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

#include "check.h"

static void plain(RtRand *r, int64_t *idx, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)rt_rand_below(r, (uint64_t)i + 1);
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

int main(void) {
  const int64_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 33, 1000, 100003};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    int64_t n = sizes[s];
    int64_t *a = malloc(sizeof(int64_t) * (size_t)(n + 1)), *b = malloc(sizeof(int64_t) * (size_t)(n + 1));
    for (uint64_t seed = 1; seed <= 3; seed++) {
      for (int64_t i = 0; i < n; i++) a[i] = b[i] = i;
      RtRand ra, rb;
      rt_rand_seed(&ra, seed);
      rt_rand_seed(&rb, seed);
      rt_rand_shuffle(&ra, a, n);
      plain(&rb, b, n);
      CHECK(!memcmp(a, b, sizeof(int64_t) * (size_t)n), "n %lld seed %llu: another permutation",
            (long long)n, (unsigned long long)seed);
      CHECK(rt_rand_next(&ra) == rt_rand_next(&rb), "n %lld seed %llu: generator left elsewhere",
            (long long)n, (unsigned long long)seed);
    }
    free(a);
    free(b);
  }
  printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
