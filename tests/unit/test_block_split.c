/*
  Block-split invariance: the same signal processed in calls of 1, 17 and
  512 frames, in a random split (including empty calls and calls longer
  than max_block) and in two long calls gives bit-identical output, for
  every layer type, a deep model with knobs, gains and skip, and 3 streams,
  through both sw_engine_process and sw_engine_process_frames. Knobs are set
  only at positions that are call boundaries in every split (0 and 17 * 512),
  while the smoothing ramps run across call boundaries.
*/

#include "unit_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  STREAMS        = 3,
  MAX_BLOCK      = 512,
  KNOB_CHANGE_AT = 17 * 512, /* a boundary of splits 1, 17 and 512 */
  TOTAL_FRAMES   = KNOB_CHANGE_AT + 1000,
  MAX_KNOBS      = 2,
  MAX_CALLS      = TOTAL_FRAMES + 64,
};

typedef struct {
  const char* name;
  uint32_t    lengths[MAX_CALLS];
  size_t      count;
} Split;

typedef struct {
  const char* name;
  SwModel*    model;
  uint32_t    input_width;
  uint32_t    output_width;
} TestModel;

/* Chunk [0, KNOB_CHANGE_AT) and [KNOB_CHANGE_AT, TOTAL) into `block`s. */
static void
make_block_split(Split* const split, const char* const name,
                 const uint32_t block)
{
  split->name  = name;
  split->count = 0;
  const uint32_t segments[2] = {KNOB_CHANGE_AT, TOTAL_FRAMES - KNOB_CHANGE_AT};
  for (size_t seg = 0; seg < 2; ++seg) {
    for (uint32_t done = 0; done < segments[seg];) {
      const uint32_t left = segments[seg] - done;
      const uint32_t n    = left < block ? left : block;
      split->lengths[split->count++] = n;
      done += n;
    }
  }
}

/* Random lengths 0 .. 1300 (some empty, some above max_block), with a
   boundary forced at KNOB_CHANGE_AT. */
static void
make_random_split(Split* const split, const uint64_t seed)
{
  split->name  = "random";
  split->count = 0;
  uint64_t       rng         = seed;
  const uint32_t segments[2] = {KNOB_CHANGE_AT, TOTAL_FRAMES - KNOB_CHANGE_AT};
  for (size_t seg = 0; seg < 2; ++seg) {
    for (uint32_t done = 0; done < segments[seg];) {
      const uint64_t pick = unit_rng_next(&rng) % 100U;
      uint32_t       n    = 0;
      if (pick < 5U) {
        n = 0;
      } else if (pick < 60U) {
        n = (uint32_t)(unit_rng_next(&rng) % 40U) + 1U;
      } else if (pick < 90U) {
        n = (uint32_t)(unit_rng_next(&rng) % MAX_BLOCK) + 1U;
      } else {
        n = (uint32_t)(unit_rng_next(&rng) % 800U) + MAX_BLOCK + 1U;
      }
      const uint32_t left = segments[seg] - done;
      n                   = n < left ? n : left;
      split->lengths[split->count++] = n;
      done += n;
    }
  }
}

static const float knob_targets_start[MAX_KNOBS] = {0.9f, -0.5f};
static const float knob_targets_later[MAX_KNOBS] = {0.1f, 0.7f};

/* Planar input for every stream. */
static float* planar_input[STREAMS];
/* Interleaved input [STREAMS][TOTAL][width] for the widest model. */
static float* frames_input[MAX_KNOBS + 1];

