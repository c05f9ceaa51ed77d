/* rt_out.h — the little-endian writer and reader of the .mlxm payloads:
 * a growing buffer, integers low byte first, doubles as their bits, strings
 * as u32 length + bytes (0xffffffff: none); the reader's first failure
 * sticks and names the field. rt_model.c (the model), rt_xform.c (the
 * preprocessing) and rt_live.c (the training distributions) read with In;
 * rt_model.c keeps its own writer, which reports running out of memory
 * where Out exits. */
#ifndef RT_OUT_H
#define RT_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rt.h"

typedef struct Out {
  unsigned char *p;
  size_t len, cap;
} Out;

static inline void out_put(Out *o, const void *p, size_t n) {
  if (o->len + n > o->cap) {
    o->cap = (o->len + n) * 2 + 256;
    o->p = rt_xrealloc(o->p, o->cap);
  }
  memcpy(o->p + o->len, p, n);
  o->len += n;
}

static inline void out_u32(Out *o, uint32_t v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 24)};
  out_put(o, b, 4);
}

static inline void out_u8(Out *o, unsigned v) {
  unsigned char b = (unsigned char)v;
  out_put(o, &b, 1);
}

static inline void out_f64(Out *o, double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  out_u32(o, (uint32_t)u);
  out_u32(o, (uint32_t)(u >> 32));
}

static inline void out_str(Out *o, const char *s) {
  if (!s) {
    out_u32(o, 0xffffffffu);
    return;
  }
  out_u32(o, (uint32_t)strlen(s));
  out_put(o, s, strlen(s));
}

/* Eight bytes, low first. */
static inline void out_u64(Out *o, uint64_t v) {
  out_u32(o, (uint32_t)v);
  out_u32(o, (uint32_t)(v >> 32));
}


/* ---- reading ---- */

/* A cursor over the blob; the first failure sticks and names the field. */
typedef struct In {
  const unsigned char *p;
  size_t len, at;
  const char *bad;
} In;

static inline bool in_take(In *r, size_t n, const char *what) {
  if (r->bad) return false;
  if (n > r->len - r->at) {
    r->bad = what;
    return false;
  }
  return true;
}

static inline uint32_t in_u32(In *r, const char *what) {
  if (!in_take(r, 4, what)) return 0;
  const unsigned char *b = r->p + r->at;
  r->at += 4;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline unsigned in_u8(In *r, const char *what, unsigned max) {
  if (!in_take(r, 1, what)) return 0;
  unsigned v = r->p[r->at++];
  if (v > max) r->bad = what;
  return v > max ? 0 : v;
}

/* Eight bytes, low first. */
static inline uint64_t in_u64(In *r, const char *what) {
  uint64_t lo = in_u32(r, what), hi = in_u32(r, what);
  return lo | hi << 32;
}

static inline double in_f64(In *r, const char *what) {
  uint64_t u = in_u64(r, what);
  double d;
  memcpy(&d, &u, 8);
  return d;
}

static inline char *in_str(In *r, const char *what) {
  uint32_t n = in_u32(r, what);
  if (r->bad || n == 0xffffffffu) return NULL;
  if (!in_take(r, n, what)) return NULL;
  if (memchr(r->p + r->at, 0, n)) {
    r->bad = what;
    return NULL;
  }
  char *s = rt_xmalloc((size_t)n + 1);
  memcpy(s, r->p + r->at, n);
  s[n] = 0;
  r->at += n;
  return s;
}

/* A count of items of at least `each` bytes, bounded by what is left. */
static inline uint32_t in_count(In *r, size_t each, const char *what) {
  uint32_t n = in_u32(r, what);
  if (!r->bad && (size_t)n > (r->len - r->at) / each) {
    r->bad = what;
    return 0;
  }
  return n;
}

#endif
