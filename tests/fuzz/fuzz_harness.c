/* Load bytes as a model; when a reader accepts them, also use the model the
   way a host would, because a reader that accepts a bad shape breaks the
   engine later, not the loader. */

#include "fuzz_harness.h"

#include <statewave/statewave.h>

#include <stdlib.h>
#include <string.h>

enum {
  FUZZ_STREAMS = 2,
  FUZZ_FRAMES  = 64,
  /* Engines and state copies above this many floats are skipped: a reader
     may rightly accept a large model, and running it for every input would
     slow the fuzzer to a crawl without reaching new reader code. */
  FUZZ_MAX_STATE_FLOATS = 1U << 20,
};

/* A fixed, deterministic signal with some level changes, so the recurrent
   state moves through more than zero. */
/* Where the reads of model strings end up, so the compiler keeps them. */
static volatile size_t fuzz_sink;

static float
fuzz_signal(const uint32_t stream, const uint32_t frame)
{
  const int32_t step = (int32_t)((frame * 7U + stream * 3U) % 17U) - 8;
  return (float)step * 0.1f;
}

static void
fuzz_run_engine(const SwModel* const model, const SwModelInfo* const info)
{
  SwEngineConfig config = sw_engine_config_default();
  config.streams        = FUZZ_STREAMS;
  config.max_block      = 32; /* 64 frames: two internal blocks */

  SwError         err;
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    return;
  }

  for (uint32_t knob = 0; knob < info->num_knobs; ++knob) {
    (void)sw_engine_set_knob(engine, knob, 0.5f);
  }

  float        in_buffers[FUZZ_STREAMS][FUZZ_FRAMES];
  float        out_buffers[FUZZ_STREAMS][FUZZ_FRAMES];
  const float* in[FUZZ_STREAMS];
  float*       out[FUZZ_STREAMS];
  for (uint32_t s = 0; s < FUZZ_STREAMS; ++s) {
    for (uint32_t f = 0; f < FUZZ_FRAMES; ++f) {
      in_buffers[s][f] = fuzz_signal(s, f);
    }
    in[s]  = in_buffers[s];
    out[s] = out_buffers[s];
  }
  (void)sw_engine_process(engine, in, out, FUZZ_FRAMES);

  /* Get/set each layer's state for all streams: the sizes the model reports
     must be the sizes the engine accepts. */
  for (uint32_t l = 0; l < info->num_layers; ++l) {
    SwLayerInfo layer;
    if (sw_model_layer(model, l, &layer) != SW_SUCCESS) {
      continue;
    }
    const size_t n = layer.state_size * FUZZ_STREAMS;
    if (n == 0 || n > FUZZ_MAX_STATE_FLOATS) {
      continue;
    }
    float* const state = (float*)malloc(n * sizeof(float));
    if (!state) {
      continue;
    }
    if (sw_engine_get_state(engine, -1, l, state, n, &err) == SW_SUCCESS) {
      (void)sw_engine_set_state(engine, -1, l, state, n, &err);
    }
    free(state);
  }

  /* Once more after the round trip, and after a reset of one stream. */
  (void)sw_engine_process(engine, in, out, FUZZ_FRAMES);
  sw_engine_reset(engine, 1);
  (void)sw_engine_process(engine, in, out, FUZZ_FRAMES / 2U);
  sw_engine_free(engine);
}

int
fuzz_load_and_run(const uint8_t* const data, const size_t size)
{
  SwError        err;
  SwModel* const model = sw_model_load_memory(data, size, "fuzz", &err);
  if (!model) {
    return 0;
  }

  SwModelInfo info;
  sw_model_info(model, &info);

  /* Touch every string and array the model hands out, so a dangling or
     unterminated one shows up under AddressSanitizer. */
  size_t touched = strlen(info.format) + strlen(info.path);
  for (uint32_t i = 0; i < info.num_metadata; ++i) {
    SwMetaEntry entry;
    if (sw_model_metadata(model, i, &entry) == SW_SUCCESS) {
      touched += strlen(entry.key) + strlen(entry.value);
    }
  }
  for (uint32_t i = 0; i < info.num_knobs; ++i) {
    SwKnobSpec knob;
    if (sw_model_knob(model, i, &knob) == SW_SUCCESS && knob.name) {
      touched += strlen(knob.name);
    }
  }
  const float* ref_in    = NULL;
  const float* ref_out   = NULL;
  size_t       ref_frame = 0;
  if (sw_model_reference(model, &ref_in, &ref_out, &ref_frame) == SW_SUCCESS &&
      ref_frame > 0) {
    const size_t last = ref_frame - 1U;
    touched += (size_t)(ref_in[last * info.input_width] != 0.0f);
    touched += (size_t)(ref_out[last * info.output_width] != 0.0f);
  }
  fuzz_sink = touched;

  if (info.state_size * FUZZ_STREAMS <= FUZZ_MAX_STATE_FLOATS &&
      info.num_params <= FUZZ_MAX_STATE_FLOATS) {
    fuzz_run_engine(model, &info);
  }
  sw_model_free(model);
  return 0;
}
