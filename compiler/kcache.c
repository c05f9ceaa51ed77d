/* kcache.c — the kernel cache: jit.c stores the optimized native object of
 * each module it compiles and, on a later run with the same key, loads it
 * instead of optimizing and generating code again. One file per key,
 * DIR/KEY.o: a header (magic, format, key, length, BLAKE3 checksum) and the
 * object bytes, written to a temporary file and renamed into place. A bad
 * entry is a miss; every failure falls back to compiling. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <llvm-c/Core.h>
#include <llvm-c/blake3.h>

#include "mlxc.h"

/* MLXC_BUILD_ID: a hash of the compiler's sources, made by the Makefile. A
 * build without it (the fuzz harness) gets an id no other build shares. */
#if defined(__has_include) && __has_include("build_id.h")
#include "build_id.h"
#endif
#ifndef MLXC_BUILD_ID
#define MLXC_BUILD_ID "unversioned " __DATE__ " " __TIME__
#endif

#define KC_MAGIC "MLXCKOBJ"
#define KC_FORMAT 1u
#define KC_HEADER 88u                 /* magic 8, format 4, header 4, key 32, length 8, sum 32 */
#define KC_MAX ((uint64_t)1 << 30)    /* no kernel object comes near 1 GiB */

bool kcache_disabled;
const char *kcache_spec_hash;

/* One key field: its length first, so no two field lists hash alike. */
static void put_field(llvm_blake3_hasher *h, const void *p, size_t n) {
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)n >> (8 * i));
  llvm_blake3_hasher_update(h, len, sizeof len);
  llvm_blake3_hasher_update(h, p, n);
}

static void put_str(llvm_blake3_hasher *h, const char *s) {
  put_field(h, s ? s : "", s ? strlen(s) : 0);
}

void kcache_key(KcacheKey *k, const char *ir, size_t ir_len, const char *const *target,
                int ntarget) {
  llvm_blake3_hasher h;
  llvm_blake3_hasher_init(&h);
  unsigned maj, min, pat;
  LLVMGetVersion(&maj, &min, &pat);
  char ver[64];
  snprintf(ver, sizeof ver, "%u.%u.%u", maj, min, pat);
  put_str(&h, KC_MAGIC);
  put_str(&h, MLXC_BUILD_ID);
  put_str(&h, ver);
  put_str(&h, kcache_spec_hash);
  for (int i = 0; i < ntarget; i++) put_str(&h, target[i]);
  put_field(&h, ir, ir_len);
  llvm_blake3_hasher_finalize(&h, k->b, sizeof k->b);
  /* The file name: the first 128 bits; the header keeps all 256. */
  for (int i = 0; i < 16; i++) snprintf(k->hex + 2 * i, 3, "%02x", k->b[i]);
}

/* mkdir -p; true when dir exists afterwards. */
static bool make_dirs(const char *dir) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return false;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(buf, 0700);
    *p = '/';
  }
  return !mkdir(buf, 0700) || errno == EEXIST;
}

char *kcache_dir(void) {
  const char *off = getenv("MLXC_CACHE");
  if (kcache_disabled || (off && (!strcmp(off, "off") || !strcmp(off, "0")))) return NULL;
  const char *d = getenv("MLXC_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char buf[4096];
  int n;
  if (d && *d) n = snprintf(buf, sizeof buf, "%s", d);
  else if (x && *x == '/') n = snprintf(buf, sizeof buf, "%s/mlxc", x);
  else if (home && *home) n = snprintf(buf, sizeof buf, "%s/.cache/mlxc", home);
  else return NULL;
  if (n <= 0 || n >= (int)sizeof buf - 64) return NULL;   /* room for "/KEY.o.XXXXXX" */
  return strdup(buf);
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* The checksum covers the header up to itself and the object bytes. */
static void checksum(const uint8_t *hdr, const void *obj, size_t len, uint8_t out[32]) {
  llvm_blake3_hasher h;
  llvm_blake3_hasher_init(&h);
  llvm_blake3_hasher_update(&h, hdr, 56);
  llvm_blake3_hasher_update(&h, obj, len);
  llvm_blake3_hasher_finalize(&h, out, 32);
}

static void entry_path(char *buf, size_t cap, const char *dir, const KcacheKey *k) {
  snprintf(buf, cap, "%s/%s.o", dir, k->hex);
}

/* Reads all of fd (size bytes) into a new buffer; NULL when short. */
static uint8_t *read_all(int fd, size_t size) {
  uint8_t *buf = malloc(size ? size : 1);
  size_t got = 0;
  while (buf && got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      free(buf);
      return NULL;
    }
    got += (size_t)r;
  }
  return buf;
}

void *kcache_load(const char *dir, const KcacheKey *k, size_t *len, const char **why) {
  char path[4160];
  entry_path(path, sizeof path, dir, k);
  *why = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) *why = strerror(errno);
    return NULL;
  }
  struct stat st;
  uint8_t *buf = NULL;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) *why = "not a regular file";
  else if ((uint64_t)st.st_size < KC_HEADER || (uint64_t)st.st_size > KC_MAX + KC_HEADER)
    *why = "truncated or oversized";
  else if (!(buf = read_all(fd, (size_t)st.st_size))) *why = "cannot read it";
  close(fd);
  if (!buf) return NULL;
  size_t size = (size_t)st.st_size;
  uint8_t sum[32];
  if (memcmp(buf, KC_MAGIC, 8)) *why = "not a kernel cache entry";
  else if (get_u32(buf + 8) != KC_FORMAT || get_u32(buf + 12) != KC_HEADER)
    *why = "another cache format";
  else if (memcmp(buf + 16, k->b, 32)) *why = "made for another key";
  else if (get_u64(buf + 48) != size - KC_HEADER) *why = "truncated";
  else if (checksum(buf, buf + KC_HEADER, size - KC_HEADER, sum), memcmp(sum, buf + 56, 32))
    *why = "bad checksum";
  if (*why) {
    free(buf);
    return NULL;
  }
  memmove(buf, buf + KC_HEADER, size - KC_HEADER);
  *len = size - KC_HEADER;
  return buf;
}

static bool write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= (size_t)w;
  }
  return true;
}

int kcache_store(const char *dir, const KcacheKey *k, const void *obj, size_t len,
                 const char **why) {
  *why = NULL;
  if (len > KC_MAX) {
    *why = "object too large";
    return -1;
  }
  if (!make_dirs(dir)) {
    *why = strerror(errno);
    return -1;
  }
  uint8_t hdr[KC_HEADER];
  memcpy(hdr, KC_MAGIC, 8);
  put_u32(hdr + 8, KC_FORMAT);
  put_u32(hdr + 12, KC_HEADER);
  memcpy(hdr + 16, k->b, 32);
  put_u64(hdr + 48, len);
  checksum(hdr, obj, len, hdr + 56);
  char path[4160], tmp[4176];
  entry_path(path, sizeof path, dir, k);
  snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
  /* A unique temporary name, then rename: readers see the whole entry or
   * none, also when processes or threads store the same key at once. */
  int fd = mkstemp(tmp);
  if (fd < 0) {
    *why = strerror(errno);
    return -1;
  }
  bool ok = write_all(fd, hdr, sizeof hdr) && write_all(fd, obj, len);
  int err = errno;
  if (close(fd) && ok) {
    ok = false;
    err = errno;
  }
  if (ok && rename(tmp, path)) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    unlink(tmp);
    *why = strerror(err);
    return -1;
  }
  return 0;
}
