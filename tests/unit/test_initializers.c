/*
  Keras initializers for weights a spec leaves out: kernels glorot_uniform
  (|W| <= sqrt(6 / (fan_in + fan_out)), fan_in = I, fan_out = G * U, spread
  over the whole range with mean 0 and variance limit^2 / 3), recurrent
  kernels orthogonal, biases zero except the LSTM forget gate with
  unit_forget_bias, and the same seed always gives the same weights.
*/

#include "unit_support.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static SwModel*
build_single(const SwLayerSpec layer, const uint32_t input_width,
             const uint64_t seed)
{
  const SwModelSpec spec = unit_spec(input_width, 1, &layer);
  return unit_build(&spec, seed);
}

static SwLayerInfo
layer_info(const SwModel* const model, const uint32_t index)
{
  SwLayerInfo info;
  memset(&info, 0, sizeof(info));
  const SwStatus status = sw_model_layer(model, index, &info);
  if (status != SW_SUCCESS) {
    unit_abort("sw_model_layer(%u): %s", (unsigned)index,
               sw_strerror(status));
  }
  return info;
}

static void
check_glorot(const float* const kernel, const size_t rows, const size_t cols,
             const size_t fan_in, const size_t fan_out, const char* const what)
{
  EXPECT(kernel != NULL, "%s: kernel is NULL", what);
  if (!kernel) {
    return;
  }
  const double limit = sqrt(6.0 / (double)(fan_in + fan_out));
  const size_t count = rows * cols;
  double       sum   = 0.0;
  double       sum2  = 0.0;
  double       max   = 0.0;
  size_t       above = 0;
  for (size_t i = 0; i < count; ++i) {
    const double w = (double)kernel[i];
    if (fabs(w) > limit * (1.0 + 1e-6)) {
      ++above;
    }
    sum += w;
    sum2 += w * w;
    max = fabs(w) > max ? fabs(w) : max;
  }
  const double mean     = sum / (double)count;
  const double variance = sum2 / (double)count - mean * mean;
  const double expected = limit * limit / 3.0;
  EXPECT(above == 0, "%s: %zu of %zu weights exceed the glorot limit %g "
         "(max %g)", what, above, count, limit, max);
  EXPECT(max > 0.8 * limit, "%s: max |W| %g is not near the limit %g: the "
         "values do not spread over the range", what, max, limit);
  /* Standard error of the mean is limit / sqrt(3 * count). */
  EXPECT(fabs(mean) < 5.0 * limit / sqrt(3.0 * (double)count),
         "%s: mean %g is not near 0 (limit %g, %zu values)", what, mean,
         limit, count);
  EXPECT(fabs(variance - expected) < 0.1 * expected,
         "%s: variance %g, expected %g for uniform(-limit, limit)", what,
         variance, expected);
}

/* R is [rows x cols] with rows >= cols: R^T R must be the identity. */
static void
check_orthonormal_columns(const float* const r, const size_t rows,
                          const size_t cols, const char* const what)
{
  EXPECT(r != NULL, "%s: recurrent kernel is NULL", what);
  if (!r) {
    return;
  }
  double worst = 0.0;
  for (size_t a = 0; a < cols; ++a) {
    for (size_t b = 0; b < cols; ++b) {
      double dot = 0.0;
      for (size_t k = 0; k < rows; ++k) {
        dot += (double)r[k * cols + a] * (double)r[k * cols + b];
      }
      const double error = fabs(dot - (a == b ? 1.0 : 0.0));
      worst              = error > worst ? error : worst;
    }
  }
  EXPECT(worst <= 1e-5, "%s: R^T R differs from I by up to %g", what, worst);
}

/* R is square: R R^T must be the identity as well. */
static void
check_orthonormal_rows(const float* const r, const size_t n,
                       const char* const what)
{
  double worst = 0.0;
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = 0; b < n; ++b) {
      double dot = 0.0;
      for (size_t k = 0; k < n; ++k) {
        dot += (double)r[a * n + k] * (double)r[b * n + k];
      }
      const double error = fabs(dot - (a == b ? 1.0 : 0.0));
      worst              = error > worst ? error : worst;
    }
  }
  EXPECT(worst <= 1e-5, "%s: R R^T differs from I by up to %g", what, worst);
}

