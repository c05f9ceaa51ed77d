/* rt_split.c — which rows train, validate and test: the seeded random split,
 * `stratify` (every class keeps its share in each split), `by COLUMN` (a
 * hash of the key cell, stable as rows are added) and `cv N` (k-fold
 * cross-validation over train+val, run between loading and the final fit). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* Seed bytes little-endian first, so a key hashes the same on any host. */
uint64_t rt_split_key(const RtDataSpec *spec, const char *cell, size_t len) {
  unsigned char sb[8];
  for (int i = 0; i < 8; i++) sb[i] = (unsigned char)(spec->split_seed >> (8 * i));
  return rt_fnv1a(cell, len, rt_fnv1a(sb, 8, RT_FNV_INIT));
}

/* round(n p) rows for train and val, capped by what is left; test the rest. */
static void counts_of(const RtDataSpec *spec, int64_t n, int64_t cnt[3]) {
  cnt[0] = llround((double)n * spec->split[0]);
  if (cnt[0] > n) cnt[0] = n;
  cnt[1] = llround((double)n * spec->split[1]);
  if (cnt[1] > n - cnt[0]) cnt[1] = n - cnt[0];
  cnt[2] = n - cnt[0] - cnt[1];
}


/* `by`: the key's fraction u in [0, 1) falls in train [0, p0), val [p0,
 * p0+p1) or test; rows keep file order inside each split. */
static void split_by_key(const RtDataSpec *spec, int64_t n, const uint64_t *keyh,
                         int64_t *idx, int64_t cnt[3]) {
  unsigned char *which = rt_xmalloc((size_t)n + 1);
  cnt[0] = cnt[1] = cnt[2] = 0;
  double p0 = spec->split[0], p1 = spec->split[0] + spec->split[1];
  for (int64_t i = 0; i < n; i++) {
    double u = (double)(rt_mix64(keyh[i]) >> 11) * 0x1.0p-53;   /* rt_mix64: see rt.h */
    which[i] = u < p0 ? 0 : u < p1 ? 1 : 2;
    cnt[which[i]]++;
  }
  int64_t at[3] = {0, cnt[0], cnt[0] + cnt[1]};
  for (int64_t i = 0; i < n; i++) idx[at[which[i]]++] = i;
  free(which);
}

/* `stratify`: each class's rows (in file order) are shuffled with one
 * generator seeded by the split seed, classes taken in index order; the
 * class gives round(n_c p) rows to train and val and the rest to test.
 * Splits list their rows class by class (training shuffles every epoch). */
static void split_stratified(const RtDataSpec *spec, int64_t n, const float *y, int n_classes,
                             int64_t *idx, int64_t cnt[3]) {
  int64_t *start = rt_xmalloc(sizeof(int64_t) * (size_t)(n_classes + 1));
  int64_t *by_class = rt_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
  for (int k = 0; k <= n_classes; k++) start[k] = 0;
  for (int64_t i = 0; i < n; i++) start[(int)y[i] + 1]++;
  for (int k = 0; k < n_classes; k++) start[k + 1] += start[k];
  int64_t *fill = rt_xmalloc(sizeof(int64_t) * (size_t)(n_classes + 1));
  memcpy(fill, start, sizeof(int64_t) * (size_t)(n_classes + 1));
  for (int64_t i = 0; i < n; i++) by_class[fill[(int)y[i]]++] = i;
  RtRand rng;
  rt_rand_seed(&rng, spec->split_seed);
  int64_t (*part)[3] = rt_xmalloc(sizeof *part * (size_t)(n_classes + 1));
  cnt[0] = cnt[1] = cnt[2] = 0;
  for (int k = 0; k < n_classes; k++) {
    int64_t nc = start[k + 1] - start[k];
    rt_rand_shuffle(&rng, by_class + start[k], nc);
    counts_of(spec, nc, part[k]);
    for (int s = 0; s < 3; s++) cnt[s] += part[k][s];
  }
  int64_t at[3] = {0, cnt[0], cnt[0] + cnt[1]};
  for (int k = 0; k < n_classes; k++) {
    const int64_t *rows = by_class + start[k];
    for (int s = 0; s < 3; s++)
      for (int64_t r = 0; r < part[k][s]; r++) idx[at[s]++] = *rows++;
  }
  free(part);
  free(fill);
  free(by_class);
  free(start);
}

