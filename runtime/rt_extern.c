/* rt_extern.c — calling an `extern fn` (libffi, dlopen), only with
 * --allow-extern (rt_allow_extern):
 *   - ext_call: the constant folder (a const or a folded fn calling it) and
 *     the REPL, at compile time. The library is opened for the call and
 *     closed after it; nothing is cached, so a REPL session sees a rebuilt
 *     library.
 *   - rt_extern_resolve: a feature's EXTERN op (rt.h RtXop): the library is
 *     opened once (RTLD_NOW | RTLD_LOCAL) and (library, function) -> address
 *     cached for the process's lifetime, under a mutex (search trials and
 *     serve's requests run on several threads). The JIT links its calls to
 *     these addresses (jit.c); the interpreter calls them through libffi
 *     (rt_extern_prep, rt_extern_row), the cif prepared once per op and
 *     program run.
 * Only the C types the language has (i32 i64 f32 f64) cross the boundary.
 * Per row, both paths alike (xform_emit.c): an argument is converted to its
 * C type (f64 as is, f32 rounded, i32/i64 truncated toward zero); a NaN or a
 * value the integer type cannot hold skips the call and makes the result
 * NaN; the result comes back as a double. */
#include <dlfcn.h>
#include <ffi.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

bool rt_allow_extern;

/* A C type's letter in a signature (i32 'i', i64 'l', f32 'f', f64 'd'), 0 for none. */
static char letter_of(const char *t) {
  static const char *const names[] = {"i32", "i64", "f32", "f64"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(t, names[i])) return "ilfd"[i];
  return 0;
}

static ffi_type *letter_type(char c) {
  return c == 'i' ? &ffi_type_sint32 : c == 'l' ? &ffi_type_sint64
         : c == 'f' ? &ffi_type_float : &ffi_type_double;
}

/* One argument's storage, whichever C type it has. */
typedef union Slot {
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
} Slot;

static void put(Slot *s, char t, double v) {
  if (t == 'i') s->i32 = (int32_t)v;
  else if (t == 'l') s->i64 = (int64_t)v;
  else if (t == 'f') s->f32 = (float)v;
  else s->f64 = v;
}

/* The result of a call: narrower integers come back in an ffi_arg. */
typedef union Ret {
  ffi_arg word;
  Slot slot;
} Ret;

static double get(const Ret *r, char t) {
  if (t == 'i') return (double)(int32_t)r->word;
  if (t == 'l') return (double)r->slot.i64;
  if (t == 'f') return r->slot.f32;
  return r->slot.f64;
}

int ext_call(const char *lib, const char *sym, int n, const char *const *types,
             const double *args, const char *ret, double *out, char *err, size_t errn) {
  if (n > 16) {
    snprintf(err, errn, "at most 16 arguments cross to C, found %d", n);
    return -1;
  }
  ffi_type *at[16];
  char rl = letter_of(ret);
  Slot slot[16];
  void *vals[16];
  for (int i = 0; i < n; i++) {
    char l = letter_of(types[i]);
    if (!l) {
      snprintf(err, errn, "no C type '%s'", types[i]);
      return -1;
    }
    at[i] = letter_type(l);
    bool integer = l == 'i' || l == 'l';
    double lim = l == 'i' ? 2147483648.0 : 9223372036854775808.0;
    if (integer && (args[i] != floor(args[i]) || args[i] < -lim || args[i] >= lim)) {
      snprintf(err, errn, "argument %d is %.17g, not a whole number that fits %s", i + 1, args[i],
               types[i]);
      return -2;
    }
    put(&slot[i], l, args[i]);
    vals[i] = &slot[i];
  }
  if (!rl) {
    snprintf(err, errn, "no C type '%s'", ret);
    return -1;
  }
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(err, errn, "cannot load library '%s': %s", lib, e ? e : "not found");
    return -3;
  }
  dlerror();
  void *f = dlsym(h, sym);
  if (!f) {
    snprintf(err, errn, "library '%s' has no function '%s'", lib, sym);
    dlclose(h);
    return -4;
  }
  ffi_cif cif;
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)n, letter_type(rl), at) != FFI_OK) {
    snprintf(err, errn, "libffi cannot describe the call");
    dlclose(h);
    return -1;
  }
  Ret r;
  memset(&r, 0, sizeof r);
  ffi_call(&cif, FFI_FN(f), &r, vals);
  dlclose(h);
  *out = get(&r, rl);
  return 0;
}

/* ---- features' calls ----------------------------------------------------- */

/* The resolved functions and opened libraries, never closed: compiled code
 * may hold their addresses until the process ends. */
typedef struct ExtSym {
  struct ExtSym *next;
  char *lib, *sym;   /* sym NULL: the library's handle */
  void *addr;
} ExtSym;

static ExtSym *ext_syms;
static pthread_mutex_t ext_mu = PTHREAD_MUTEX_INITIALIZER;

