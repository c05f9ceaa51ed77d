/* rt_layout.c — where each layer's weights and bias sit in the flat parameter
 * vector. The compiler's emitter and the runtime (init, model file) both call
 * rt_param_layout, so there is one formula for the layout. */
#include "rt.h"

/* Layer l owns W_l [in x out] row-major then b_l [out], layers in order; in is
 * n_in for the first layer and the previous layer's units after it. Either
 * offset array may be NULL when only the total is wanted. */
int64_t rt_param_layout(const RtModelDesc *m, int64_t *w_off, int64_t *b_off) {
  int64_t off = 0;
  int64_t in = m->n_in;
  for (int l = 0; l < m->n_layers && l < RT_MAX_LAYERS; l++) {
    int64_t out = m->layers[l].units;
    if (w_off) w_off[l] = off;
    off += in * out;
    if (b_off) b_off[l] = off;
    off += out;
    in = out;
  }
  return off;
}