int rt_split_rows(const RtDataSpec *spec, int64_t n, const float *y, int n_classes,
                  const uint64_t *keyh, int64_t *idx, int64_t cnt[3]) {
  if (spec->split_by && keyh) {
    split_by_key(spec, n, keyh, idx, cnt);
  } else if (spec->split_stratify) {
    if (n_classes < 1 || !y) {
      rt_diag(RT_ERROR, spec->split_loc.line ? spec->split_loc : spec->source_loc,
              "'stratify' needs a classification label, but '%s' is read as numbers",
              spec->label ? spec->label : "?");
      rt_note(spec->label_loc, "the loss makes this a regression");
      return -1;
    }
    split_stratified(spec, n, y, n_classes, idx, cnt);
  } else {
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    RtRand rng;
    rt_rand_seed(&rng, spec->split_seed);
    rt_rand_shuffle(&rng, idx, n);
    counts_of(spec, n, cnt);
  }
  if (spec->cv_folds > 0) {
    /* train and val rows are adjacent in idx: one pool */
    cnt[0] += cnt[1];
    cnt[1] = 0;
    if (spec->cv_fold > 0) {
      /* fold F: pool positions i % N == F - 1 become val, in order after the rest */
      int folds = spec->cv_folds, f = spec->cv_fold - 1;
      int64_t *held = rt_xmalloc(sizeof(int64_t) * (size_t)(cnt[0] + 1));
      int64_t nk = 0, nh = 0;
      for (int64_t i = 0; i < cnt[0]; i++) {
        if (i % folds == f) held[nh++] = idx[i];
        else idx[nk++] = idx[i];
      }
      memcpy(idx + nk, held, sizeof(int64_t) * (size_t)nh);
      free(held);
      cnt[0] = nk;
      cnt[1] = nh;
    }
  }
  return 0;
}

void rt_split_class_counts(const RtSplit *s, int n_classes, int64_t *counts) {
  for (int k = 0; k < n_classes; k++) counts[k] = 0;
  for (int64_t i = 0; i < s->n; i++) {
    int k = (int)s->y[i];
    if (k >= 0 && k < n_classes) counts[k]++;
  }
}

/* ---- cross-validation ------------------------------------------------------ */

/* The fields a val metric may have, for mean and std alike. */
#define CV_FIELDS(X) X(loss) X(accuracy) X(mse) X(mae) X(rmse) X(r2) X(precision) X(recall) \
  X(f1) X(log_loss) X(auc) X(precision_w) X(recall_w) X(f1_w)

int rt_cv(const RtTrainCfg *cfg, const RtModelDesc *m, const MlxKernels *k, const RtData *d,
          const RtDataSpec *spec, RtTrainResult *res) {
  const RtSplit *pool = &d->split[0];
  int folds = spec->cv_folds;
  if (folds < 2 || pool->n < folds) {
    rt_diag(RT_ERROR, spec->cv_loc.line ? spec->cv_loc : spec->source_loc,
            "cv %d needs at least %d train and val rows, found %lld", folds, folds < 2 ? 2 : folds,
            (long long)pool->n);
    rt_note(rt_loc_file(spec->csv_path), "rows read from here");
    return -1;
  }
  RtMetrics *v = rt_xmalloc(sizeof(RtMetrics) * (size_t)folds);
  RtTrainResult *fr = rt_xmalloc(sizeof *fr);
  float *params = rt_xmalloc(sizeof(float) * (size_t)(k->n_params > 0 ? k->n_params : 1));
  int rc = 0;
  for (int f = 0; f < folds && !rc; f++) {
    /* the fold's own load: fills and statistics fitted on its train rows only */
    RtDataSpec fs = *spec;
    fs.cv_fold = f + 1;
    fs.fit_only = false;
    RtData *fd = rt_data_load(&fs, m->task);
    if (!fd) {
      rc = -1;
      break;
    }
    if (fd->n_feats != d->n_feats) {
      rt_diag(RT_ERROR, spec->cv_loc, "internal error: fold %d has %d inputs, the pool %d", f + 1,
              fd->n_feats, d->n_feats);
      rt_data_free(fd);
      rc = -1;
      break;
    }
    printf("cv fold %d/%d: %lld train rows, %lld val rows\n", f + 1, folds,
           (long long)fd->split[0].n, (long long)fd->split[1].n);
    fflush(stdout);
    rc = rt_train(cfg, m, k, fd, params, fr);
    v[f] = fr->split[1];
    rt_data_free(fd);
  }
  if (!rc) {
    RtMetrics mean = {0}, sd = {0};
#define MEAN(f)                                           \
    for (int i = 0; i < folds; i++) mean.f += v[i].f;     \
    mean.f /= folds;
#define STD(f)                                            \
    for (int i = 0; i < folds; i++)                       \
      sd.f += (v[i].f - mean.f) * (v[i].f - mean.f);      \
    sd.f = sqrt(sd.f / folds);
    CV_FIELDS(MEAN)
    CV_FIELDS(STD)
#undef MEAN
#undef STD
    mean.n = sd.n = pool->n;
    res->cv_folds = folds;
    res->cv_mean = mean;
    res->cv_std = sd;
  }
  free(params);
  free(fr);
  free(v);
  return rc;
}
