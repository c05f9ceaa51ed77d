/* extcall.c — calling an `extern fn` at compile time through libffi: the
 * constant folder (a const or a folded fn calling it) and the REPL. The
 * library is opened for the call and closed after it; nothing is cached,
 * so a REPL session sees a rebuilt library. Only the C types the language
 * has (i32 i64 f32 f64) cross the boundary. */
#include <dlfcn.h>
#include <ffi.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mlxc.h"

bool sema_allow_extern;

static ffi_type *ctype(const char *t) {
  if (!strcmp(t, "i32")) return &ffi_type_sint32;
  if (!strcmp(t, "i64")) return &ffi_type_sint64;
  if (!strcmp(t, "f32")) return &ffi_type_float;
  if (!strcmp(t, "f64")) return &ffi_type_double;
  return NULL;
}

/* One argument's storage, whichever C type it has. */
typedef union Slot {
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
} Slot;

static void put(Slot *s, const char *t, double v) {
  if (!strcmp(t, "i32")) s->i32 = (int32_t)v;
  else if (!strcmp(t, "i64")) s->i64 = (int64_t)v;
  else if (!strcmp(t, "f32")) s->f32 = (float)v;
  else s->f64 = v;
}

static double get(const Slot *s, const char *t) {
  if (!strcmp(t, "i32")) return s->i32;
  if (!strcmp(t, "i64")) return (double)s->i64;
  if (!strcmp(t, "f32")) return s->f32;
  return s->f64;
}

int ext_call(const char *lib, const char *sym, int n, const char *const *types,
             const double *args, const char *ret, double *out, char *err, size_t errn) {
  if (n > 16) {
    snprintf(err, errn, "at most 16 arguments cross to C, found %d", n);
    return -1;
  }
  ffi_type *at[16], *rt = ctype(ret);
  Slot slot[16], result;
  void *vals[16];
  for (int i = 0; i < n; i++) {
    if (!(at[i] = ctype(types[i]))) {
      snprintf(err, errn, "no C type '%s'", types[i]);
      return -1;
    }
    bool integer = types[i][0] == 'i';
    double lim = types[i][1] == '3' ? 2147483648.0 : 9223372036854775808.0;
    if (integer && (args[i] != floor(args[i]) || args[i] < -lim || args[i] >= lim)) {
      snprintf(err, errn, "argument %d is %.17g, not a whole number that fits %s", i + 1, args[i],
               types[i]);
      return -2;
    }
    put(&slot[i], types[i], args[i]);
    vals[i] = &slot[i];
  }
  if (!rt) {
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
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)n, rt, at) != FFI_OK) {
    snprintf(err, errn, "libffi cannot describe the call");
    dlclose(h);
    return -1;
  }
  /* integer results narrower than a register come back in an ffi_arg */
  union {
    ffi_arg word;
    Slot slot;
  } r;
  memset(&r, 0, sizeof r);
  ffi_call(&cif, FFI_FN(f), &r, vals);
  if (!strcmp(ret, "i32")) result.i32 = (int32_t)r.word;
  else result = r.slot;
  dlclose(h);
  *out = get(&result, ret);
  return 0;
}
