/* xform_values.c — mlxc's transforms against scikit-learn. Checks and loads
 * tests/xform/values.mlx (split forced to train 100%, so every row is
 * fitted on), then compares each input with tests/xform/values_expected.csv
 * (StandardScaler, MinMaxScaler, OneHotEncoder, SimpleImputer, np.clip,
 * np.digitize; made once by make_expected.py) to 1e-6, relative above 1.
 * Then freezes the statistics into a .mlxm, loads it back and runs
 * rt_data_apply (the predict path) on the same CSV: every value must equal
 * the training matrix bit for bit. Run from the repository root. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/mlxc.h"

#include "check.h"

#define MAXC 32
#define MAXR 1024

/* The expected matrix: names[0] is rowid, row r's values in val[r]. */
static char names[MAXC][64];
static int ncol;
static double val[MAXR][MAXC];
static int nrow;

static bool read_expected(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    int k = 0;
    for (char *t = strtok(line, ","); t && k < MAXC; t = strtok(NULL, ","), k++) {
      if (ncol == 0 || nrow < 0) snprintf(names[k], sizeof names[k], "%s", t);
      else val[nrow][k] = strtod(t, NULL);
    }
    if (ncol == 0) {
      ncol = k;
      nrow = 0;
      continue;
    }
    if (++nrow == MAXR) break;
  }
  fclose(f);
  return ncol > 1 && nrow > 0;
}

static bool close_to(double got, double want) {
  return fabs(got - want) <= 1e-6 * (fabs(want) > 1 ? fabs(want) : 1);
}

/* Every byte of the transforms part of a saved model flipped (checksum
 * fixed up so the reader gets that far): the model is refused, or it loads
 * and predict runs; nothing crashes (run under `make asan`). */
static void corrupt_blob(const char *path, size_t blob_len) {
  FILE *f = fopen(path, "rb");
  static unsigned char buf[1 << 20], mod[1 << 20];
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  CHECK(n > 32 + blob_len && n < sizeof buf, "model file of %zu bytes", n);
  if (n <= 32 + blob_len || n >= sizeof buf) return;
  char bad[600];
  snprintf(bad, sizeof bad, "%s.bad", path);
  fflush(stderr);
  int saved = dup(2);
  FILE *null = fopen("/dev/null", "w");
  dup2(fileno(null), 2);
  int loaded = 0, refused = 0;
  static const unsigned char masks[] = {0x01, 0x80, 0xff};
  for (size_t at = n - blob_len; at < n; at++)
    for (int k = 0; k < 3; k++) {
      memcpy(mod, buf, n);
      mod[at] ^= masks[k];
      uint64_t sum = rt_fnv1a(mod + 32, n - 32, rt_fnv1a(mod, 24, RT_FNV_INIT));
      for (int i = 0; i < 8; i++) mod[24 + i] = (unsigned char)(sum >> (8 * i));
      FILE *o = fopen(bad, "wb");
      fwrite(mod, 1, n, o);
      fclose(o);
      RtModel *m = rt_model_load(bad);
      if (!m) {
        refused++;
        continue;
      }
      loaded++;
      RtSplit out;
      if (rt_data_apply(m->data, "tests/xform/values.csv", RT_TASK_REGRESSION, NULL, 0, true,
                        &out) == 0)
        rt_split_free(&out);
      rt_model_free(m);
    }
  rt_diag_flush();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  fclose(null);
  unlink(bad);
  CHECK(refused > 0, "no corrupted model was refused");
  printf("corrupted transforms: %d refused, %d loaded (and predicted without a crash)\n",
         refused, loaded);
}

/* A model file of format 1.0 (before transforms): the 1.3 file without its
 * trailing blob, header patched. It must load, its plain feature turned into
 * the equivalent program (COLUMN, standardize with the stored statistics). */
