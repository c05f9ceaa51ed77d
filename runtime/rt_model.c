/* rt_model.c — the NAME.mlxm model file: everything `predict`, `eval` and a
 * gate's baseline need without the spec (model description, frozen
 * preprocessing, classes, weights, metrics). Written after training through
 * a temporary file; read back with every length and count bounds-checked, so
 * a truncated, corrupted or foreign file is refused with a message.
 *
 * Layout, little-endian throughout:
 *   0  magic "MLXM\0\r\n\x1a" (8)   catches text-mode mangling like PNG's
 *   8  u16 major, u16 minor          a newer major is refused
 *   12 u32 flags (0)
 *   16 u64 payload bytes
 *   24 u64 FNV-1a 64 of bytes 0..23 then the payload (any one changed
 *          byte changes it: each FNV step is a bijection)
 *   32 payload: spec hash, model, data spec, classes, params, metrics JSON
 * Strings are u32 length + bytes (0xffffffff: none); a newer minor version may
 * append fields to the payload, which older readers skip. Minor 1 appends
 * u32 length + the transforms and cleaning blob (rt_xform_encode); minor 2
 * appends the CSV shape (u8 delimiter, u8 quote, u8 no-header; 0 = default);
 * minor 3 appends u32 length + each raw input column's training
 * distribution (rt_live_dist_encode; an older file has none: drift is
 * unavailable); minor 4 adds no field of its own: a feature's program may
 * hold EXTERN ops, each followed by its library, function and C types in
 * the transforms blob (rt_xform_encode), which older readers refuse as a
 * bad feature program. Such a model loads only with --allow-extern.
 * A minor 0 file has plain standardize features (u8 transform, f64 mean,
 * f64 std per feature, still written) and still loads: rt_xform_programs
 * turns each into the program COLUMN, standardize with those statistics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt.h"
#include "rt_out.h"

static const unsigned char magic[8] = {'M', 'L', 'X', 'M', 0, '\r', '\n', 0x1a};
#define HEADER_BYTES 32
#define NO_STR 0xffffffffu

/* ---- writing --------------------------------------------------------------- */

typedef struct Buf {
  unsigned char *p;
  size_t len, cap;
  bool oom;   /* an allocation failed: the save reports it once */
} Buf;