static void
setup_inputs(void)
{
  for (size_t s = 0; s < STREAMS; ++s) {
    planar_input[s] = unit_floats(TOTAL_FRAMES);
    unit_fill_audio(planar_input[s], TOTAL_FRAMES, 100 + s);
  }
  /* One interleaved input per input width 1 .. MAX_KNOBS + 1. */
  for (size_t width = 1; width <= MAX_KNOBS + 1; ++width) {
    float* const frames = unit_floats(STREAMS * TOTAL_FRAMES * width);
    for (size_t s = 0; s < STREAMS; ++s) {
      float* const stream = frames + s * TOTAL_FRAMES * width;
      for (size_t t = 0; t < TOTAL_FRAMES; ++t) {
        stream[t * width] = planar_input[s][t];
      }
      for (size_t k = 1; k < width; ++k) {
        unit_fill_knob(stream + k, TOTAL_FRAMES, width, -1.0f, 1.0f,
                       7 * s + k);
      }
    }
    frames_input[width - 1] = frames;
  }
}

static void
set_knobs(SwEngine* const engine, const uint32_t count,
          const float* const targets)
{
  for (uint32_t k = 0; k < count; ++k) {
    const SwStatus status = sw_engine_set_knob(engine, k, targets[k]);
    EXPECT(status == SW_SUCCESS, "set_knob(%u): %s", (unsigned)k,
           sw_strerror(status));
  }
}

/* Planar output [STREAMS][TOTAL] for one split. */
static float*
run_planar(const TestModel* const model, const Split* const split)
{
  SwEngine* const engine    = unit_engine(model->model, STREAMS, MAX_BLOCK, 20.0f);
  const uint32_t  num_knobs = model->input_width - 1;
  float* const    output    = unit_floats((size_t)STREAMS * TOTAL_FRAMES);

  set_knobs(engine, num_knobs, knob_targets_start);
  size_t position     = 0;
  bool   knobs_turned = false;
  for (size_t call = 0; call < split->count; ++call) {
    if (position == KNOB_CHANGE_AT && !knobs_turned) {
      set_knobs(engine, num_knobs, knob_targets_later);
      knobs_turned = true;
    }
    const float* in[STREAMS];
    float*       out[STREAMS];
    for (size_t s = 0; s < STREAMS; ++s) {
      in[s]  = planar_input[s] + position;
      out[s] = output + s * TOTAL_FRAMES + position;
    }
    const SwStatus status =
      sw_engine_process(engine, in, out, split->lengths[call]);
    EXPECT(status == SW_SUCCESS, "%s/%s: process(%u frames) at %zu: %s",
           model->name, split->name, (unsigned)split->lengths[call], position,
           sw_strerror(status));
    position += split->lengths[call];
  }
  sw_engine_free(engine);
  return output;
}

/* Interleaved output [STREAMS][TOTAL][output_width] for one split. */
static float*
run_frames(const TestModel* const model, const Split* const split)
{
  SwEngine* const engine = unit_engine(model->model, STREAMS, MAX_BLOCK, 20.0f);
  const size_t    in_w   = model->input_width;
  const size_t    out_w  = model->output_width;
  const float*    input  = frames_input[in_w - 1];
  float* const    output = unit_floats(STREAMS * TOTAL_FRAMES * out_w);
  /* Gather each call's frames into stream-major scratch and scatter back. */
  float* const call_in  = unit_floats(STREAMS * TOTAL_FRAMES * in_w);
  float* const call_out = unit_floats(STREAMS * TOTAL_FRAMES * out_w);

  size_t position = 0;
  for (size_t call = 0; call < split->count; ++call) {
    const size_t n = split->lengths[call];
    for (size_t s = 0; s < STREAMS; ++s) {
      memcpy(call_in + s * n * in_w,
             input + (s * TOTAL_FRAMES + position) * in_w,
             n * in_w * sizeof(float));
    }
    const SwStatus status =
      sw_engine_process_frames(engine, call_in, call_out, (uint32_t)n);
    EXPECT(status == SW_SUCCESS, "%s/%s: process_frames(%zu) at %zu: %s",
           model->name, split->name, n, position, sw_strerror(status));
    for (size_t s = 0; s < STREAMS; ++s) {
      memcpy(output + (s * TOTAL_FRAMES + position) * out_w,
             call_out + s * n * out_w, n * out_w * sizeof(float));
    }
    position += n;
  }
  free(call_out);
  free(call_in);
  sw_engine_free(engine);
  return output;
}

