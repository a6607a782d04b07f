/*
  sw_model_run_sequence: bad options are refused with SW_ERR_BAD_ARG and a
  message; with return_sequences it computes exactly (bitwise) what an
  engine with `batch` streams computes over the same frames; the last
  output, the final state, a given initial state and go_backwards agree
  with the engine as well.
*/

#include "unit_support.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

enum {
  BATCH       = 3,
  STEPS       = 300,
  INPUT_WIDTH = 2,
  NUM_LAYERS  = 3,
};

static SwModel*
build_model(const bool with_skip_and_gains)
{
  SwLayerSpec layers[NUM_LAYERS] = {sw_layer_spec(SW_LAYER_LSTM, 6),
                                    sw_layer_spec(SW_LAYER_GRU, 4),
                                    sw_layer_spec(SW_LAYER_DENSE, 2)};
  SwModelSpec spec = unit_spec(INPUT_WIDTH, NUM_LAYERS, layers);
  if (with_skip_and_gains) {
    spec.skip           = true;
    spec.input_gain_db  = 4.0f;
    spec.output_gain_db = -1.0f;
  }
  return unit_build(&spec, 8);
}

static float*
make_input(void)
{
  float* const in    = unit_floats((size_t)BATCH * STEPS * INPUT_WIDTH);
  float        audio[STEPS];
  for (size_t b = 0; b < BATCH; ++b) {
    unit_fill_audio(audio, STEPS, 60 + b);
    for (size_t t = 0; t < STEPS; ++t) {
      in[(b * STEPS + t) * INPUT_WIDTH] = audio[t];
    }
    unit_fill_knob(in + b * STEPS * INPUT_WIDTH + 1, STEPS, INPUT_WIDTH, 0.0f,
                   1.0f, b);
  }
  return in;
}

static SwSequenceOptions
options_for(const bool return_sequences)
{
  SwSequenceOptions options;
  memset(&options, 0, sizeof(options));
  options.batch            = BATCH;
  options.steps            = STEPS;
  options.return_sequences = return_sequences;
  return options;
}

static void
expect_bad_arg(const char* const what, const SwModel* model,
               const SwSequenceOptions* options, const float* in, float* out,
               float* final_state)
{
  SwError        err = {SW_SUCCESS, ""};
  const SwStatus status =
    sw_model_run_sequence(model, options, in, out, final_state, &err);
  EXPECT(status == SW_ERR_BAD_ARG, "%s: status %s, expected SW_ERR_BAD_ARG",
         what, sw_strerror(status));
  EXPECT(err.message[0] != '\0', "%s: no message", what);
}

static void
check_bad_options(void)
{
  SwModel* const model = build_model(false);
  float* const   in    = make_input();
  float* const   out   = unit_floats((size_t)BATCH * STEPS * 2);
  float          state[BATCH * 20];
  SwSequenceOptions options = options_for(true);

  expect_bad_arg("NULL model", NULL, &options, in, out, NULL);
  expect_bad_arg("NULL options", model, NULL, in, out, NULL);
  expect_bad_arg("NULL input", model, &options, NULL, out, NULL);
  expect_bad_arg("NULL output", model, &options, in, NULL, NULL);

  options       = options_for(true);
  options.batch = 0;
  expect_bad_arg("batch 0", model, &options, in, out, NULL);

  options       = options_for(true);
  options.steps = 0;
  expect_bad_arg("steps 0", model, &options, in, out, NULL);

  options              = options_for(true);
  options.return_state = true;
  expect_bad_arg("return_state with NULL final_state", model, &options, in,
                 out, NULL);

  /* Without return_state, final_state is not needed; with it, it works. */
  options = options_for(true);
  EXPECT(sw_model_run_sequence(model, &options, in, out, NULL, NULL) ==
           SW_SUCCESS,
         "a valid call without return_state failed");
  options.return_state = true;
  EXPECT(sw_model_run_sequence(model, &options, in, out, state, NULL) ==
           SW_SUCCESS,
         "a valid call with return_state failed");

  free(out);
  free(in);
  sw_model_free(model);
}

/* Engine reference: BATCH streams over the same frames, CPU backend. */
static float*
engine_output(const SwModel* const model, const float* const in,
              const float* const initial_state, float* const final_state)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  SwEngine* const engine = unit_engine(model, BATCH, 64, 0.0f);

  /* initial_state and final_state are [B][state_size], layers concatenated;
     the engine's are per layer, so walk the layers. */
  size_t offset = 0;
  for (uint32_t layer = 0; layer < info.num_layers; ++layer) {
    SwLayerInfo layer_info;
    (void)sw_model_layer(model, layer, &layer_info);
    const size_t n = layer_info.state_size;
    for (int32_t b = 0; initial_state && n && b < BATCH; ++b) {
      EXPECT(sw_engine_set_state(engine, b, layer,
                                 initial_state + (size_t)b * info.state_size +
                                   offset,
                                 n, NULL) == SW_SUCCESS,
             "set_state");
    }
    offset += n;
  }

  float* const out = unit_floats((size_t)BATCH * STEPS * info.output_width);
  EXPECT(sw_engine_process_frames(engine, in, out, STEPS) == SW_SUCCESS,
         "process_frames");

  offset = 0;
  for (uint32_t layer = 0; layer < info.num_layers; ++layer) {
    SwLayerInfo layer_info;
    (void)sw_model_layer(model, layer, &layer_info);
    const size_t n = layer_info.state_size;
    for (int32_t b = 0; final_state && n && b < BATCH; ++b) {
      EXPECT(sw_engine_get_state(engine, b, layer,
                                 final_state + (size_t)b * info.state_size +
                                   offset,
                                 n, NULL) == SW_SUCCESS,
             "get_state");
    }
    offset += n;
  }
  sw_engine_free(engine);
  return out;
}

