/* fuzz_model.c — libFuzzer harness for the .mlxm loader (runtime/rt_model.c
 * rt_model_load_mem, which `mlxc predict` and a built executable's embedded
 * model go through). Whatever the bytes, loading must end in a model or a
 * diagnostic, never a crash, a leak or undefined behaviour; a model that
 * loads is also written back and read again (the two must agree on the
 * parameter count); the checksum is fixed up on a second copy so that
 * mutations reach the payload. Built and run by `make fuzz-model` (tests/fuzz/fuzz.mk),
 * seeded with the examples' trained models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

/* Loads one buffer; a model that loads is saved and read back. */
static void load(const uint8_t *data, size_t size) {
  RtModel *m = rt_model_load_mem(data, size, "fuzz.mlxm");
  if (m) {
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_model.%d.mlxm", (int)getpid());
    int64_t w[RT_MAX_LAYERS], b[RT_MAX_LAYERS];
    if (rt_param_layout(&m->desc, w, b) != m->n_params) abort();   /* the loader checks this */
    if (!rt_model_save(path, m)) {
      RtModel *m2 = rt_model_load(path);
      if (!m2 || m2->n_params != m->n_params || m2->n_classes != m->n_classes) abort();
      rt_model_free(m2);
    }
    unlink(path);
    rt_model_free(m);
  }
  rt_diag_flush();
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Each input twice: as it is (the header checks), and with its payload
 * length and checksum made right (bytes 16-31), so mutations reach the
 * payload's decoder instead of stopping at the checksum. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 22)) return 0;
  load(data, size);
  if (size < 32) return 0;
  uint8_t *fixed = malloc(size);
  if (!fixed) return 0;
  memcpy(fixed, data, size);
  put_u64(fixed + 16, size - 32);
  put_u64(fixed + 24, rt_fnv1a(fixed + 32, size - 32, rt_fnv1a(fixed, 24, RT_FNV_INIT)));
  load(fixed, size);
  free(fixed);
  return 0;
}