static void
check_all_zero(const float* const values, const size_t count,
               const char* const what)
{
  if (!values) {
    return; /* NULL initial state documents zeros */
  }
  for (size_t i = 0; i < count; ++i) {
    if (values[i] != 0.0f) {
      EXPECT(values[i] == 0.0f, "%s[%zu] is %g, expected 0", what, i,
             (double)values[i]);
      return;
    }
  }
}

static void
check_recurrent_layer(const SwLayerType type, const uint32_t gates,
                      const char* const name)
{
  enum { INPUT = 64, UNITS = 64 };
  SwModel* const    model = build_single(sw_layer_spec(type, UNITS), INPUT, 9);
  const SwLayerInfo info  = layer_info(model, 0);
  char              what[96];

  EXPECT(info.gates == gates && info.units == UNITS &&
           info.input_width == INPUT,
         "%s: gates %u units %u input %u", name, (unsigned)info.gates,
         (unsigned)info.units, (unsigned)info.input_width);

  snprintf(what, sizeof(what), "%s kernel", name);
  check_glorot(info.kernel, (size_t)gates * UNITS, INPUT, INPUT,
               (size_t)gates * UNITS, what);

  snprintf(what, sizeof(what), "%s recurrent kernel", name);
  check_orthonormal_columns(info.recurrent_kernel, (size_t)gates * UNITS,
                            UNITS, what);
  if (gates == 1 && info.recurrent_kernel) {
    check_orthonormal_rows(info.recurrent_kernel, UNITS, what);
  }

  if (type != SW_LAYER_LSTM) {
    snprintf(what, sizeof(what), "%s bias", name);
    check_all_zero(info.bias, (size_t)gates * UNITS, what);
    snprintf(what, sizeof(what), "%s recurrent_bias", name);
    check_all_zero(info.recurrent_bias, (size_t)gates * UNITS, what);
  }
  snprintf(what, sizeof(what), "%s initial_h", name);
  check_all_zero(info.initial_h, UNITS, what);
  sw_model_free(model);
}

static void
check_dense(void)
{
  enum { INPUT = 200, UNITS = 100 };
  SwModel* const model =
    build_single(sw_layer_spec(SW_LAYER_DENSE, UNITS), INPUT, 10);
  const SwLayerInfo info = layer_info(model, 0);
  check_glorot(info.kernel, UNITS, INPUT, INPUT, UNITS, "Dense kernel");
  check_all_zero(info.bias, UNITS, "Dense bias");
  EXPECT(info.recurrent_kernel == NULL && info.recurrent_bias == NULL &&
           info.state_size == 0,
         "Dense layer reports recurrent weights or state");
  sw_model_free(model);
}

/* Small layers: the limit depends on the true fans, not on a fixed size. */
static void
check_small_limits(void)
{
  SwModel* const model =
    build_single(sw_layer_spec(SW_LAYER_LSTM, 3), 2, 11);
  const SwLayerInfo info  = layer_info(model, 0);
  const float       limit = sqrtf(6.0f / (2.0f + 12.0f));
  for (size_t i = 0; i < 12U * 2U; ++i) {
    EXPECT(fabsf(info.kernel[i]) <= limit * 1.000001f,
           "LSTM(3) on 2 inputs: kernel[%zu] = %g exceeds %g", i,
           (double)info.kernel[i], (double)limit);
  }
  sw_model_free(model);
}

