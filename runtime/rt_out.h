/* rt_out.h — the little-endian writer of the .mlxm payloads (rt_xform.c's
 * preprocessing, rt_live.c's training distributions): a growing buffer,
 * integers low byte first, doubles as their bits, strings as u32 length +
 * bytes (0xffffffff: none). */
#ifndef RT_OUT_H
#define RT_OUT_H

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

#endif
