/* rt_pool.c — the threads a training step is split across (rt_train.c): a
 * fixed set of workers that run one job's parts at a time, the caller
 * taking part 0 and returning when every part is done. Which part runs on
 * which thread never matters: parts write only their own buffers, and the
 * caller combines them in part order, so results depend only on the count. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "rt.h"

struct RtPool {
  int n;                         /* parts per job, the caller included */
  pthread_t *tid;                /* the n - 1 workers */
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  void (*fn)(void *ctx, int part);
  void *ctx;
  _Atomic uint64_t gen;          /* bumped for each job; workers wait for a new one */
  _Atomic int pending;           /* parts of the current job still running */
  bool quit;
};

typedef struct Worker {
  RtPool *p;
  int part;
} Worker;

/* Jobs come every few hundred microseconds while a model trains: a thread
 * waiting for one spins this many pauses (some tens of microseconds) before
 * it sleeps, since waking a sleeping thread costs as much as a step. Every
 * 64th turn it yields, so a thread that shares its CPU with the one it
 * waits for (a busy machine) lets that one run. */
#define SPIN 20000

static void spin_turn(int i) {
  if ((i & 63) == 63) sched_yield();
  else __builtin_ia32_pause();
}

static void *worker_main(void *arg) {
  Worker w = *(Worker *)arg;
  free(arg);
  RtPool *p = w.p;
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < SPIN && atomic_load(&p->gen) == seen; i++) spin_turn(i);
    pthread_mutex_lock(&p->mu);
    while (!p->quit && atomic_load(&p->gen) == seen) pthread_cond_wait(&p->go, &p->mu);
    if (p->quit) {
      pthread_mutex_unlock(&p->mu);
      break;
    }
    seen = atomic_load(&p->gen);
    void (*fn)(void *, int) = p->fn;
    void *ctx = p->ctx;
    pthread_mutex_unlock(&p->mu);
    fn(ctx, w.part);
    if (atomic_fetch_sub(&p->pending, 1) == 1) {   /* the last part: wake the caller */
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
  return NULL;
}

RtPool *rt_pool_new(int n) {
  RtPool *p = rt_xmalloc(sizeof *p);
  p->n = n < 1 ? 1 : n;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->go, NULL);
  pthread_cond_init(&p->done, NULL);
  p->tid = rt_xmalloc(sizeof(pthread_t) * (size_t)p->n);
  for (int i = 1; i < p->n; i++) {
    Worker *w = rt_xmalloc(sizeof *w);
    *w = (Worker){p, i};
    if (pthread_create(&p->tid[i], NULL, worker_main, w) != 0) {
      free(w);
      p->n = i;   /* fewer threads: the job's parts still all run, see rt_pool_run */
      break;
    }
  }
  return p;
}

int rt_pool_size(const RtPool *p) { return p ? p->n : 1; }

void rt_pool_run(RtPool *p, void (*fn)(void *ctx, int part), void *ctx) {
  if (!p || p->n == 1) {
    fn(ctx, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  atomic_store(&p->pending, p->n - 1);
  atomic_fetch_add(&p->gen, 1);
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  fn(ctx, 0);
  for (int i = 0; i < SPIN && atomic_load(&p->pending) > 0; i++) spin_turn(i);
  pthread_mutex_lock(&p->mu);
  while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

void rt_pool_free(RtPool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->quit = true;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->n; i++) pthread_join(p->tid[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->go);
  pthread_cond_destroy(&p->done);
  free(p->tid);
  free(p);
}
