/* fuzz_request.c — libFuzzer harness for `mlxc serve`'s request decoder
 * (runtime/rt_serve_req.c), no socket: each input is a POST /predict body
 * for a model built here by hand whose inputs use every way a cell is read
 * (number programs, onehot with unseen = zero / other / error, a column read
 * both as number and category, median / ffill / value / drop_row rules),
 * with a C predict kernel and no compiled transforms (the interpreter path).
 * The answer must be 200 or 400 and always valid JSON.
 *   make fuzz-request [FUZZ_TIME=N]     (tests/fuzz/fuzz.mk) */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

#define N_IN 12

/* dense N_IN -> 1, sigmoid: weights W[i] then the bias, as rt_param_layout lays them. */
static void predict_lr(const float *params, float *work, const float *x, int64_t n, float *out) {
  (void)work;
  for (int64_t r = 0; r < n; r++) {
    float z = params[N_IN];
    for (int i = 0; i < N_IN; i++) z += params[i] * x[r * N_IN + i];
    out[r] = 1.0f / (1.0f + expf(-z));
  }
}

static RtXop p_amount[] = {{.op = RT_XOP_COL, .column = "amount"}, {.op = RT_XOP_LOG1P},
                           {.op = RT_XOP_STANDARDIZE, .a = 5, .b = 1}};
static RtXop p_income[] = {{.op = RT_XOP_COL, .column = "income"},
                           {.op = RT_XOP_MINMAX, .a = 0, .b = 10000}};
static RtXop p_ratio[] = {{.op = RT_XOP_COL, .column = "amount"},
                          {.op = RT_XOP_COL, .column = "income"},
                          {.op = RT_XOP_DIV},
                          {.op = RT_XOP_CLIP, .a = 0, .b = 1}};
static double edges[] = {1, 2, 3};
static RtXop p_zip[] = {{.op = RT_XOP_COL, .column = "zip"},
                        {.op = RT_XOP_BUCKETIZE, .edges = edges, .n_edges = 3}};

static RtFeature feats[N_IN] = {
    {.name = "amount", .column = "amount", .prog = p_amount, .n_prog = 3},
    {.name = "income", .column = "income", .prog = p_income, .n_prog = 2},
    {.name = "ratio", .column = "amount", .prog = p_ratio, .n_prog = 4},
    {.name = "city", .column = "city", .onehot = RT_OH_ZERO, .cat = "berlin", .cat_index = 0, .n_cats = 3},
    {.name = "city", .column = "city", .onehot = RT_OH_ZERO, .cat = "london", .cat_index = 1, .n_cats = 3},
    {.name = "city", .column = "city", .onehot = RT_OH_ZERO, .cat = "paris", .cat_index = 2, .n_cats = 3},
    {.name = "history", .column = "history", .onehot = RT_OH_OTHER, .cat = "bad", .cat_index = 0, .n_cats = 2},
    {.name = "history", .column = "history", .onehot = RT_OH_OTHER, .cat = "good", .cat_index = 1, .n_cats = 2},
    {.name = "history", .column = "history", .onehot = RT_OH_OTHER, .cat = NULL, .cat_index = 2, .n_cats = 2},
    {.name = "zip", .column = "zip", .prog = p_zip, .n_prog = 2},
    {.name = "zipcat", .column = "zip", .onehot = RT_OH_ERROR, .cat = "1", .cat_index = 0, .n_cats = 2},
    {.name = "zipcat", .column = "zip", .onehot = RT_OH_ERROR, .cat = "2", .cat_index = 1, .n_cats = 2},
};

static RtMissing rules[] = {
    {.column = "amount", .kind = RT_MISS_MEDIAN, .num = 100},
    {.column = "income", .kind = RT_MISS_FFILL},
    {.column = "city", .kind = RT_MISS_VALUE, .is_str = true, .str = "unknown"},
    {.column = NULL, .kind = RT_MISS_DROP_ROW},
};

static char *na[] = {"NA"};
static char *drops[] = {"id"};
static char *classes[] = {"N", "Y"};
static float params[N_IN + 1];

static RtServeModel *sm;
static RtServeWork *work;

static void init(void) {
  static RtDataSpec spec;
  static RtModel model;
  static MlxKernels k;
  spec.feats = feats, spec.n_feats = N_IN;
  spec.missing = rules, spec.n_missing = 4;
  spec.na = na, spec.n_na = 1;
  spec.drop = drops, spec.n_drop = 1;
  spec.label = "defaulted";
  model.desc.name = "fuzz";
  model.desc.n_in = N_IN;
  model.desc.n_layers = 1;
  model.desc.layers[0] = (RtLayer){1, RT_ACT_SIGMOID};
  model.desc.loss = RT_LOSS_BCE;
  model.desc.task = RT_TASK_BINARY;
  model.data = &spec;
  model.n_classes = 2;
  model.class_names = classes;
  model.n_params = N_IN + 1;
  model.params = params;
  for (int i = 0; i <= N_IN; i++) params[i] = (float)(i % 3) - 0.7f;
  k.predict = predict_lr;
  k.n_params = N_IN + 1;
  sm = rt_serve_model_new(&model, &k);
  work = rt_serve_work_new(sm);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (!sm) init();
  RtServeReply r;
  rt_serve_predict(sm, work, (const char *)data, size, "fuzz", &r);
  if (r.status != 200 && r.status != 400) abort();
  if (!r.body || strlen(r.body) != r.len) abort();
  json_error_t e;
  json_t *j = json_loadb(r.body, r.len, 0, &e);   /* the answer is always JSON */
  if (!j) abort();
  json_decref(j);
  return 0;
}
