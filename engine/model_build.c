/* Building a canonical model from a spec: validation of every dimension and
   value, copies of given weights, Keras initializers for the rest. Every
   format reader ends here, so this is the one place models are checked. */

#include "activation.h"
#include "error.h"
#include "initializers.h"
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Gains beyond this are certainly a unit mistake (dB vs linear). */
#define SW_MAX_GAIN_DB 120.0f
#define SW_MAX_SAMPLE_RATE 10.0e6

/* Array ids, which seed one generator each. */
enum { ARRAY_KERNEL, ARRAY_RECURRENT, ARRAY_BIAS };

const char*
sw_layer_type_name(const SwLayerType type)
{
  switch (type) {
  case SW_LAYER_LSTM:
    return "LSTM";
  case SW_LAYER_GRU:
    return "GRU";
  case SW_LAYER_SIMPLE_RNN:
    return "SimpleRNN";
  case SW_LAYER_DENSE:
    return "Dense";
  case SW_LAYER_CONV1D:
    return "Conv1D";
  }
  return "unknown";
}

SwLayerSpec
sw_layer_spec(const SwLayerType type, const uint32_t units)
{
  SwLayerSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.type             = type;
  spec.units            = units;
  spec.use_bias         = true;
  spec.unit_forget_bias = type == SW_LAYER_LSTM;
  spec.gru_reset        = SW_GRU_RESET_AFTER;
  spec.kernel_size      = 1;
  spec.dilation         = 1;
  spec.stride           = 1;
  spec.padding          = SW_PADDING_CAUSAL;
  return spec;
}

/* A spec's stride; 0 (a zeroed spec) means 1. */
static uint32_t
spec_stride(const SwLayerSpec* const spec)
{
  return spec->stride ? spec->stride : 1U;
}

static uint32_t
gate_count(const SwLayerType type)
{
  switch (type) {
  case SW_LAYER_LSTM:
    return 4;
  case SW_LAYER_GRU:
    return 3;
  case SW_LAYER_SIMPLE_RNN:
  case SW_LAYER_DENSE:
  case SW_LAYER_CONV1D:
    return 1;
  }
  return 0;
}

/* Whether a layer has a recurrent kernel, recurrent bias and [h(, c)]. */
static bool
is_recurrent(const SwLayerType type)
{
  return type == SW_LAYER_LSTM || type == SW_LAYER_GRU ||
         type == SW_LAYER_SIMPLE_RNN;
}

/* Columns of the kernel: the layer input, times the taps for Conv1D. */
static size_t
kernel_columns(const SwLayerSpec* const spec, const uint32_t input_width)
{
  return spec->type == SW_LAYER_CONV1D
           ? (size_t)spec->kernel_size * input_width
           : input_width;
}

/* Index of the first non-finite value, or -1. */
static long
first_nonfinite(const float* const values, const size_t count)
{
  for (size_t i = 0; i < count; ++i) {
    if (!isfinite(values[i])) {
      return (long)i;
    }
  }
  return -1;
}

static SwStatus
check_array(const float* const values, const size_t count,
            const uint32_t index, const SwLayerType type,
            const char* const name, SwError* const err)
{
  if (!values) {
    return SW_SUCCESS;
  }
  const long bad = first_nonfinite(values, count);
  if (bad >= 0) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (%s): %s[%ld] is %g; expected a finite number",
                        index, sw_layer_type_name(type), name, bad,
                        (double)values[bad]);
  }
  return SW_SUCCESS;
}

/* Multiply-adds of one step of a layer with `input_width` inputs. */
static uint64_t
step_macs(const SwLayerSpec* const spec, const uint32_t input_width)
{
  const uint64_t rows = (uint64_t)gate_count(spec->type) * spec->units;
  const uint64_t recurrent = is_recurrent(spec->type) ? spec->units : 0U;
  return rows * (kernel_columns(spec, input_width) + recurrent);
}

