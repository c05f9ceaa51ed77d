/* kcache_check.c — the kernel cache below the command line: an entry whose
 * header and checksum are right but whose object LLVM cannot link (garbage,
 * a truncated object) is a quiet miss: jit_compile reports no error, compiles
 * anew, predicts the same and rewrites the entry; the key follows the model,
 * the target fields and the spec hash. Exits 1 on failure. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#include "jit_util.h"

static char dir[256];

/* The only entry in the cache directory: its key read back from the header
 * (offset 16, 32 bytes) and the object bytes. */
static bool only_entry(KcacheKey *k, void **obj, size_t *len) {
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  int n = 0;
  char name[64] = "";
  while ((e = readdir(d)))
    if (strlen(e->d_name) == 34 && !strcmp(e->d_name + 32, ".o")) {
      n++;
      memcpy(name, e->d_name, 35);   /* 32 hex digits, ".o", NUL */
    }
  closedir(d);
  if (n != 1) return false;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  uint8_t hdr[88];
  bool ok = fread(hdr, 1, sizeof hdr, f) == sizeof hdr;
  fclose(f);
  memcpy(k->b, hdr + 16, 32);
  snprintf(k->hex, sizeof k->hex, "%.32s", name);
  const char *why = NULL;
  *obj = ok ? kcache_load(dir, k, len, &why) : NULL;
  return *obj != NULL;
}

static void predict(const Compiled *c, float *out) {
  int np = (int)c->k.n_params;
  float *p = malloc(sizeof(float) * (size_t)np), *work = malloc(sizeof(float) * (size_t)c->k.n_work);
  float x[13 * 5];
  for (int i = 0; i < np; i++) p[i] = (float)((i * 37 % 17) - 8) / 8.0f;
  for (int i = 0; i < 13 * 5; i++) x[i] = (float)((i * 11 % 7) - 3) / 2.0f;
  c->k.predict(p, work, x, 13, out);
  free(p), free(work);
}

/* A forged entry: the right key and checksum around bytes LLVM refuses. */
static void check_forged(const RtModelDesc *m, const RtTrainCfg *cfg, const float *want,
                         const void *obj, size_t len, const KcacheKey *k, const char *what) {
  const char *why = NULL;
  CHECK(kcache_store(dir, k, obj, len, &why) == 0, "%s: cannot store: %s", what, why);
  int errs = rt_diag_errors();
  Compiled c;
  bool ok = compile(&c, m, cfg, false);
  CHECK(ok, "%s: did not compile", what);
  CHECK(rt_diag_errors() == errs, "%s: reported an error", what);
  if (ok) {
    float out[13 * 3];
    predict(&c, out);
    CHECK(!memcmp(out, want, sizeof out), "%s: predictions differ", what);
  }
  release(&c);
  KcacheKey k2;
  void *o2 = NULL;
  size_t l2 = 0;
  CHECK(only_entry(&k2, &o2, &l2) && (l2 != len || memcmp(o2, obj, len)),
        "%s: the entry was not rewritten", what);
  free(o2);
  printf("forged entry (%s) ok\n", what);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/mlxc-kcache-check-%d", (int)getpid());
  setenv("MLXC_CACHE_DIR", dir, 1);
  unsetenv("MLXC_CACHE");
  RtModelDesc m = {.name = "net", .n_in = 5, .n_layers = 2, .loss = RT_LOSS_CE,
                   .layers = {{7, RT_ACT_TANH}, {3, RT_ACT_SOFTMAX}}};
  RtTrainCfg cfg = {.name = "t", .opt = RT_OPT_ADAM, .batch = 8};
  Compiled c;
  float want[13 * 3], got[13 * 3];
  CHECK(compile(&c, &m, &cfg, false), "cold: did not compile");
  predict(&c, want);
  release(&c);
  KcacheKey k;
  void *obj = NULL;
  size_t len = 0;
  CHECK(only_entry(&k, &obj, &len), "cold: no single entry in %s", dir);
  if (obj) {
    CHECK(compile(&c, &m, &cfg, false), "warm: did not compile");
    predict(&c, got);
    CHECK(!memcmp(got, want, sizeof got), "warm: predictions differ");
    release(&c);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 131 + 7);
    check_forged(&m, &cfg, want, junk, sizeof junk, &k, "garbage");
    check_forged(&m, &cfg, want, obj, len / 2, &k, "half an object");
    check_forged(&m, &cfg, want, "\177ELF", 4, &k, "an ELF magic alone");
  }
  free(obj);

  /* The key: each field counts, and the field boundaries do too. */
  const char *t1[] = {"x86_64", "znver4", "+avx2", "codegen"};
  const char *t2[] = {"x86_64", "znver3", "+avx2", "codegen"};
  const char *t3[] = {"x86_64", "znver4+", "avx2", "codegen"};
  KcacheKey a, b;
  kcache_key(&a, "ir", 2, t1, 4);
  kcache_key(&b, "ir", 2, t1, 4);
  CHECK(!memcmp(a.b, b.b, 32) && !strcmp(a.hex, b.hex), "the same fields give another key");
  kcache_key(&b, "ir ", 3, t1, 4);
  CHECK(memcmp(a.b, b.b, 32), "another IR gives the same key");
  kcache_key(&b, "ir", 2, t2, 4);
  CHECK(memcmp(a.b, b.b, 32), "another CPU gives the same key");
  kcache_key(&b, "ir", 2, t3, 4);
  CHECK(memcmp(a.b, b.b, 32), "moved field boundaries give the same key");
  kcache_spec_hash = "0123456789abcdef";
  kcache_key(&b, "ir", 2, t1, 4);
  CHECK(memcmp(a.b, b.b, 32), "another spec hash gives the same key");
  kcache_spec_hash = NULL;
  CHECK(strlen(a.hex) == 32, "key name '%s'", a.hex);

  /* Off: no directory, so nothing is read or written. */
  setenv("MLXC_CACHE", "off", 1);
  CHECK(!kcache_dir(), "MLXC_CACHE=off still gives a directory");
  unsetenv("MLXC_CACHE");
  kcache_disabled = true;
  CHECK(!kcache_dir(), "--no-cache still gives a directory");
  kcache_disabled = false;

  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0, "cannot remove %s", dir);
  printf("%d checks, %d failed\n", checks, failures);
  return failures != 0;
}
