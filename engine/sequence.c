/* Offline Keras-style calls on whole sequences, built on a CPU engine with
   one stream per sequence: the streaming path and the sequence path cannot
   drift apart. */

#include "error.h"
#include "model_impl.h"

#include <stdlib.h>
#include <string.h>

/* Longest chunk handed to the engine; sequences may be longer. */
#define SW_SEQUENCE_CHUNK 4096U

static SwStatus
validate_options(const SwModel* const model,
                 const SwSequenceOptions* const options, const float* const in,
                 const float* const out, const float* const final_state,
                 SwError* const err)
{
  if (!model || !options || !in || !out) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "sequence: model, options, in and out must not be "
                        "NULL");
  }
  if (options->batch < 1 || options->batch > 65536U) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "sequence: batch is %u; expected 1..65536",
                        options->batch);
  }
  if (options->steps < 1) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "sequence: steps is 0; expected at least 1");
  }
  if (options->return_state && !final_state) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "sequence: return_state is set but final_state is "
                        "NULL; expected room for batch x %zu floats",
                        model->state_size);
  }
  return SW_SUCCESS;
}

/* Set every sequence's state from [batch][state_size]. */
static SwStatus
apply_initial_state(SwEngine* const engine, const SwModel* const model,
                    const uint32_t batch, const float* const initial,
                    SwError* const err)
{
  for (uint32_t b = 0; b < batch; ++b) {
    const float* src = initial + (size_t)b * model->state_size;
    for (uint32_t l = 0; l < model->num_layers; ++l) {
      const size_t n = sw_layer_state_size(&model->layers[l]);
      if (n) {
        const SwStatus st =
          sw_engine_set_state(engine, (int32_t)b, l, src, n, err);
        if (st) {
          sw_error_prefix(err, "sequence: initial_state of sequence %u: ", b);
          return st;
        }
        src += n;
      }
    }
  }
  return SW_SUCCESS;
}

static void
collect_final_state(const SwEngine* const engine, const SwModel* const model,
                    const uint32_t batch, float* const final_state)
{
  for (uint32_t b = 0; b < batch; ++b) {
    float* dst = final_state + (size_t)b * model->state_size;
    for (uint32_t l = 0; l < model->num_layers; ++l) {
      const size_t n = sw_layer_state_size(&model->layers[l]);
      if (n) {
        sw_engine_get_state(engine, (int32_t)b, l, dst, n, NULL);
        dst += n;
      }
    }
  }
}

SwStatus
sw_model_run_sequence(const SwModel* const           model,
                      const SwSequenceOptions* const options,
                      const float* const in, float* const out,
                      float* const final_state, SwError* const err)
{
  SwStatus st = validate_options(model, options, in, out, final_state, err);
  if (st) {
    return st;
  }
  const uint32_t B = options->batch;
  const uint32_t T = options->steps;
  const size_t   I = model->input_width;
  const size_t   O = model->output_width;

  SwEngineConfig config    = sw_engine_config_default();
  config.streams           = B;
  config.max_block         = T < SW_SEQUENCE_CHUNK ? T : SW_SEQUENCE_CHUNK;
  config.backend           = SW_BACKEND_CPU;
  config.knob_smoothing_ms = 0.0f;
  SwEngine* const engine   = sw_engine_new(model, &config, err);
  if (!engine) {
    return err ? err->status : SW_ERR_NO_MEMORY;
  }

  /* Inputs in processing order (reversed for go_backwards), and every
     step's output, in the engine's [stream][frame][width] layout. */
  float* const ordered = (float*)malloc((size_t)B * T * I * sizeof(float));
  float* const outputs = (float*)malloc((size_t)B * T * O * sizeof(float));
  if (!ordered || !outputs) {
    st = sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    goto done;
  }
  for (uint32_t b = 0; b < B; ++b) {
    for (uint32_t t = 0; t < T; ++t) {
      const uint32_t src_t = options->go_backwards ? T - 1U - t : t;
      memcpy(ordered + ((size_t)b * T + t) * I,
             in + ((size_t)b * T + src_t) * I, I * sizeof(float));
    }
  }

  if (options->initial_state &&
      (st = apply_initial_state(engine, model, B, options->initial_state,
                                err))) {
    goto done;
  }
  if ((st = sw_engine_process_frames(engine, ordered, outputs, T))) {
    sw_error_set(err, st, "sequence: processing failed: %s", sw_strerror(st));
    goto done;
  }

  if (options->return_sequences) {
    memcpy(out, outputs, (size_t)B * T * O * sizeof(float));
  } else {
    for (uint32_t b = 0; b < B; ++b) {
      memcpy(out + (size_t)b * O, outputs + ((size_t)b * T + T - 1U) * O,
             O * sizeof(float));
    }
  }
  if (options->return_state) {
    collect_final_state(engine, model, B, final_state);
  }

done:
  free(ordered);
  free(outputs);
  sw_engine_free(engine);
  return st;
}
