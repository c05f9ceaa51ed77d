/* report_html.c — rt_html (the `run --report` page) on results no real run
 * gives easily: NaN, infinite, flat, huge and tiny curves, the most epochs
 * kept, class names that need escaping, no val or test rows, an rt_html_open
 * on paths it must refuse. The page is written, every chart is there, no
 * coordinate is NaN or infinite, and the markup stays escaped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = calloc(1, (size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
  fclose(f);
  return s;
}

static int count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

int main(void) {
  char dir[] = "/tmp/report_html.XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char path[128];
  snprintf(path, sizeof path, "%s/p.html", dir);
  CHECK(!rt_html_open(dir, "x.mlx", "0"), "a directory accepted as the page");
  CHECK(!rt_html_open("/nonexistent/dir/p.html", "x.mlx", "0"), "a missing folder accepted");
  rt_diag_flush();
  RtHtml *h = rt_html_open(path, "we<ird>&.mlx", "0123456789abcdef");
  CHECK(h != NULL, "cannot open %s", path);
  if (!h) return 1;
  RtData d = {0};
  char *names[3] = {"<a>", "b&c", "\"d\""};
  d.class_names = names;
  d.n_classes = 3;
  d.split[0].n = 10;
  d.split[1].n = 5;
  RtModelDesc m = {.name = "m<1>", .n_layers = 1, .task = RT_TASK_MULTICLASS};
  m.layers[0] = (RtLayer){3, RT_ACT_SOFTMAX};
  RtTrainCfg cfg = {.name = "t&1", .opt = RT_OPT_ADAM, .lr = 1e-4f, .batch = 8, .seed = 1};
  RtTrainResult *res = calloc(1, sizeof *res);
  res->n_epochs = RT_MAX_EPOCHS;
  for (int e = 0; e < RT_MAX_EPOCHS; e++) {
    res->train_loss[e] = e == 3 ? NAN : e == 4 ? INFINITY : 1e30 + e;   /* huge, flat-ish */
    res->val_loss[e] = NAN;
    res->epoch_lr[e] = 1e-4;                                           /* flat */
    res->val[e] = rt_metrics(RT_TASK_MULTICLASS, 3, NULL, NULL, 0);    /* all NaN */
    res->val[e].accuracy = 0.5 + 1e-12 * e;                            /* nearly flat */
  }
  for (int s = 0; s < 3; s++) res->split[s] = rt_metrics(RT_TASK_MULTICLASS, 3, NULL, NULL, 0);
  res->split[0].accuracy = 0.75;
  res->conf_k = 3;
  for (int i = 0; i < 9; i++) res->confusion[0][i] = i;
  res->best_epoch = 7;
  const char *gates[2] = {"ship", "g<2>"};
  RtRunInfo info = {.kind = "train", .gates = gates, .n_gates = 2};
  CHECK(rt_html_add(h, &cfg, &m, NULL, NULL, &d, res, &info) == 0, "add failed");
  /* a regression with no epochs at all */
  RtModelDesc r = {.name = "r", .n_layers = 1, .task = RT_TASK_REGRESSION};
  r.layers[0] = (RtLayer){1, RT_ACT_IDENTITY};
  memset(res, 0, sizeof *res);
  for (int s = 0; s < 3; s++) res->split[s] = rt_metrics(RT_TASK_REGRESSION, 0, NULL, NULL, 0);
  RtData d2 = {0};
  CHECK(rt_html_add(h, &cfg, &r, NULL, NULL, &d2, res, NULL) == 0, "add failed");
  CHECK(rt_html_write(h) == 0, "write failed");
  rt_html_free(h);
  char *page = slurp(path);
  CHECK(page != NULL, "no page at %s", path);
  if (page) {
    CHECK(count(page, "<svg ") == 6, "%d charts, expected 6 (loss, 2 val, lr; loss, lr)",
          count(page, "<svg "));
    CHECK(!strstr(page, "nan") && !strstr(page, "inf\"") && !strstr(page, "inf,"),
          "a NaN or infinite coordinate");
    CHECK(!strstr(page, "<a>") && strstr(page, "&lt;a&gt;") && strstr(page, "b&amp;c") &&
              strstr(page, "&quot;d&quot;") && strstr(page, "we&lt;ird&gt;&amp;.mlx"),
          "names not escaped");
    CHECK(strstr(page, "<td>ship</td>") && strstr(page, "g&lt;2&gt;"),
          "gates not listed");
    CHECK(count(page, "<table class=\"confusion\"") == 2, "expected the train and val matrices");
    CHECK(count(page, "class=\"tick\"") < 400, "runaway ticks: %d", count(page, "class=\"tick\""));
    free(page);
  }
  unlink(path);
  rmdir(dir);
  free(res);
  printf("report_html: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