static void
check_forget_bias(void)
{
  enum { INPUT = 5, UNITS = 6 };
  SwLayerSpec with = sw_layer_spec(SW_LAYER_LSTM, UNITS);
  EXPECT(with.unit_forget_bias, "sw_layer_spec(LSTM) should default to "
         "unit_forget_bias = true, as Keras");
  EXPECT(with.use_bias, "sw_layer_spec(LSTM) should default to use_bias");
  with.unit_forget_bias = true;
  SwModel* const    model = build_single(with, INPUT, 12);
  const SwLayerInfo info  = layer_info(model, 0);
  for (size_t row = 0; row < 4U * UNITS; ++row) {
    const float total    = info.bias[row] + info.recurrent_bias[row];
    const bool  forget   = row >= UNITS && row < 2U * UNITS;
    const float expected = forget ? 1.0f : 0.0f;
    EXPECT(total == expected, "unit_forget_bias: bias + recurrent_bias of "
           "row %zu (%s gate) is %g, expected %g", row,
           forget ? "forget" : "non-forget", (double)total, (double)expected);
  }
  sw_model_free(model);

  SwLayerSpec without      = sw_layer_spec(SW_LAYER_LSTM, UNITS);
  without.unit_forget_bias = false;
  SwModel* const    plain      = build_single(without, INPUT, 12);
  const SwLayerInfo plain_info = layer_info(plain, 0);
  check_all_zero(plain_info.bias, 4U * UNITS, "LSTM bias without forget");
  check_all_zero(plain_info.recurrent_bias, 4U * UNITS,
                 "LSTM recurrent_bias without forget");
  check_all_zero(plain_info.initial_h, UNITS, "LSTM initial_h");
  check_all_zero(plain_info.initial_c, UNITS, "LSTM initial_c");
  sw_model_free(plain);
}

static bool
same_weights(const SwModel* const a, const SwModel* const b,
             const uint32_t num_layers)
{
  for (uint32_t l = 0; l < num_layers; ++l) {
    const SwLayerInfo x = layer_info(a, l);
    const SwLayerInfo y = layer_info(b, l);
    const size_t rows = (size_t)x.gates * x.units;
    if (memcmp(x.kernel, y.kernel, rows * x.input_width * sizeof(float)) ||
        memcmp(x.bias, y.bias, rows * sizeof(float))) {
      return false;
    }
    if (x.recurrent_kernel &&
        (memcmp(x.recurrent_kernel, y.recurrent_kernel,
                rows * x.units * sizeof(float)) ||
         memcmp(x.recurrent_bias, y.recurrent_bias, rows * sizeof(float)))) {
      return false;
    }
  }
  return true;
}

static void
check_seeds(void)
{
  SwLayerSpec layers[4] = {
    sw_layer_spec(SW_LAYER_LSTM, 6),
    sw_layer_spec(SW_LAYER_GRU, 5),
    sw_layer_spec(SW_LAYER_SIMPLE_RNN, 4),
    sw_layer_spec(SW_LAYER_DENSE, 2),
  };
  const SwModelSpec spec = unit_spec(3, 4, layers);
  SwModel* const    a    = unit_build(&spec, 42);
  SwModel* const    b    = unit_build(&spec, 42);
  SwModel* const    c    = unit_build(&spec, 43);
  EXPECT(same_weights(a, b, 4), "the same seed gave different weights");
  EXPECT(!same_weights(a, c, 4), "seeds 42 and 43 gave the same weights");

  /* Every layer differs with the seed, not only the first. */
  for (uint32_t l = 0; l < 4; ++l) {
    const SwLayerInfo x = layer_info(a, l);
    const SwLayerInfo z = layer_info(c, l);
    EXPECT(memcmp(x.kernel, z.kernel,
                  (size_t)x.gates * x.units * x.input_width * sizeof(float)),
           "layer %u kernel is the same for seeds 42 and 43", (unsigned)l);
  }
  sw_model_free(c);
  sw_model_free(b);
  sw_model_free(a);
}

int
main(void)
{
  check_recurrent_layer(SW_LAYER_LSTM, 4, "LSTM");
  check_recurrent_layer(SW_LAYER_GRU, 3, "GRU");
  check_recurrent_layer(SW_LAYER_SIMPLE_RNN, 1, "SimpleRNN");
  check_dense();
  check_small_limits();
  check_forget_bias();
  check_seeds();
  return unit_finish("initializers");
}