/* The sequence a layer of a windowed model makes of `in_steps` input steps,
   as Keras computes it: output steps and the zeros read before the input.
   Only Conv1D changes the length; see SwPadding in statewave.h. */
static SwStatus
window_steps(const SwLayerSpec* const spec, const uint32_t index,
             const uint32_t in_steps, uint32_t* const out_steps,
             uint32_t* const pad_before, SwError* const err)
{
  *out_steps  = in_steps;
  *pad_before = 0;
  if (spec->type != SW_LAYER_CONV1D) {
    return SW_SUCCESS;
  }
  const uint32_t stride = spec_stride(spec);
  const uint32_t reach  = (spec->kernel_size - 1U) * spec->dilation;
  const uint32_t span   = reach + 1U;
  switch (spec->padding) {
  case SW_PADDING_CAUSAL:
    *out_steps  = (in_steps - 1U) / stride + 1U;
    *pad_before = reach;
    break;
  case SW_PADDING_VALID:
    if (in_steps < span) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): its input is %u steps per "
                          "window; valid padding needs at least (kernel_size "
                          "- 1) x dilation + 1 = %u (a longer window or "
                          "smaller strides before it)",
                          index, in_steps, span);
    }
    *out_steps = (in_steps - span) / stride + 1U;
    break;
  case SW_PADDING_SAME: {
    /* TensorFlow's SAME: the total padding is split, the odd zero after. */
    *out_steps = (in_steps - 1U) / stride + 1U;
    const uint64_t needed = (uint64_t)(*out_steps - 1U) * stride + span;
    *pad_before = needed > in_steps ? (uint32_t)((needed - in_steps) / 2U)
                                    : 0U;
    break;
  }
  }
  return SW_SUCCESS;
}

/* Layers from this index on are Dense only: per-step maps of which a
   windowed model needs just the last step. */
static uint32_t
dense_tail_start(const SwLayerSpec* const layers, const uint32_t count)
{
  uint32_t start = count;
  while (start > 0 && layers[start - 1U].type == SW_LAYER_DENSE) {
    --start;
  }
  return start;
}

