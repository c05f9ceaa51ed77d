/* metrics_determinism.c — `mlxc run` twice on tests/train/determinism.mlx
 * with the same seed: the two .mlxm files must hold bit-identical weights
 * and the two metrics.json files must be equal but for "timing" and the
 * measured latencies "predict" (the .mlxm embeds the same JSON, checked the
 * same way). $MLXC names the binary
 * (build/mlxc by default). Run from the repository root. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

#define SPEC "tests/train/determinism.mlx"

static char dir[64];

static int run_into(const char *sub) {
  const char *mlxc = getenv("MLXC") ? getenv("MLXC") : "build/mlxc";
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s run %s --out %s/%s > %s/%s.log 2>&1", mlxc, SPEC, dir, sub, dir,
           sub);
  return system(cmd);
}

/* The JSON text without its "timing" member; NULL when unreadable. */
static json_t *untimed(const char *text) {
  json_error_t je;
  json_t *j = text ? json_loads(text, 0, &je) : NULL;
  if (j) json_object_del(j, "timing");
  if (j) json_object_del(j, "predict");   /* one-row latencies, measured */
  return j;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = calloc(1, 1 << 20);
  if (buf) buf[fread(buf, 1, (1 << 20) - 1, f)] = 0;
  fclose(f);
  return buf;
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/mlxc_det_XXXXXX");
  if (!mkdtemp(dir)) return 1;
  CHECK(run_into("a") == 0, "first run failed (see %s/a.log)", dir);
  CHECK(run_into("b") == 0, "second run failed (see %s/b.log)", dir);
  char pa[128], pb[128];
  snprintf(pa, sizeof pa, "%s/a/twice.mlxm", dir);
  snprintf(pb, sizeof pb, "%s/b/twice.mlxm", dir);
  RtModel *a = rt_model_load(pa), *b = rt_model_load(pb);
  CHECK(a && b, "models load");
  if (a && b) {
    CHECK(a->n_params == b->n_params && a->n_params > 100 &&
              !memcmp(a->params, b->params, sizeof(float) * (size_t)a->n_params),
          "weights differ (%lld, %lld parameters)", (long long)a->n_params,
          (long long)b->n_params);
    json_t *ja = untimed(a->metrics_json), *jb = untimed(b->metrics_json);
    CHECK(ja && jb && json_equal(ja, jb), "embedded metrics differ");
    json_decref(ja);
    json_decref(jb);
  }
  rt_model_free(a);
  rt_model_free(b);
  snprintf(pa, sizeof pa, "%s/a/twice.metrics.json", dir);
  snprintf(pb, sizeof pb, "%s/b/twice.metrics.json", dir);
  char *ta = slurp(pa), *tb = slurp(pb);
  json_t *ja = untimed(ta), *jb = untimed(tb);
  CHECK(ja && jb && json_equal(ja, jb), "metrics.json differ:\n%s\n---\n%s", ta, tb);
  /* the run did use what it tests: a schedule and early stopping's fields */
  if (ja) {
    json_t *h = json_object_get(ja, "history");
    CHECK(json_array_size(h) >= 3 && json_object_get(ja, "stopped_epoch") &&
              json_integer_value(json_object_get(ja, "best_epoch")) >= 1,
          "history %zu epochs", json_array_size(h));
  }
  json_decref(ja);
  json_decref(jb);
  free(ta);
  free(tb);
  if (!failures) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
  }
  printf("metrics_determinism: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