static void
check_matches_engine(const bool with_skip_and_gains)
{
  const char* const label =
    with_skip_and_gains ? "(skip and gains) " : "(plain) ";
  SwModel* const model = build_model(with_skip_and_gains);
  SwModelInfo    info;
  sw_model_info(model, &info);
  const size_t out_w   = info.output_width;
  const size_t state_n = (size_t)BATCH * info.state_size;
  float* const in      = make_input();
  char         what[128];

  float* const engine_state = unit_floats(state_n);
  float* const expected     = engine_output(model, in, NULL, engine_state);

  /* return_sequences and return_state. */
  SwSequenceOptions options = options_for(true);
  options.return_state      = true;
  float* const sequence     = unit_floats((size_t)BATCH * STEPS * out_w);
  float* const final_state  = unit_floats(state_n);
  SwError      err          = {SW_SUCCESS, ""};
  EXPECT(sw_model_run_sequence(model, &options, in, sequence, final_state,
                               &err) == SW_SUCCESS,
         "run_sequence: %s", err.message);
  snprintf(what, sizeof(what), "%sreturn_sequences vs process_frames", label);
  unit_expect_identical(expected, sequence, (size_t)BATCH * STEPS * out_w,
                        what);
  snprintf(what, sizeof(what), "%sfinal state vs engine state", label);
  unit_expect_identical(engine_state, final_state, state_n, what);

  /* Only the last step. */
  options           = options_for(false);
  float* const last = unit_floats((size_t)BATCH * out_w);
  EXPECT(sw_model_run_sequence(model, &options, in, last, NULL, &err) ==
           SW_SUCCESS,
         "run_sequence (last): %s", err.message);
  for (size_t b = 0; b < BATCH; ++b) {
    snprintf(what, sizeof(what), "%slast output of sequence %zu", label, b);
    unit_expect_identical(expected + (b * STEPS + STEPS - 1) * out_w,
                          last + b * out_w, out_w, what);
  }

  /* A given initial state: the engine given the same state by set_state. */
  float* const initial = unit_floats(state_n);
  for (size_t i = 0; i < state_n; ++i) {
    initial[i] = 0.3f - 0.07f * (float)(i % 11U);
  }
  float* const from_state = engine_output(model, in, initial, NULL);
  options                 = options_for(true);
  options.initial_state   = initial;
  EXPECT(sw_model_run_sequence(model, &options, in, sequence, NULL, &err) ==
           SW_SUCCESS,
         "run_sequence (initial_state): %s", err.message);
  snprintf(what, sizeof(what), "%sinitial_state vs engine set_state", label);
  unit_expect_identical(from_state, sequence, (size_t)BATCH * STEPS * out_w,
                        what);

  /* go_backwards: the engine over the time-reversed frames, outputs in
     processing order; the final state is the state after frame 0. */
  float* const reversed = unit_floats((size_t)BATCH * STEPS * INPUT_WIDTH);
  for (size_t b = 0; b < BATCH; ++b) {
    for (size_t t = 0; t < STEPS; ++t) {
      memcpy(reversed + (b * STEPS + t) * INPUT_WIDTH,
             in + (b * STEPS + (STEPS - 1 - t)) * INPUT_WIDTH,
             INPUT_WIDTH * sizeof(float));
    }
  }
  float* const backwards = engine_output(model, reversed, NULL, engine_state);
  options                = options_for(true);
  options.go_backwards   = true;
  options.return_state   = true;
  EXPECT(sw_model_run_sequence(model, &options, in, sequence, final_state,
                               &err) == SW_SUCCESS,
         "run_sequence (go_backwards): %s", err.message);
  snprintf(what, sizeof(what), "%sgo_backwards vs reversed input", label);
  unit_expect_identical(backwards, sequence, (size_t)BATCH * STEPS * out_w,
                        what);
  snprintf(what, sizeof(what), "%sgo_backwards final state", label);
  unit_expect_identical(engine_state, final_state, state_n, what);

  free(backwards);
  free(reversed);
  free(from_state);
  free(initial);
  free(last);
  free(final_state);
  free(sequence);
  free(expected);
  free(engine_state);
  free(in);
  sw_model_free(model);
}

int
main(void)
{
  check_bad_options();
  check_matches_engine(false);
  check_matches_engine(true);
  return unit_finish("sequence");
}