static SwStatus
validate_layer(const SwLayerSpec* const spec, const uint32_t index,
               const uint32_t input_width, const bool windowed,
               SwError* const err)
{
  if ((unsigned)spec->type > (unsigned)SW_LAYER_CONV1D) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u: type is %d; expected LSTM, GRU, SimpleRNN, "
                        "Dense or Conv1D",
                        index, (int)spec->type);
  }
  const char* const type_name = sw_layer_type_name(spec->type);
  if (spec->units < 1 || spec->units > SW_MAX_UNITS) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (%s): units is %u; expected 1..%u", index,
                        type_name, spec->units, SW_MAX_UNITS);
  }
  if (!sw_activation_valid(spec->activation)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (%s): activation is %d; expected a Keras "
                        "activation",
                        index, type_name, (int)spec->activation);
  }
  if (!sw_activation_valid(spec->recurrent_activation)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (%s): recurrent_activation is %d; expected "
                        "a Keras activation",
                        index, type_name, (int)spec->recurrent_activation);
  }
  if ((unsigned)spec->gru_reset > (unsigned)SW_GRU_RESET_BEFORE) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (%s): gru_reset is %d; expected reset after "
                        "(0) or before (1)",
                        index, type_name, (int)spec->gru_reset);
  }
  if (spec->type == SW_LAYER_SIMPLE_RNN && spec->activation != SW_ACT_DEFAULT &&
      spec->activation != SW_ACT_TANH && spec->activation != SW_ACT_RELU) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (SimpleRNN): activation is %s; expected tanh "
                        "or relu",
                        index, sw_activation_name(spec->activation));
  }
  if (spec->type == SW_LAYER_CONV1D) {
    if (spec->kernel_size < 1 || spec->kernel_size > SW_MAX_KERNEL_SIZE) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): kernel_size is %u; expected "
                          "1..%u",
                          index, spec->kernel_size, SW_MAX_KERNEL_SIZE);
    }
    if (spec->dilation < 1 || spec->dilation > SW_MAX_DILATION) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): dilation is %u; expected 1..%u",
                          index, spec->dilation, SW_MAX_DILATION);
    }
    const size_t history = (size_t)(spec->kernel_size - 1U) * spec->dilation;
    if (history > SW_MAX_CONV_HISTORY) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): (kernel_size - 1) x dilation is "
                          "%zu frames; expected at most %u",
                          index, history, SW_MAX_CONV_HISTORY);
    }
    if (spec_stride(spec) > SW_MAX_STRIDE) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): stride is %u; expected 1..%u",
                          index, spec->stride, SW_MAX_STRIDE);
    }
    if ((unsigned)spec->padding > (unsigned)SW_PADDING_SAME) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): padding is %d; expected causal "
                          "(0), valid (1) or same (2)",
                          index, (int)spec->padding);
    }
    /* A streaming model emits one output per input frame from a causal
       history: decimating or padding around a fixed window only exists
       in a windowed model. */
    if (!windowed && spec_stride(spec) != 1U) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): stride is %u in a streaming "
                          "model (window 0); a stride above 1 needs a "
                          "windowed model",
                          index, spec->stride);
    }
    if (!windowed && spec->padding != SW_PADDING_CAUSAL) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "layer %u (Conv1D): padding is %s in a streaming "
                          "model (window 0); only causal padding streams, "
                          "valid and same need a windowed model",
                          index,
                          spec->padding == SW_PADDING_VALID ? "valid"
                                                            : "same");
    }
  }
  if (!is_recurrent(spec->type) && (spec->initial_h || spec->initial_c)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (%s): an initial state was given; only "
                        "recurrent layers have a learned initial state",
                        index, type_name);
  }
  if (spec->type != SW_LAYER_LSTM && spec->initial_c) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layer %u (%s): initial_c was given; only LSTM layers "
                        "have a cell state",
                        index, type_name);
  }

  const size_t rows = (size_t)gate_count(spec->type) * spec->units;
  SwStatus     st   = SW_SUCCESS;
  if ((st = check_array(spec->kernel,
                        rows * kernel_columns(spec, input_width), index,
                        spec->type, "kernel", err)) ||
      (st = check_array(spec->bias, rows, index, spec->type, "bias", err)) ||
      (st = check_array(spec->initial_h, spec->units, index, spec->type,
                        "initial_h", err)) ||
      (st = check_array(spec->initial_c, spec->units, index, spec->type,
                        "initial_c", err))) {
    return st;
  }
  if (is_recurrent(spec->type) &&
      ((st = check_array(spec->recurrent_kernel, rows * spec->units, index,
                         spec->type, "recurrent_kernel", err)) ||
       (st = check_array(spec->recurrent_bias, rows, index, spec->type,
                         "recurrent_bias", err)))) {
    return st;
  }
  return SW_SUCCESS;
}

