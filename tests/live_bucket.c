/* live_bucket.c — sticky routing (rt_live.c, issue 6 item 3): rt_bucket is
 * a fixed function of (salt, key) — golden values computed outside mlxc
 * (Python: FNV-1a 64 of salt, 0x00, key; murmur3 fmix64; mod 10000) hold in
 * every process; a bucket that goes to the candidate at weight w stays at
 * every larger weight; over a million keys each weight's share is within
 * five standard deviations and the buckets are uniform (chi-square); two
 * salts route independently. Exits 1 on failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

#include "check.h"

typedef struct Golden {
  const char *salt, *key;
  int bucket;
} Golden;

static const Golden golden[] = {
    {"", "", 2267},
    {"", "a", 3764},
    {"", "user-1", 9229},
    {"", "user-2", 7699},
    {"", "user-42", 7103},
    {"", "req-0001", 9083},
    {"", "\xc3\xbc", 7767},
    {"scorer-canary", "", 1609},
    {"scorer-canary", "a", 5287},
    {"scorer-canary", "user-1", 8493},
    {"scorer-canary", "user-2", 4030},
    {"scorer-canary", "user-42", 7327},
    {"scorer-canary", "req-0001", 341},
    {"scorer-canary", "\xc3\xbc", 691},
    {"v2", "", 3599},
    {"v2", "a", 8714},
    {"v2", "user-1", 9785},
    {"v2", "user-2", 13},
    {"v2", "user-42", 5924},
    {"v2", "req-0001", 9772},
    {"v2", "\xc3\xbc", 3294},
};

#define NKEYS 1000000

int main(void) {
  for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
    const Golden *g = &golden[i];
    int b = rt_bucket(g->key, strlen(g->key), g->salt);
    CHECK(b == g->bucket, "salt '%s' key '%s': bucket %d, expected %d", g->salt, g->key, b,
          g->bucket);
    CHECK(rt_bucket(g->key, strlen(g->key), g->salt) == b, "not stable across calls");
  }
  CHECK(rt_bucket("", 0, NULL) == 2267, "a NULL salt is the empty salt");
  /* the key's bytes, not its C string: an embedded NUL counts */
  CHECK(rt_bucket("a\0b", 3, "") != rt_bucket("a", 1, ""), "length ignored");

  /* weights: edges and monotonicity */
  CHECK(!rt_bucket_candidate(0, 0), "weight 0 routes bucket 0");
  CHECK(rt_bucket_candidate(9999, 100), "weight 100 misses bucket 9999");
  CHECK(rt_bucket_candidate(49, 0.5) && !rt_bucket_candidate(50, 0.5), "0.5%% is buckets 0..49");
  CHECK(!rt_bucket_candidate(0, NAN), "NaN weight routes");
  static const double ws[] = {0, 0.5, 1, 2.5, 5, 10, 12.5, 25, 33.3, 50, 75, 99.99, 100};
  int nw = (int)(sizeof ws / sizeof ws[0]);
  int64_t *in = calloc((size_t)nw, sizeof(int64_t));
  int64_t *count = calloc(RT_BUCKETS, sizeof(int64_t));
  int64_t both = 0, bad_mono = 0;
  char key[32];
  for (int i = 0; i < NKEYS; i++) {
    int n = snprintf(key, sizeof key, "user-%d", i);
    int b = rt_bucket(key, (size_t)n, "scorer-canary");
    if (b < 0 || b >= RT_BUCKETS) {
      CHECK(0, "bucket %d out of range", b);
      break;
    }
    count[b]++;
    bool was = false;
    for (int k = 0; k < nw; k++) {
      bool c = rt_bucket_candidate(b, ws[k]);
      if (was && !c) bad_mono++;
      was = c;
      in[k] += c;
    }
    int b2 = rt_bucket(key, (size_t)n, "other-release");
    both += rt_bucket_candidate(b, 50) && rt_bucket_candidate(b2, 50);
  }
  CHECK(bad_mono == 0, "%lld keys left the candidate as the weight grew", (long long)bad_mono);
  for (int k = 0; k < nw; k++) {
    double p = ws[k] / 100, share = (double)in[k] / NKEYS;
    double sd = sqrt(p * (1 - p) / NKEYS) + 1e-9;
    /* the buckets themselves are fixed: the share expected is floor-exact */
    double exact = ceil(ws[k] * 100) / RT_BUCKETS;
    CHECK(fabs(share - exact) <= 5 * sd + 1e-12, "weight %g%%: share %.5f, expected %.5f",
          ws[k], share, exact);
    printf("weight %6.2f%%: share %.5f\n", ws[k], share);
  }
  double chi = 0, e = (double)NKEYS / RT_BUCKETS;
  for (int b = 0; b < RT_BUCKETS; b++) chi += (count[b] - e) * (count[b] - e) / e;
  /* 9999 degrees of freedom: mean 9999, sd 141 */
  printf("chi-square over %d buckets: %.0f\n", RT_BUCKETS, chi);
  CHECK(chi < 9999 + 6 * 141.4 && chi > 9999 - 6 * 141.4, "chi-square %.0f", chi);
  double p_both = (double)both / NKEYS;
  CHECK(fabs(p_both - 0.25) < 0.005, "two salts at 50%%: %.4f in both, expected 0.25", p_both);
  free(in);
  free(count);
  printf("live_bucket: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