static void
check_model(const TestModel* const model, const Split* const splits,
            const size_t num_splits)
{
  float* const planar_reference = run_planar(model, &splits[0]);
  float* const frames_reference = run_frames(model, &splits[0]);
  const size_t frames_count =
    (size_t)STREAMS * TOTAL_FRAMES * model->output_width;

  /* A silent or constant output would make any comparison pass. */
  size_t changes = 0;
  bool   finite  = true;
  for (size_t i = 1; i < (size_t)STREAMS * TOTAL_FRAMES; ++i) {
    changes += planar_reference[i] != planar_reference[i - 1U];
    finite = finite && isfinite(planar_reference[i]);
  }
  EXPECT(finite && changes > TOTAL_FRAMES,
         "%s: the reference output is not a moving finite signal (%zu "
         "changes)", model->name, changes);

  for (size_t i = 1; i < num_splits; ++i) {
    char what[160];
    float* const planar = run_planar(model, &splits[i]);
    snprintf(what, sizeof(what), "%s: process, split %s vs %s", model->name,
             splits[i].name, splits[0].name);
    unit_expect_identical(planar_reference, planar,
                          (size_t)STREAMS * TOTAL_FRAMES, what);
    free(planar);

    float* const frames = run_frames(model, &splits[i]);
    snprintf(what, sizeof(what), "%s: process_frames, split %s vs %s",
             model->name, splits[i].name, splits[0].name);
    unit_expect_identical(frames_reference, frames, frames_count, what);
    free(frames);
  }

  /* Without knobs the two entry points compute the same thing. */
  if (model->input_width == 1 && model->output_width == 1) {
    char what[160];
    snprintf(what, sizeof(what), "%s: process vs process_frames",
             model->name);
    unit_expect_identical(planar_reference, frames_reference,
                          (size_t)STREAMS * TOTAL_FRAMES, what);
  }

  free(frames_reference);
  free(planar_reference);
}

static TestModel
make_model(const char* const name, const SwModelSpec* const spec,
           const uint64_t seed)
{
  TestModel model;
  model.name  = name;
  model.model = unit_build(spec, seed);
  SwModelInfo info;
  sw_model_info(model.model, &info);
  model.input_width  = info.input_width;
  model.output_width = info.output_width;
  return model;
}