static void put(Buf *b, const void *p, size_t n) {
  if (b->oom) return;
  if (b->len + n > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->len + n) c *= 2;
    unsigned char *q = realloc(b->p, c);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = c;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void put_u64(Buf *b, uint64_t v) {
  unsigned char x[8];
  for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
  put(b, x, 8);
}

static void put_u32(Buf *b, uint32_t v) {
  unsigned char x[4];
  for (int i = 0; i < 4; i++) x[i] = (unsigned char)(v >> (8 * i));
  put(b, x, 4);
}

static void put_u8(Buf *b, unsigned v) {
  unsigned char x = (unsigned char)v;
  put(b, &x, 1);
}

static void put_f64(Buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  put_u64(b, u);
}

static void put_str(Buf *b, const char *s) {
  if (!s) {
    put_u32(b, NO_STR);
    return;
  }
  size_t n = strlen(s);
  put_u32(b, (uint32_t)n);
  put(b, s, n);
}

static void put_strs(Buf *b, char *const *v, int n) {
  put_u32(b, (uint32_t)(v && n > 0 ? n : 0));
  for (int i = 0; v && i < n; i++) put_str(b, v[i]);
}

/* The payload in the order the loader reads it. */
static void put_model(Buf *b, const RtModel *m) {
  put_str(b, m->spec_hash);
  const RtModelDesc *d = &m->desc;
  put_str(b, d->name);
  put_u32(b, (uint32_t)d->n_in);
  put_u32(b, (uint32_t)d->n_layers);
  for (int l = 0; l < d->n_layers && l < RT_MAX_LAYERS; l++) {
    put_u32(b, (uint32_t)d->layers[l].units);
    put_u8(b, d->layers[l].act);
  }
  put_u8(b, d->loss);
  put_u8(b, d->task);
  const RtDataSpec *s = m->data;
  static const RtDataSpec none;
  if (!s) s = &none;
  put_str(b, s->name);
  put_str(b, s->csv_path);
  put_strs(b, s->na, s->n_na);
  put_strs(b, s->drop, s->n_drop);
  put_u32(b, (uint32_t)(s->feats ? s->n_feats : 0));
  for (int i = 0; s->feats && i < s->n_feats; i++) {
    put_str(b, s->feats[i].name);
    put_str(b, s->feats[i].column);
    put_u8(b, s->feats[i].xform);
    put_f64(b, s->feats[i].mean);
    put_f64(b, s->feats[i].std);
  }
  put_str(b, s->label);
  int nm = s->label_keys && s->label_vals ? s->n_label_map : 0;
  put_u32(b, (uint32_t)nm);
  for (int i = 0; i < nm; i++) {
    put_str(b, s->label_keys[i]);
    put_f64(b, s->label_vals[i]);
  }
  for (int i = 0; i < 3; i++) put_f64(b, s->split[i]);
  put_u64(b, s->split_seed);
  put_strs(b, m->class_names, m->n_classes);
  put_u64(b, (uint64_t)m->n_params);
  for (int64_t i = 0; i < m->n_params; i++) {
    uint32_t u;
    memcpy(&u, &m->params[i], 4);
    put_u32(b, u);
  }
  put_str(b, m->metrics_json);
  size_t xn;   /* minor 1: transforms and cleaning, as rt_xform_encode writes them */
  unsigned char *xb = rt_xform_encode(s, &xn);
  put_u32(b, (uint32_t)xn);
  put(b, xb, xn);
  free(xb);
  /* minor 2: the CSV shape predict expects (delimiter, quote, header) */
  unsigned char csv[3] = {0, 0, 0};
  if (s) csv[0] = (unsigned char)s->csv_delim, csv[1] = (unsigned char)s->csv_quote,
    csv[2] = s->csv_no_header;
  put(b, csv, 3);
  size_t dn;   /* minor 3: each raw input column's training distribution (rt_live.c) */
  unsigned char *db = rt_live_dist_encode(s, &dn);
  put_u32(b, (uint32_t)dn);
  put(b, db, dn);
  free(db);
}

int rt_model_save(const char *path, const RtModel *m) {
  Buf pay = {0}, file = {0};
  put_model(&pay, m);
  put(&file, magic, 8);
  unsigned char ver[4] = {RT_MODEL_MAJOR & 0xff, RT_MODEL_MAJOR >> 8, RT_MODEL_MINOR & 0xff,
                          RT_MODEL_MINOR >> 8};
  put(&file, ver, 4);
  put_u32(&file, 0);
  put_u64(&file, pay.len);
  if (!file.oom) put_u64(&file, rt_fnv1a(pay.p, pay.len, rt_fnv1a(file.p, 24, RT_FNV_INIT)));
  put(&file, pay.p, pay.len);
  int rc = -1;
  if (pay.oom || file.oom)
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write model: out of memory");
  else
    rc = rt_write_atomic(path, file.p, file.len);
  free(pay.p);
  free(file.p);
  return rc;
}

/* ---- reading --------------------------------------------------------------- */

/* The reader is rt_out.h's In (in_u8 ... in_str, in_count): the first
 * failure sticks and names the field. */

static char **get_strs(In *r, int *n, const char *what) {
  uint32_t k = in_count(r, 4, what);
  *n = 0;
  if (r->bad || k == 0) return NULL;
  char **v = calloc(k, sizeof(char *));
  if (!v) {
    r->bad = "memory";
    return NULL;
  }
  *n = (int)k;
  for (uint32_t i = 0; i < k && !r->bad; i++) v[i] = in_str(r, what);
  return v;
}

/* Reads the payload into m (already zeroed); false with r->bad set. Every
 * enum is range-checked and the sizes must agree with each other. */
static bool get_model(In *r, RtModel *m) {
  char *h = in_str(r, "spec hash");
  if (h) snprintf(m->spec_hash, sizeof m->spec_hash, "%s", h);
  free(h);
  RtModelDesc *d = &m->desc;
  d->name = in_str(r, "model name");
  uint32_t n_in = in_u32(r, "input count");
  uint32_t nl = in_u32(r, "layer count");
  if (!r->bad && (n_in < 1 || n_in > (1u << 24) || nl < 1 || nl > RT_MAX_LAYERS))
    r->bad = "model shape";
  d->n_in = (int)n_in;
  d->n_layers = r->bad ? 0 : (int)nl;
  for (int l = 0; l < d->n_layers; l++) {
    uint32_t u = in_u32(r, "layer units");
    if (!r->bad && (u < 1 || u > (1u << 24))) r->bad = "layer units";
    d->layers[l].units = (int)u;
    d->layers[l].act = (RtAct)in_u8(r, "activation", RT_ACT_SOFTMAX);
  }
  d->loss = (RtLoss)in_u8(r, "loss", RT_LOSS_MAE);
  d->task = (RtTask)in_u8(r, "task", RT_TASK_MULTICLASS);

  RtDataSpec *s = calloc(1, sizeof *s);
  if (!s) {
    r->bad = "memory";
    return false;
  }
  m->data = s;
  s->name = in_str(r, "dataset name");
  s->csv_path = in_str(r, "data path");
  s->na = get_strs(r, &s->n_na, "na strings");
  s->drop = get_strs(r, &s->n_drop, "dropped columns");
  uint32_t nf = in_count(r, 4 + 4 + 1 + 16, "feature count");
  if (nf) {
    s->feats = calloc(nf, sizeof(RtFeature));
    if (!s->feats) r->bad = "memory";
    else s->n_feats = (int)nf;
  }
  for (int i = 0; i < s->n_feats && !r->bad; i++) {
    RtFeature *f = &s->feats[i];
    f->name = in_str(r, "feature name");
    f->column = in_str(r, "feature column");
    f->xform = (RtXform)in_u8(r, "transform", RT_XF_STANDARDIZE);
    f->mean = in_f64(r, "feature statistics");
    f->std = in_f64(r, "feature statistics");
    if (!r->bad && (!f->name || !f->column)) r->bad = "feature name";
  }
  s->label = in_str(r, "label");
  uint32_t nm = in_count(r, 4 + 8, "label map");
  if (nm) {
    s->label_keys = calloc(nm, sizeof(char *));
    s->label_vals = calloc(nm, sizeof(double));
    if (!s->label_keys || !s->label_vals) r->bad = "memory";
    else s->n_label_map = (int)nm;
  }
  for (int i = 0; i < s->n_label_map && !r->bad; i++) {
    s->label_keys[i] = in_str(r, "label map");
    s->label_vals[i] = in_f64(r, "label map");
    if (!r->bad && !s->label_keys[i]) r->bad = "label map";
  }
  for (int i = 0; i < 3; i++) s->split[i] = in_f64(r, "split");
  s->split_seed = in_u64(r, "split seed");
  m->class_names = get_strs(r, &m->n_classes, "classes");
  for (int i = 0; i < m->n_classes && !r->bad; i++)
    if (!m->class_names[i]) r->bad = "classes";
  uint64_t np = in_u64(r, "parameter count");
  if (r->bad) return false;

  /* the parts must describe one model */
  int64_t w_off[RT_MAX_LAYERS], b_off[RT_MAX_LAYERS];
  int64_t want = rt_param_layout(d, w_off, b_off);
  if (np != (uint64_t)want || np > (r->len - r->at) / 4) {
    r->bad = "parameter count";
    return false;
  }
  if (s->n_feats != d->n_in) {
    r->bad = "feature count";
    return false;
  }
  int out = d->layers[d->n_layers - 1].units;
  bool classes_ok = d->task == RT_TASK_REGRESSION ? m->n_classes == 0 && out == 1
                    : d->task == RT_TASK_BINARY   ? m->n_classes == 2 && out == 1
                                                  : m->n_classes >= 2 && out == m->n_classes;
  if (!classes_ok) {
    r->bad = "classes";
    return false;
  }
  m->n_params = (int64_t)np;
  m->params = malloc(sizeof(float) * (size_t)(np ? np : 1));
  if (!m->params) {
    r->bad = "memory";
    return false;
  }
  for (uint64_t i = 0; i < np; i++) {
    uint32_t u = in_u32(r, "parameters");
    memcpy(&m->params[i], &u, 4);
  }
  m->metrics_json = in_str(r, "metrics");
  return !r->bad;
}

/* Reads the whole file (it is the model: weights dominate), then hands it
 * to rt_model_load_mem. */
RtModel *rt_model_load(const char *path) {
  RtLoc at = rt_loc_file(path);
  FILE *f = fopen(path, "rb");
  if (!f) {
    rt_diag(RT_ERROR, at, "cannot open model: %s", strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    rt_diag(RT_ERROR, at, "cannot read model: not a regular file");
    fclose(f);
    return NULL;
  }
  size_t size = (size_t)st.st_size;
  unsigned char *buf = malloc(size ? size : 1);
  if (!buf || fread(buf, 1, size, f) != size) {
    rt_diag(RT_ERROR, at, "cannot read model: %s", buf ? strerror(errno ? errno : EIO)
                                                       : "out of memory");
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  RtModel *m = rt_model_load_mem(buf, size, path);
  free(buf);
  return m;
}

/* The header from the outside in (magic, version, length, checksum), then
 * the payload; buf is only read. */
RtModel *rt_model_load_mem(const void *data, size_t size, const char *path) {
  RtLoc at = rt_loc_file(path);
  const unsigned char *buf = data;
  RtModel *m = NULL;
  size_t k = size < 8 ? size : 8;
  if (k && memcmp(buf, magic, k) != 0) {
    rt_diag(RT_ERROR, at, "not an mlxc model file (bad magic)");
    goto out;
  }
  if (size < HEADER_BYTES) {
    rt_diag(RT_ERROR, at, "truncated model file: %zu bytes, the header alone is %d", size,
            HEADER_BYTES);
    goto out;
  }
  unsigned major = buf[8] | buf[9] << 8, minor = buf[10] | buf[11] << 8;
  if (major > RT_MODEL_MAJOR || major == 0) {
    rt_diag(RT_ERROR, at, "model file version %u.%u is %s than this mlxc (supports %d.x)",
            major, minor, major ? "newer" : "older", RT_MODEL_MAJOR);
    goto out;
  }
  In hr = {buf, size, 12, NULL};
  uint32_t flags = in_u32(&hr, "header");
  if (flags != 0) {
    rt_diag(RT_ERROR, at, "corrupted model file: unknown flags 0x%08x", flags);
    goto out;
  }
  uint64_t plen = in_u64(&hr, "header"), sum = in_u64(&hr, "header");
  uint64_t have = size - HEADER_BYTES;
  if (plen > have) {
    rt_diag(RT_ERROR, at, "truncated model file: the payload is %llu bytes, found %llu",
            (unsigned long long)plen, (unsigned long long)have);
    goto out;
  }
  if (plen < have) {
    rt_diag(RT_ERROR, at, "corrupted model file: %llu unexpected bytes after the payload",
            (unsigned long long)(have - plen));
    goto out;
  }
  if (rt_fnv1a(buf + HEADER_BYTES, plen, rt_fnv1a(buf, 24, RT_FNV_INIT)) != sum) {
    rt_diag(RT_ERROR, at, "corrupted model file: checksum mismatch");
    goto out;
  }
  m = calloc(1, sizeof *m);
  if (!m) {
    rt_diag(RT_ERROR, at, "cannot read model: out of memory");
    goto out;
  }
  In r = {buf + HEADER_BYTES, plen, 0, NULL};
  bool ok = get_model(&r, m);
  if (ok && minor >= 1) {   /* transforms and cleaning (rt_xform_decode) */
    uint32_t xn = in_count(&r, 1, "transforms");
    if (!r.bad && in_take(&r, xn, "transforms")) {
      r.bad = rt_xform_decode(m->data, r.p + r.at, xn);
      r.at += xn;
    }
    ok = !r.bad;
  }
  if (ok && minor >= 2) {   /* the CSV shape: delimiter, quote, header */
    char delim = (char)in_u8(&r, "csv options", 255);
    char quote = (char)in_u8(&r, "csv options", 255);
    bool no_header = in_u8(&r, "csv options", 1);
    if (m->data) m->data->csv_delim = delim, m->data->csv_quote = quote,
                 m->data->csv_no_header = no_header;
    ok = !r.bad;
  }
  if (ok && minor >= 3) {   /* training distributions (rt_live_dist_decode) */
    uint32_t dn = in_count(&r, 1, "distributions");
    if (!r.bad && in_take(&r, dn, "distributions")) {
      r.bad = rt_live_dist_decode(m->data, r.p + r.at, dn);
      r.at += dn;
    }
    ok = !r.bad;
  }
  if (ok && r.at != r.len && minor <= RT_MODEL_MINOR) r.bad = "payload length", ok = false;
  if (!ok) {
    rt_diag(RT_ERROR, at, "corrupted model file: bad %s", r.bad ? r.bad : "payload");
    rt_model_free(m);
    m = NULL;
    goto out;
  }
  rt_xform_programs(m->data);   /* a minor 0 file's plain features become programs */
  if (!rt_extern_load_check(m->data, at)) {   /* rt_extern.c: before any dlopen */
    rt_model_free(m);
    m = NULL;
    goto out;
  }
  m->desc.xfeats = m->data->feats;   /* predict compiles them (xform_emit.c) */
  m->desc.n_xfeats = m->data->n_feats;
  m->path = strdup(path);
out:
  return m;
}

static char *dup_s(const char *s) { return s ? strdup(s) : NULL; }

RtModel *rt_model_new(const RtModelDesc *desc, const RtDataSpec *frozen, int n_classes,
                      char *const *class_names, const float *params, int64_t n_params,
                      const char *spec_hash, const char *metrics_json) {
  RtModel *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->desc = *desc;
  m->desc.name = dup_s(desc->name);
  memset(m->desc.layer_loc, 0, sizeof m->desc.layer_loc);
  if (frozen) m->data = rt_data_freeze(frozen, NULL);
  m->desc.xfeats = m->data ? m->data->feats : NULL;   /* its own, not desc's */
  m->desc.n_xfeats = m->data ? m->data->n_feats : 0;
  if (n_classes > 0 && class_names) {
    m->class_names = calloc((size_t)n_classes, sizeof(char *));
    if (!m->class_names) goto oom;
    m->n_classes = n_classes;
    for (int i = 0; i < n_classes; i++)
      if (!(m->class_names[i] = dup_s(class_names[i]))) goto oom;
  }
  m->params = malloc(sizeof(float) * (size_t)(n_params > 0 ? n_params : 1));
  if (!m->params) goto oom;
  if (n_params > 0) memcpy(m->params, params, sizeof(float) * (size_t)n_params);
  m->n_params = n_params;
  snprintf(m->spec_hash, sizeof m->spec_hash, "%s", spec_hash ? spec_hash : "");
  m->metrics_json = dup_s(metrics_json);
  return m;
oom:
  rt_model_free(m);
  return NULL;
}

void rt_model_free(RtModel *m) {
  if (!m) return;
  rt_diag_flush();   /* a pending diagnostic may point at m->path */
  free(m->desc.name);
  rt_data_spec_free(m->data);
  for (int i = 0; m->class_names && i < m->n_classes; i++) free(m->class_names[i]);
  free(m->class_names);
  free(m->params);
  free(m->metrics_json);
  free(m->path);
  free(m);
}
