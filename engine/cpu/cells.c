#include "cells.h"

#include "activation.h"

#include <string.h>

/* Sum of matrix row `row` times `v`, in index order (deterministic, so any
   block split gives bit-identical results). */
static inline float
dot_row(const float* const matrix, const size_t row, const size_t cols,
        const float* const v)
{
  const float* const m   = matrix + row * cols;
  float              sum = 0.0f;
  for (size_t k = 0; k < cols; ++k) {
    sum += m[k] * v[k];
  }
  return sum;
}

size_t
sw_cpu_cell_scratch_size(const SwLayer* const layer)
{
  /* GRU keeps the input and recurrent pre-activations apart (the reset gate
     multiplies only the recurrent part) plus r*h for the reset-before form. */
  return 2U * (size_t)layer->gates * layer->units + layer->units;
}

void
sw_cpu_lstm_step(const SwLayer* const layer, const float* const x,
                 float* const h, float* const c, float* const scratch)
{
  const size_t       U  = layer->units;
  const size_t       I  = layer->input_width;
  const SwActivation ra = layer->recurrent_activation;
  const SwActivation act = layer->activation;
  float* const       a  = scratch;

  for (size_t r = 0; r < 4U * U; ++r) {
    a[r] = layer->bias[r] + layer->recurrent_bias[r] +
           dot_row(layer->kernel, r, I, x) +
           dot_row(layer->recurrent_kernel, r, U, h);
  }
  for (size_t j = 0; j < U; ++j) {
    const float i_gate = sw_activate(ra, a[j]);
    const float f_gate = sw_activate(ra, a[U + j]);
    const float g_cand = sw_activate(act, a[2U * U + j]);
    const float o_gate = sw_activate(ra, a[3U * U + j]);
    c[j]               = f_gate * c[j] + i_gate * g_cand;
    h[j]               = o_gate * sw_activate(act, c[j]);
  }
}

void
sw_cpu_gru_step(const SwLayer* const layer, const float* const x,
                float* const h, float* const scratch)
{
  const size_t       U   = layer->units;
  const size_t       I   = layer->input_width;
  const SwActivation ra  = layer->recurrent_activation;
  const SwActivation act = layer->activation;
  float* const       xa  = scratch;          /* W x + bW, gates r, z, n */
  float* const       ha  = scratch + 3U * U; /* R h + bR */
  float* const       rh  = scratch + 6U * U; /* r * h (reset before) */

  for (size_t r = 0; r < 3U * U; ++r) {
    xa[r] = layer->bias[r] + dot_row(layer->kernel, r, I, x);
  }

  if (layer->gru_reset == SW_GRU_RESET_AFTER) {
    for (size_t r = 0; r < 3U * U; ++r) {
      ha[r] = layer->recurrent_bias[r] +
              dot_row(layer->recurrent_kernel, r, U, h);
    }
    for (size_t j = 0; j < U; ++j) {
      const float r_gate = sw_activate(ra, xa[j] + ha[j]);
      const float z_gate = sw_activate(ra, xa[U + j] + ha[U + j]);
      const float n_cand =
        sw_activate(act, xa[2U * U + j] + r_gate * ha[2U * U + j]);
      h[j] = (1.0f - z_gate) * n_cand + z_gate * h[j];
    }
    return;
  }

  /* Reset before (Keras reset_after=False): the reset gate scales h before
     the candidate's recurrent product. */
  for (size_t r = 0; r < 2U * U; ++r) {
    ha[r] = layer->recurrent_bias[r] +
            dot_row(layer->recurrent_kernel, r, U, h);
  }
  for (size_t j = 0; j < U; ++j) {
    rh[j] = sw_activate(ra, xa[j] + ha[j]) * h[j];
  }
  for (size_t j = 0; j < U; ++j) {
    ha[2U * U + j] = layer->recurrent_bias[2U * U + j] +
                     dot_row(layer->recurrent_kernel, 2U * U + j, U, rh);
  }
  for (size_t j = 0; j < U; ++j) {
    const float z_gate = sw_activate(ra, xa[U + j] + ha[U + j]);
    const float n_cand = sw_activate(act, xa[2U * U + j] + ha[2U * U + j]);
    h[j]               = z_gate * h[j] + (1.0f - z_gate) * n_cand;
  }
}

void
sw_cpu_simple_rnn_step(const SwLayer* const layer, const float* const x,
                       float* const h, float* const scratch)
{
  const size_t U = layer->units;
  const size_t I = layer->input_width;
  for (size_t r = 0; r < U; ++r) {
    scratch[r] = layer->bias[r] + layer->recurrent_bias[r] +
                 dot_row(layer->kernel, r, I, x) +
                 dot_row(layer->recurrent_kernel, r, U, h);
  }
  for (size_t j = 0; j < U; ++j) {
    h[j] = sw_activate(layer->activation, scratch[j]);
  }
}

void
sw_cpu_dense(const SwLayer* const layer, const float* const x, float* const y)
{
  const size_t I = layer->input_width;
  for (size_t r = 0; r < layer->units; ++r) {
    y[r] = sw_activate(layer->activation,
                       layer->bias[r] + dot_row(layer->kernel, r, I, x));
  }
}

void
sw_cpu_conv1d_step(const SwLayer* const layer, const float* const x,
                   float* const history, float* const y)
{
  const size_t I       = layer->input_width;
  const size_t K       = layer->kernel_size;
  const size_t d       = layer->dilation;
  const size_t frames  = (K - 1U) * d; /* history length */

  /* Tap k reads x[t - (K-1-k) d], which sits at history frame k*d; the
     newest tap is x itself. */
  for (size_t u = 0; u < layer->units; ++u) {
    const float* const row = layer->kernel + u * K * I;
    float              sum = layer->bias[u];
    for (size_t k = 0; k < K; ++k) {
      const float* const frame = k + 1U == K ? x : history + k * d * I;
      for (size_t c = 0; c < I; ++c) {
        sum += row[k * I + c] * frame[c];
      }
    }
    y[u] = sw_activate(layer->activation, sum);
  }

  if (frames) {
    memmove(history, history + I, (frames - 1U) * I * sizeof(float));
    memcpy(history + (frames - 1U) * I, x, I * sizeof(float));
  }
}