static SwStatus
validate_model(const SwModelSpec* const spec, SwError* const err)
{
  if (spec->input_width < 1 || spec->input_width > SW_MAX_INPUT_WIDTH) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "input_width is %u; expected 1..%u", spec->input_width,
                        SW_MAX_INPUT_WIDTH);
  }
  if (spec->num_layers < 1 || spec->num_layers > SW_MAX_LAYERS) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "num_layers is %u; expected 1..%u", spec->num_layers,
                        SW_MAX_LAYERS);
  }
  if (!spec->layers) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "layers is NULL; expected %u layer specs",
                        spec->num_layers);
  }
  if (!isfinite(spec->input_gain_db) ||
      fabsf(spec->input_gain_db) > SW_MAX_GAIN_DB) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "input_gain_db is %g; expected a finite gain within "
                        "+-%g dB",
                        (double)spec->input_gain_db, (double)SW_MAX_GAIN_DB);
  }
  if (!isfinite(spec->output_gain_db) ||
      fabsf(spec->output_gain_db) > SW_MAX_GAIN_DB) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "output_gain_db is %g; expected a finite gain within "
                        "+-%g dB",
                        (double)spec->output_gain_db, (double)SW_MAX_GAIN_DB);
  }
  if (!(spec->sample_rate >= 0.0 && spec->sample_rate <= SW_MAX_SAMPLE_RATE)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "sample_rate is %g; expected 0 (unknown) or a rate in "
                        "Hz up to %g",
                        spec->sample_rate, SW_MAX_SAMPLE_RATE);
  }
  if (spec->num_knobs > spec->input_width - 1U) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "num_knobs is %u; expected at most input_width - 1 = %u "
                        "(column 0 is the audio)",
                        spec->num_knobs, spec->input_width - 1U);
  }
  if (spec->num_knobs && !spec->knobs) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "knobs is NULL; expected %u knob specs",
                        spec->num_knobs);
  }
  for (uint32_t k = 0; k < spec->num_knobs; ++k) {
    const SwKnobSpec* const knob = &spec->knobs[k];
    if (!isfinite(knob->min) || !isfinite(knob->max) ||
        !(knob->min <= knob->max) || !(knob->default_value >= knob->min) ||
        !(knob->default_value <= knob->max)) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "knob %u: range [%g, %g] with default %g; expected "
                          "finite min <= default <= max",
                          k + 1U, (double)knob->min, (double)knob->max,
                          (double)knob->default_value);
    }
  }
  if (spec->num_metadata && !spec->metadata) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "metadata is NULL; expected %u entries",
                        spec->num_metadata);
  }
  for (uint32_t i = 0; i < spec->num_metadata; ++i) {
    if (!spec->metadata[i].key) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "metadata[%u]: key is NULL; expected a string", i);
    }
  }

  if (spec->window > SW_MAX_WINDOW) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "window is %u frames; expected 0 (streaming) or "
                        "1..%u",
                        spec->window, SW_MAX_WINDOW);
  }

  const bool     windowed = spec->window > 0;
  const uint32_t tail     = dense_tail_start(spec->layers, spec->num_layers);
  uint32_t       width    = spec->input_width;
  uint32_t       steps    = spec->window;
  uint64_t       macs     = 0;
  for (uint32_t i = 0; i < spec->num_layers; ++i) {
    const SwLayerSpec* const layer = &spec->layers[i];
    SwStatus st = validate_layer(layer, i, width, windowed, err);
    if (st) {
      return st;
    }
    if (windowed) {
      uint32_t out_steps = 0, pad_before = 0;
      if ((st = window_steps(layer, i, steps, &out_steps, &pad_before,
                             err))) {
        return st;
      }
      steps = out_steps;
      macs += step_macs(layer, width) * (i >= tail ? 1U : steps);
    }
    width = layer->units;
  }
  if (macs > SW_MAX_WINDOW_MACS) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "window of %u frames: one output frame costs %llu "
                        "multiply-adds through every layer; expected at "
                        "most %llu (a smaller window, strides or layers)",
                        spec->window, (unsigned long long)macs,
                        (unsigned long long)SW_MAX_WINDOW_MACS);
  }
  return SW_SUCCESS;
}

static float*
alloc_floats(const size_t count)
{
  return (float*)calloc(count ? count : 1U, sizeof(float));
}

static float*
copy_floats(const float* const src, const size_t count)
{
  float* const dst = alloc_floats(count);
  if (dst && src) {
    memcpy(dst, src, count * sizeof(float));
  }
  return dst;
}

static SwActivation
resolve_activation(const SwLayerType type, const SwActivation act)
{
  if (act != SW_ACT_DEFAULT) {
    return act;
  }
  return is_recurrent(type) ? SW_ACT_TANH : SW_ACT_LINEAR;
}