int
main(void)
{
  setup_inputs();

  static Split splits[6];
  make_block_split(&splits[0], "blocks of 1", 1);
  make_block_split(&splits[1], "blocks of 17", 17);
  make_block_split(&splits[2], "blocks of 512", 512);
  make_random_split(&splits[3], 2024);
  make_random_split(&splits[4], 7);
  splits[4].name = "random (second seed)";
  make_block_split(&splits[5], "two calls longer than max_block",
                   TOTAL_FRAMES);
  const size_t num_splits = sizeof(splits) / sizeof(splits[0]);

  SwLayerSpec lstm[2] = {sw_layer_spec(SW_LAYER_LSTM, 12),
                         sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwModelSpec lstm_spec = unit_spec(1, 2, lstm);
  lstm_spec.skip        = true;

  SwLayerSpec gru_after[2] = {sw_layer_spec(SW_LAYER_GRU, 10),
                              sw_layer_spec(SW_LAYER_DENSE, 1)};
  gru_after[0].gru_reset   = SW_GRU_RESET_AFTER;
  const SwModelSpec gru_after_spec = unit_spec(1, 2, gru_after);

  SwLayerSpec gru_before[2] = {sw_layer_spec(SW_LAYER_GRU, 10),
                               sw_layer_spec(SW_LAYER_DENSE, 1)};
  gru_before[0].gru_reset   = SW_GRU_RESET_BEFORE;
  gru_before[0].recurrent_activation = SW_ACT_HARD_SIGMOID;
  const SwModelSpec gru_before_spec  = unit_spec(1, 2, gru_before);

  SwLayerSpec simple[2] = {sw_layer_spec(SW_LAYER_SIMPLE_RNN, 9),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  const SwModelSpec simple_spec = unit_spec(1, 2, simple);

  SwLayerSpec deep[5] = {
    sw_layer_spec(SW_LAYER_LSTM, 8),
    sw_layer_spec(SW_LAYER_GRU, 6),
    sw_layer_spec(SW_LAYER_SIMPLE_RNN, 5),
    sw_layer_spec(SW_LAYER_DENSE, 4),
    sw_layer_spec(SW_LAYER_DENSE, 2),
  };
  deep[1].gru_reset  = SW_GRU_RESET_BEFORE;
  deep[2].activation = SW_ACT_RELU;
  deep[3].activation = SW_ACT_TANH;
  const SwKnobSpec knobs[MAX_KNOBS] = {{"drive", 0.0f, 1.0f, 0.25f},
                                       {"tone", -1.0f, 1.0f, 0.0f}};
  SwModelSpec deep_spec    = unit_spec(MAX_KNOBS + 1, 5, deep);
  deep_spec.skip           = true;
  deep_spec.input_gain_db  = 6.0f;
  deep_spec.output_gain_db = -3.0f;
  deep_spec.num_knobs      = MAX_KNOBS;
  deep_spec.knobs          = knobs;

  /* A Conv1D front-end and one after the recurrence: their state is the
     input history, which must carry across calls like h and c. */
  SwLayerSpec conv[4] = {sw_layer_spec(SW_LAYER_CONV1D, 6),
                         sw_layer_spec(SW_LAYER_LSTM, 6),
                         sw_layer_spec(SW_LAYER_CONV1D, 3),
                         sw_layer_spec(SW_LAYER_DENSE, 1)};
  conv[0].kernel_size         = 4;
  conv[0].dilation            = 3;
  conv[0].activation          = SW_ACT_TANH;
  conv[2].kernel_size         = 2;
  const SwModelSpec conv_spec = unit_spec(1, 4, conv);

  /* A windowed model: its state is the last W input frames, which must
     carry across calls; every layer type over the window. */
  SwLayerSpec windowed[6] = {sw_layer_spec(SW_LAYER_CONV1D, 5),
                             sw_layer_spec(SW_LAYER_CONV1D, 4),
                             sw_layer_spec(SW_LAYER_GRU, 5),
                             sw_layer_spec(SW_LAYER_SIMPLE_RNN, 4),
                             sw_layer_spec(SW_LAYER_DENSE, 3),
                             sw_layer_spec(SW_LAYER_DENSE, 1)};
  windowed[0].kernel_size = 5;
  windowed[0].stride      = 3;
  windowed[0].padding     = SW_PADDING_SAME;
  windowed[1].kernel_size = 2;
  windowed[1].dilation    = 2;
  windowed[1].padding     = SW_PADDING_VALID;
  windowed[4].activation  = SW_ACT_TANH;
  SwModelSpec windowed_spec = unit_spec(1, 6, windowed);
  windowed_spec.window      = 37;

  TestModel models[] = {
    make_model("Conv1D stack", &conv_spec, 6),
    make_model("windowed", &windowed_spec, 7),
    make_model("LSTM", &lstm_spec, 1),
    make_model("GRU reset_after", &gru_after_spec, 2),
    make_model("GRU reset_before", &gru_before_spec, 3),
    make_model("SimpleRNN", &simple_spec, 4),
    make_model("deep with knobs", &deep_spec, 5),
  };
  for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); ++m) {
    check_model(&models[m], splits, num_splits);
    sw_model_free(models[m].model);
  }

  for (size_t s = 0; s < STREAMS; ++s) {
    free(planar_input[s]);
  }
  for (size_t w = 0; w < MAX_KNOBS + 1; ++w) {
    free(frames_input[w]);
  }
  return unit_finish("block_split");
}
