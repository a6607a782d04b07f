/* One time step of each layer type, scalar float: the reference every other
   path is tested against. Each function reads the layer input `x` and the
   state, and updates the state in place. */

#ifndef SW_CPU_CELLS_H
#define SW_CPU_CELLS_H

#include "model_impl.h"

/* Scratch floats the step functions need for `layer`. */
size_t
sw_cpu_cell_scratch_size(const SwLayer* layer);

/* h, c: [U]. Output is the new h. */
void
sw_cpu_lstm_step(const SwLayer* layer, const float* x, float* h, float* c,
                 float* scratch);

/* h: [U]. Output is the new h. */
void
sw_cpu_gru_step(const SwLayer* layer, const float* x, float* h,
                float* scratch);

/* h: [U]. Output is the new h. */
void
sw_cpu_simple_rnn_step(const SwLayer* layer, const float* x, float* h,
                       float* scratch);

/* y: [U] = act(W x + b). */
void
sw_cpu_dense(const SwLayer* layer, const float* x, float* y);

/* y: [U], causal convolution over `history` (the last (K-1)*d frames of
   the layer input, oldest first), which then takes in x. */
void
sw_cpu_conv1d_step(const SwLayer* layer, const float* x, float* history,
                   float* y);

#endif