static SwStatus
build_layer(SwLayer* const layer, const SwLayerSpec* const spec,
            const uint32_t index, const uint32_t input_width,
            const uint64_t seed, SwError* const err)
{
  const uint32_t U    = spec->units;
  const uint32_t G    = gate_count(spec->type);
  const size_t   rows = (size_t)G * U;

  layer->type                 = spec->type;
  layer->input_width          = input_width;
  layer->units                = U;
  layer->gates                = G;
  layer->activation           = resolve_activation(spec->type, spec->activation);
  layer->recurrent_activation = spec->recurrent_activation == SW_ACT_DEFAULT
                                  ? SW_ACT_SIGMOID
                                  : spec->recurrent_activation;
  layer->gru_reset            = spec->gru_reset;
  layer->use_bias             = spec->use_bias;
  layer->kernel_size = spec->type == SW_LAYER_CONV1D ? spec->kernel_size : 1U;
  layer->dilation    = spec->type == SW_LAYER_CONV1D ? spec->dilation : 1U;
  layer->stride      = spec->type == SW_LAYER_CONV1D ? spec_stride(spec) : 1U;
  layer->padding     = spec->type == SW_LAYER_CONV1D ? spec->padding
                                                     : SW_PADDING_CAUSAL;

  /* Keras fans: the kernel's input and output sizes, times the receptive
     field (the taps) for convolutions. */
  SwRng        rng;
  const size_t columns = kernel_columns(spec, input_width);
  layer->kernel        = copy_floats(spec->kernel, rows * columns);
  if (layer->kernel && !spec->kernel) {
    sw_rng_seed(&rng, seed, index, ARRAY_KERNEL);
    sw_init_glorot_uniform(&rng, layer->kernel, rows * columns, columns,
                           rows * layer->kernel_size);
  }

  /* Biases: zeros unless given; unit_forget_bias puts Keras's 1.0 on the
     forget gate (rows U..2U in i, f, g, o order). */
  layer->bias = copy_floats(spec->use_bias ? spec->bias : NULL, rows);
  if (layer->bias && spec->use_bias && !spec->bias &&
      spec->type == SW_LAYER_LSTM && spec->unit_forget_bias) {
    for (uint32_t j = U; j < 2U * U; ++j) {
      layer->bias[j] = 1.0f;
    }
  }
  if (!layer->kernel || !layer->bias) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }

  if (is_recurrent(spec->type)) {
    layer->recurrent_kernel = copy_floats(spec->recurrent_kernel, rows * U);
    layer->recurrent_bias =
      copy_floats(spec->use_bias ? spec->recurrent_bias : NULL, rows);
    if (!layer->recurrent_kernel || !layer->recurrent_bias) {
      return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    }
    if (!spec->recurrent_kernel) {
      sw_rng_seed(&rng, seed, index, ARRAY_RECURRENT);
      if (sw_init_orthogonal(&rng, layer->recurrent_kernel, rows, U)) {
        return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
      }
    }
    if (spec->initial_h &&
        !(layer->initial_h = copy_floats(spec->initial_h, U))) {
      return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    }
    if (spec->initial_c &&
        !(layer->initial_c = copy_floats(spec->initial_c, U))) {
      return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    }
  }
  return SW_SUCCESS;
}

/* See sw_layer_state_size. */
static size_t
streaming_state_size(const SwLayer* const layer)
{
  switch (layer->type) {
  case SW_LAYER_LSTM:
    return 2U * (size_t)layer->units;
  case SW_LAYER_GRU:
  case SW_LAYER_SIMPLE_RNN:
    return layer->units;
  case SW_LAYER_DENSE:
    return 0;
  case SW_LAYER_CONV1D:
    return (size_t)(layer->kernel_size - 1U) * layer->dilation *
           layer->input_width;
  }
  return 0;
}

static char*
dup_string(const char* const s)
{
  const size_t n    = strlen(s) + 1U;
  char* const  copy = (char*)malloc(n);
  if (copy) {
    memcpy(copy, s, n);
  }
  return copy;
}