static ExtSym *ext_find(const char *lib, const char *sym) {
  for (ExtSym *e = ext_syms; e; e = e->next)
    if (!strcmp(e->lib, lib) && (sym ? e->sym && !strcmp(e->sym, sym) : !e->sym)) return e;
  return NULL;
}

static void ext_add(const char *lib, const char *sym, void *addr) {
  ExtSym *e = rt_xmalloc(sizeof *e);
  e->lib = rt_xstrdup(lib);
  e->sym = rt_xstrdup(sym);
  e->addr = addr;
  e->next = ext_syms;
  ext_syms = e;
}

void *rt_extern_resolve(const char *lib, const char *sym, char *err, size_t errn) {
  if (!lib || !*lib || !sym || !*sym) {
    snprintf(err, errn, "an extern call names no library or function");
    return NULL;
  }
  pthread_mutex_lock(&ext_mu);
  void *addr = NULL;
  ExtSym *e = ext_find(lib, sym);
  if (e) {
    addr = e->addr;
    goto out;
  }
  ExtSym *h = ext_find(lib, NULL);
  if (!h) {
    void *hd = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!hd) {
      const char *msg = dlerror();
      snprintf(err, errn, "cannot load library '%s': %s", lib, msg ? msg : "not found");
      goto out;
    }
    ext_add(lib, NULL, hd);
    h = ext_syms;
  }
  dlerror();
  addr = dlsym(h->addr, sym);
  if (!addr) {
    snprintf(err, errn, "library '%s' has no function '%s'", lib, sym);
    goto out;
  }
  ext_add(lib, sym, addr);
out:
  pthread_mutex_unlock(&ext_mu);
  return addr;
}

bool rt_extern_sig_ok(const char *sig) {
  size_t n = sig ? strlen(sig) : 0;
  if (n < 1 || n > 17) return false;
  for (size_t i = 0; i < n; i++)
    if (!strchr("ilfd", sig[i]) || !sig[i]) return false;
  return true;
}

/* One EXTERN op's call, ready for its rows. */
struct RtExtCall {
  ffi_cif cif;
  ffi_type *at[16];
  void *fn;
  int n;           /* arguments */
  char sig[18];
};

RtExtCall *rt_extern_prep(const char *lib, const char *sym, const char *sig) {
  if (!rt_allow_extern || !rt_extern_sig_ok(sig)) return NULL;
  char err[512];
  void *fn = rt_extern_resolve(lib, sym, err, sizeof err);
  if (!fn) return NULL;
  RtExtCall *x = rt_xmalloc(sizeof *x);
  memset(x, 0, sizeof *x);
  x->fn = fn;
  x->n = (int)strlen(sig) - 1;
  memcpy(x->sig, sig, (size_t)x->n + 2);
  for (int i = 0; i < x->n; i++) x->at[i] = letter_type(sig[i]);
  if (ffi_prep_cif(&x->cif, FFI_DEFAULT_ABI, (unsigned)x->n, letter_type(sig[x->n]), x->at) !=
      FFI_OK) {
    free(x);
    return NULL;
  }
  return x;
}

void rt_extern_done(RtExtCall *x) { free(x); }

/* Whether v truncates to an i32 (an i64 when wide): NaN and values out of
 * range do not (xform_emit.c compares the same bounds). */
static bool int_fits(double v, bool wide) {
  if (wide) return v >= -9223372036854775808.0 && v < 9223372036854775808.0;
  return v > -2147483649.0 && v < 2147483648.0;
}

double rt_extern_row(RtExtCall *x, const double *args) {
  if (!x) return NAN;
  Slot slot[16];
  void *vals[16];
  for (int i = 0; i < x->n; i++) {
    char l = x->sig[i];
    if ((l == 'i' || l == 'l') && !int_fits(args[i], l == 'l')) return NAN;
    put(&slot[i], l, args[i]);
    vals[i] = &slot[i];
  }
  Ret r;
  memset(&r, 0, sizeof r);
  ffi_call(&x->cif, FFI_FN(x->fn), &r, vals);
  return get(&r, x->sig[x->n]);
}

int rt_extern_nargs(const char *sig) { return rt_extern_sig_ok(sig) ? (int)strlen(sig) - 1 : 0; }

bool rt_extern_load_check(const RtDataSpec *s, RtLoc at) {
  for (int i = 0; s && s->feats && i < s->n_feats; i++) {
    const RtFeature *f = &s->feats[i];
    for (int k = 0; f->prog && k < f->n_prog; k++) {
      const RtXop *o = &f->prog[k];
      if (o->op != RT_XOP_EXTERN) continue;
      const char *name = f->name ? f->name : f->column ? f->column : "?";
      if (!rt_allow_extern) {
        rt_diag(RT_ERROR, at, "feature '%s' calls extern fn '%s' from '%s': refused without "
                "--allow-extern", name, o->sym, o->lib);
        return false;
      }
      char err[512];
      if (!rt_extern_resolve(o->lib, o->sym, err, sizeof err)) {
        rt_diag(RT_ERROR, at, "feature '%s' calls extern fn '%s': %s", name, o->sym, err);
        return false;
      }
    }
  }
  return true;
}
