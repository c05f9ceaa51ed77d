/* machine.c — what the hardware allows, for bench/train/run.sh: a STREAM-like
 * triad (a[i] = b[i] + s * c[i], three float arrays of N each, well past the
 * last-level cache; bytes counted as 12 per element, write-allocate not
 * counted) and an FP32 FMA peak (independent fused multiply-adds on 12
 * AVX-512 registers, AVX2 where there is no AVX-512), each on 1 and on T
 * threads; best of 5. Prints one line of key=value pairs.
 *   machine [THREADS] [N]        cc -O3 -march=native -pthread */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static float *A, *B, *C;
static long N;
static int T;
static pthread_barrier_t bar;
static double sink[64];
static volatile float mul = 0.999999f, add = 1e-7f;   /* not constants */

#ifdef __AVX512F__
typedef __m512 V;
#define VW 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define HSUM(v) _mm512_reduce_add_ps(v)
#else
typedef __m256 V;
#define VW 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float HSUM(__m256 v) {
  float f[8];
  _mm256_storeu_ps(f, v);
  return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
}
#endif
enum { FMA_ITERS = 200000000 / VW };

typedef struct { int id, n, mode; double t; } Job;

static void *work(void *p) {
  Job *j = p;
  pthread_barrier_wait(&bar);
  double t0 = now();
  if (j->mode == 0) {
    long lo = N * j->id / j->n, hi = N * (j->id + 1) / j->n;
    float *restrict a = A, *restrict b = B, *restrict c = C;
    for (long i = lo; i < hi; i++) a[i] = b[i] + 3.0f * c[i];
  } else {
    /* twelve different chains (equal ones would be merged by the compiler) */
    float f = 1.0f + (float)j->id;
    V x0 = SET1(f), x1 = SET1(f + 0.01f), x2 = SET1(f + 0.02f), x3 = SET1(f + 0.03f),
      x4 = SET1(f + 0.04f), x5 = SET1(f + 0.05f), x6 = SET1(f + 0.06f), x7 = SET1(f + 0.07f),
      x8 = SET1(f + 0.08f), x9 = SET1(f + 0.09f), x10 = SET1(f + 0.10f), x11 = SET1(f + 0.11f),
      m = SET1(mul), k = SET1(add);
    for (long i = 0; i < FMA_ITERS; i++) {
      x0 = FMA(x0, m, k); x1 = FMA(x1, m, k); x2 = FMA(x2, m, k); x3 = FMA(x3, m, k);
      x4 = FMA(x4, m, k); x5 = FMA(x5, m, k); x6 = FMA(x6, m, k); x7 = FMA(x7, m, k);
      x8 = FMA(x8, m, k); x9 = FMA(x9, m, k); x10 = FMA(x10, m, k); x11 = FMA(x11, m, k);
    }
    V s = x0;
    s = s + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;
    sink[j->id] = HSUM(s);
  }
  j->t = now() - t0;
  return NULL;
}

/* the slowest thread's time, best of 5 */
static double run(int n, int mode) {
  double best = 1e30;
  for (int r = 0; r < 5; r++) {
    pthread_t th[64];
    Job jobs[64];
    pthread_barrier_init(&bar, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
      jobs[i] = (Job){i, n, mode, 0};
      pthread_create(&th[i], NULL, work, &jobs[i]);
    }
    double t = 0;
    for (int i = 0; i < n; i++) {
      pthread_join(th[i], NULL);
      if (jobs[i].t > t) t = jobs[i].t;
    }
    pthread_barrier_destroy(&bar);
    if (t < best) best = t;
  }
  return best;
}

int main(int argc, char **argv) {
  T = argc > 1 ? atoi(argv[1]) : 2;
  N = argc > 2 ? atol(argv[2]) : 80000000L;
  if (T < 1 || T > 64 || N < 1000) return fprintf(stderr, "usage: machine [THREADS] [N]\n"), 2;
  A = aligned_alloc(64, (size_t)N * 4), B = aligned_alloc(64, (size_t)N * 4),
  C = aligned_alloc(64, (size_t)N * 4);
  if (!A || !B || !C) return fprintf(stderr, "machine: out of memory\n"), 1;
  for (long i = 0; i < N; i++) A[i] = 0, B[i] = (float)(i & 1023), C[i] = 1.0f;
  double bw1 = 12.0 * (double)N / run(1, 0) / 1e9, bwT = 12.0 * (double)N / run(T, 0) / 1e9;
  double fl = 2.0 * 12 * VW * (double)FMA_ITERS;
  double pk1 = fl / run(1, 1) / 1e9, pkT = fl * T / run(T, 1) / 1e9;
  printf("simd=%d triad_GBs_1t=%.2f triad_GBs_%dt=%.2f fma_GFLOPs_1t=%.1f fma_GFLOPs_%dt=%.1f check=%g\n",
         VW * 32, bw1, T, bwT, pk1, T, pkT, sink[0] + A[N / 2]);
  return 0;
}