static SwStatus
build_facts(SwModel* const model, const SwModelSpec* const spec,
            SwError* const err)
{
  model->input_width    = spec->input_width;
  model->skip           = spec->skip;
  model->input_gain_db  = spec->input_gain_db;
  model->output_gain_db = spec->output_gain_db;
  model->sample_rate    = spec->sample_rate;

  /* Every extra input column is a knob; undescribed ones get defaults. */
  model->num_knobs = spec->input_width - 1U;
  model->knobs =
    (SwKnobSpec*)calloc(model->num_knobs ? model->num_knobs : 1U,
                        sizeof(SwKnobSpec));
  if (!model->knobs) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  for (uint32_t k = 0; k < model->num_knobs; ++k) {
    SwKnobSpec knob = {NULL, 0.0f, 1.0f, 0.5f};
    if (k < spec->num_knobs) {
      knob = spec->knobs[k];
    }
    char default_name[32];
    snprintf(default_name, sizeof(default_name), "knob %u", k + 1U);
    const char* const name = knob.name ? knob.name : default_name;
    if (!(model->knobs[k].name = dup_string(name))) {
      return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    }
    model->knobs[k].min           = knob.min;
    model->knobs[k].max           = knob.max;
    model->knobs[k].default_value = knob.default_value;
  }

  model->metadata =
    (SwMetaEntry*)calloc(spec->num_metadata ? spec->num_metadata : 1U,
                         sizeof(SwMetaEntry));
  if (!model->metadata) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  for (uint32_t i = 0; i < spec->num_metadata; ++i) {
    const char* const value = spec->metadata[i].value;
    model->metadata[i].key   = dup_string(spec->metadata[i].key);
    model->metadata[i].value = dup_string(value ? value : "");
    ++model->num_metadata;
    if (!model->metadata[i].key || !model->metadata[i].value) {
      return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    }
  }
  return SW_SUCCESS;
}

SwModel*
sw_model_build(const SwModelSpec* const spec, const uint64_t seed,
               SwError* const err)
{
  if (!spec) {
    sw_error_set(err, SW_ERR_BAD_ARG, "model spec is NULL");
    return NULL;
  }
  if (validate_model(spec, err)) {
    return NULL;
  }

  SwModel* const model = (SwModel*)calloc(1, sizeof(SwModel));
  if (!model) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  model->layers = (SwLayer*)calloc(spec->num_layers, sizeof(SwLayer));
  if (!model->layers || sw_model_set_origin(model, "spec", "", err) ||
      build_facts(model, spec, err)) {
    sw_model_free(model);
    return NULL;
  }

  model->window       = spec->window;
  const uint32_t tail = dense_tail_start(spec->layers, spec->num_layers);
  uint32_t       width = spec->input_width;
  uint32_t       steps = spec->window;
  for (uint32_t i = 0; i < spec->num_layers; ++i) {
    SwLayer* const layer = &model->layers[i];
    model->num_layers    = i + 1U; /* so free() sees what was allocated */
    if (build_layer(layer, &spec->layers[i], i, width, seed, err)) {
      sw_model_free(model);
      return NULL;
    }
    const size_t rows   = (size_t)layer->gates * layer->units;
    const size_t biases = layer->use_bias ? rows : 0U;
    model->num_params += rows * width * layer->kernel_size + biases;
    if (is_recurrent(layer->type)) {
      model->num_params += rows * layer->units + biases;
    }
    const uint64_t macs = step_macs(&spec->layers[i], width);
    if (model->window) {
      /* Validated above, so this cannot fail. */
      layer->in_steps = steps;
      window_steps(&spec->layers[i], i, steps, &layer->out_steps,
                   &layer->pad_before, NULL);
      steps             = layer->out_steps;
      layer->state_size = i == 0 ? (size_t)model->window * model->input_width
                                 : 0U;
      model->macs_per_frame += macs * (i >= tail ? 1U : steps);
    } else {
      layer->in_steps   = 1;
      layer->out_steps  = 1;
      layer->state_size = streaming_state_size(layer);
      model->macs_per_frame += macs;
    }
    model->state_size += layer->state_size;
    width = layer->units;
  }
  model->output_width = width;
  return model;
}
