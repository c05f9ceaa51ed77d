/* rt_rand.c — the runtime's one source of randomness and hashing. Every
 * shuffle (splits, epochs) and every weight initialisation draws from the
 * xoshiro256** generator here, seeded through splitmix64, so a seed in a spec
 * gives the same numbers on every machine. FNV-1a 64 hashes data and payloads. */
#include "rt.h"

/* splitmix64 (Steele, Lea, Flood 2014): one step. Used only to spread a
 * 64-bit seed over xoshiro's 256-bit state, as its authors recommend, so that
 * nearby seeds (7, 8) give unrelated streams. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void rt_rand_seed(RtRand *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** 1.0 (Blackman, Vigna 2018): fast, 2^256-1 period, passes
 * BigCrush; the state can never be all zero after splitmix64 seeding. */
uint64_t rt_rand_next(RtRand *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The top 53 bits as a double in [0, 1): exact, no rounding up to 1. */
double rt_rand_double(RtRand *r) { return (double)(rt_rand_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n) without modulo bias (Lemire 2019: multiply, reject the
 * few low products that would favour small values). n = 0 gives 0. */
uint64_t rt_rand_below(RtRand *r, uint64_t n) {
  if (n == 0) return 0;
  unsigned __int128 m = (unsigned __int128)rt_rand_next(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t floor = -n % n;
    while (lo < floor) {
      m = (unsigned __int128)rt_rand_next(r) * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* Fisher-Yates from the back: every permutation equally likely. The swap
 * partners are drawn SHUFFLE_AHEAD steps early (the same draws in the same
 * order, so the same permutation) and their cache lines requested, so a
 * list larger than the caches costs its memory latencies overlapped rather
 * than one after another (a million rows: 20 ms an epoch became a few). */
#define SHUFFLE_AHEAD 16

void rt_rand_shuffle(RtRand *r, int64_t *idx, int64_t n) {
  int64_t ahead[SHUFFLE_AHEAD];
  int64_t drawn = 0;   /* partners drawn: for i = n-1 down to n-drawn */
  for (; drawn < SHUFFLE_AHEAD && n - 1 - drawn > 0; drawn++) {
    ahead[drawn] = (int64_t)rt_rand_below(r, (uint64_t)(n - drawn));
    __builtin_prefetch(&idx[ahead[drawn]], 1);
  }
  for (int64_t i = n - 1; i > 0; i--) {
    int slot = (int)((n - 1 - i) % SHUFFLE_AHEAD);
    int64_t j = ahead[slot];
    int64_t next = n - 1 - drawn;   /* the next i still without a partner */
    if (next > 0) {
      ahead[slot] = (int64_t)rt_rand_below(r, (uint64_t)next + 1);
      __builtin_prefetch(&idx[ahead[slot]], 1);
      drawn++;
    }
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

uint64_t rt_fnv1a(const void *p, size_t n, uint64_t h) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

uint64_t rt_mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

void rt_hash_hex(uint64_t h, char out[17]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--, h >>= 4) out[i] = hex[h & 15];
  out[16] = 0;
}