static void old_minor(const char *path, const char *dir) {
  RtFeature f = {.name = "x", .column = "x", .xform = RT_XF_STANDARDIZE, .mean = 2, .std = 4};
  RtDataSpec spec = {.name = "d", .csv_path = "d.csv", .feats = &f, .n_feats = 1, .label = "y"};
  RtModelDesc desc = {.name = "m", .n_in = 1, .n_layers = 1, .layers = {{1, RT_ACT_IDENTITY}},
                      .loss = RT_LOSS_MSE, .task = RT_TASK_REGRESSION};
  float params[2] = {0.5f, 0.25f};
  RtModel *m = rt_model_new(&desc, &spec, 0, NULL, params, 2, "0", "{}");
  CHECK(m && rt_model_save(path, m) == 0, "save");
  size_t blob_len;
  unsigned char *blob = rt_xform_encode(m->data, &blob_len);
  free(blob);
  size_t dist_len;   /* minor 3: u32 length + the training distributions */
  blob = rt_live_dist_encode(m->data, &dist_len);
  free(blob);
  rt_model_free(m);
  static unsigned char buf[1 << 16];
  FILE *fp = fopen(path, "rb");
  size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
  if (fp) fclose(fp);
  /* minor 1's transforms blob, then minor 2's 3 bytes of CSV shape, then
   * minor 3's distributions */
  size_t tail = 4 + blob_len + 3 + 4 + dist_len;
  /* (minor 4 adds nothing to a file without extern calls) */
  CHECK(n > 32 + tail && buf[10] == RT_MODEL_MINOR, "a 1.%d file of %zu bytes", RT_MODEL_MINOR, n);
  if (n <= 32 + tail) return;
  n -= tail;
  buf[10] = 0, buf[11] = 0;   /* minor 0 */
  uint64_t plen = n - 32;
  for (int i = 0; i < 8; i++) buf[16 + i] = (unsigned char)(plen >> (8 * i));
  uint64_t sum = rt_fnv1a(buf + 32, plen, rt_fnv1a(buf, 24, RT_FNV_INIT));
  for (int i = 0; i < 8; i++) buf[24 + i] = (unsigned char)(sum >> (8 * i));
  char old[600];
  snprintf(old, sizeof old, "%s/old.mlxm", dir);
  fp = fopen(old, "wb");
  fwrite(buf, 1, n, fp);
  fclose(fp);
  RtModel *back = rt_model_load(old);
  rt_diag_flush();
  const RtFeature *bf = back ? &back->data->feats[0] : NULL;
  CHECK(bf && back->data->n_feats == 1 && bf->n_prog == 2 && bf->prog[0].op == RT_XOP_COL &&
            !strcmp(bf->prog[0].column, "x") && bf->prog[1].op == RT_XOP_STANDARDIZE &&
            bf->prog[1].a == 2 && bf->prog[1].b == 4,
        "a 1.0 model file does not load its plain feature as a program");
  rt_model_free(back);
  unlink(old);
  unlink(path);
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[1 << 16];
  *len = fread(buf, 1, sizeof buf - 1, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

int main(void) {
  const char *spec_path = "tests/xform/values.mlx";
  CHECK(read_expected("tests/xform/values_expected.csv"), "cannot read the expected values");
  Arena a = {0};
  size_t len = 0;
  char *text = read_all(spec_path, &len);
  CHECK(text != NULL, "cannot read %s", spec_path);
  if (!text) return 1;
  uint32_t file = src_add(spec_path, arena_strndup(&a, text, len), len);
  Ast *ast = parse_source(&a, file);
  bool data_error = false;
  Program *p = sema_check(&a, ast, SEMA_RUN, &data_error);
  CHECK(p && p->ntrains == 1, "the spec does not check");
  if (!p || p->ntrains != 1) return 1;
  RtDataSpec *spec = p->trains[0].data;
  spec->split[0] = 1, spec->split[1] = spec->split[2] = 0;
  RtData *d = rt_data_load(spec, RT_TASK_REGRESSION);
  rt_diag_flush();
  CHECK(d != NULL, "the data does not load");
  if (!d) return 1;
  int nf = d->n_feats;
  CHECK(nf == ncol - 1, "%d inputs, expected %d", nf, ncol - 1);
  for (int i = 0; i < nf && i + 1 < ncol; i++)
    CHECK(!strcmp(d->feat_names[i], names[i + 1]), "input %d is '%s', expected '%s'", i,
          d->feat_names[i], names[i + 1]);
  const RtSplit *tr = &d->split[0];
  CHECK(tr->n == nrow, "%lld train rows, expected %d", (long long)tr->n, nrow);
  if (nf != ncol - 1 || tr->n != nrow) return 1;

  /* the training matrix against scikit-learn; by_id[row id] = its train row */
  int64_t by_id[MAXR];
  for (int64_t r = 0; r < tr->n; r++) {
    int id = (int)tr->y[r];
    CHECK(id >= 0 && id < nrow, "row id %d", id);
    if (id < 0 || id >= nrow) return 1;
    by_id[id] = r;
    for (int i = 0; i < nf; i++) {
      double got = tr->x[r * nf + i];
      CHECK(close_to(got, val[id][i + 1]), "row %d %s: mlxc %.9g, scikit-learn %.9g", id,
            names[i + 1], got, val[id][i + 1]);
    }
  }

  /* train -> .mlxm -> predict's path: the very same values */
  RtModelDesc desc = {.name = "lin", .n_in = nf, .n_layers = 1,
                      .layers = {{1, RT_ACT_IDENTITY}}, .loss = RT_LOSS_MSE,
                      .task = RT_TASK_REGRESSION};
  int64_t w[RT_MAX_LAYERS], b[RT_MAX_LAYERS];
  int64_t np = rt_param_layout(&desc, w, b);
  float *params = calloc((size_t)np, sizeof(float));
  RtDataSpec *frozen = rt_data_freeze(spec, d);
  RtModel *m = rt_model_new(&desc, frozen, 0, NULL, params, np, "0", "{}");
  char tmpl[] = "/tmp/xform_values.XXXXXX";
  CHECK(mkdtemp(tmpl) != NULL, "mkdtemp");
  char path[512];
  snprintf(path, sizeof path, "%s/values.mlxm", tmpl);
  CHECK(rt_model_save(path, m) == 0, "save");
  RtModel *back = rt_model_load(path);
  rt_diag_flush();
  CHECK(back != NULL, "load");
  if (back) {
    RtSplit out;
    int rc = rt_data_apply(back->data, "tests/xform/values.csv", RT_TASK_REGRESSION, NULL, 0,
                           true, &out);
    rt_diag_flush();
    CHECK(rc == 0 && out.n == nrow, "apply: rc %d, %lld rows", rc, (long long)out.n);
    int same = 0;
    for (int64_t r = 0; rc == 0 && r < out.n; r++) {
      int id = (int)out.y[r];
      for (int i = 0; i < nf; i++)
        same += memcmp(&out.x[r * nf + i], &tr->x[by_id[id] * nf + i], sizeof(float)) == 0;
    }
    CHECK(same == nrow * nf, "%d of %d predict-path values equal the training ones", same,
          nrow * nf);
    if (rc == 0) rt_split_free(&out);
    size_t blob_len;
    unsigned char *blob = rt_xform_encode(back->data, &blob_len);
    free(blob);
    /* the blob sits just before the end: u32 length, then its bytes */
    corrupt_blob(path, blob_len + 4);
  }
  unlink(path);
  snprintf(path, sizeof path, "%s/plain.mlxm", tmpl);
  old_minor(path, tmpl);
  rmdir(tmpl);
  rt_model_free(back);
  rt_model_free(m);
  rt_data_spec_free(frozen);
  free(params);
  rt_data_free(d);
  arena_free(&a);
  printf("xform_values: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
