/*
  Stream state: sw_engine_get_state/set_state round-trip per layer, per
  stream and for all streams (-1); a wrong size is refused with a message
  giving the expected size; reset of one stream leaves the others alone;
  reset restores the initial state (zeros or the learned h0/c0) so output
  after a reset equals a fresh engine's; and the state fully determines what
  comes next.
*/

#include "unit_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  STREAMS     = 3,
  FRAMES      = 700,
  INPUT_WIDTH = 2,
  NUM_LAYERS  = 4,
};

/* LSTM(7) -> GRU(5) -> SimpleRNN(4) -> Dense(2): state 14, 5, 4 and 0. */
static const size_t layer_state_sizes[NUM_LAYERS] = {14, 5, 4, 0};

static SwModel*
build_plain_model(void)
{
  SwLayerSpec layers[NUM_LAYERS] = {
    sw_layer_spec(SW_LAYER_LSTM, 7),
    sw_layer_spec(SW_LAYER_GRU, 5),
    sw_layer_spec(SW_LAYER_SIMPLE_RNN, 4),
    sw_layer_spec(SW_LAYER_DENSE, 2),
  };
  const SwModelSpec spec = unit_spec(INPUT_WIDTH, NUM_LAYERS, layers);
  return unit_build(&spec, 77);
}

/* Interleaved frames [STREAMS][FRAMES][INPUT_WIDTH], different per seed. */
static float*
make_frames(const uint64_t seed)
{
  float* const frames = unit_floats((size_t)STREAMS * FRAMES * INPUT_WIDTH);
  float* const audio  = unit_floats(FRAMES);
  for (size_t s = 0; s < STREAMS; ++s) {
    unit_fill_audio(audio, FRAMES, seed + s);
    float* const stream = frames + s * FRAMES * INPUT_WIDTH;
    for (size_t t = 0; t < FRAMES; ++t) {
      stream[t * INPUT_WIDTH] = audio[t];
    }
    unit_fill_knob(stream + 1, FRAMES, INPUT_WIDTH, 0.0f, 1.0f, seed + 10 * s);
  }
  free(audio);
  return frames;
}

static float*
run_frames(SwEngine* const engine, const float* const frames,
           const uint32_t output_width)
{
  float* const out = unit_floats((size_t)STREAMS * FRAMES * output_width);
  const SwStatus status = sw_engine_process_frames(engine, frames, out, FRAMES);
  EXPECT(status == SW_SUCCESS, "process_frames: %s", sw_strerror(status));
  return out;
}

static void
fill_pattern(float* const dst, const size_t n, const float base)
{
  for (size_t i = 0; i < n; ++i) {
    dst[i] = base + 0.001f * (float)i - 0.25f * (float)(i % 3U);
  }
}

static bool
state_equals(SwEngine* const engine, const int32_t stream,
             const uint32_t layer, const float* const expected,
             const size_t n, const char* const what)
{
  float*  got    = unit_floats(n);
  SwError err    = {SW_SUCCESS, ""};
  SwStatus status = sw_engine_get_state(engine, stream, layer, got, n, &err);
  EXPECT(status == SW_SUCCESS, "%s: get_state(stream %d, layer %u): %s",
         what, (int)stream, (unsigned)layer, err.message);
  const bool same = status == SW_SUCCESS &&
                    unit_expect_identical(expected, got, n, what);
  free(got);
  return same;
}

static void
check_shapes_reported(const SwModel* const model)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  size_t total = 0;
  for (uint32_t layer = 0; layer < NUM_LAYERS; ++layer) {
    SwLayerInfo layer_info;
    EXPECT(sw_model_layer(model, layer, &layer_info) == SW_SUCCESS,
           "sw_model_layer(%u)", (unsigned)layer);
    EXPECT(layer_info.state_size == layer_state_sizes[layer],
           "layer %u state_size %zu, expected %zu", (unsigned)layer,
           layer_info.state_size, layer_state_sizes[layer]);
    total += layer_state_sizes[layer];
  }
  EXPECT(info.state_size == total, "model state_size %zu, expected %zu",
         info.state_size, total);
}

static void
check_round_trip(void)
{
  SwModel* const  model  = build_plain_model();
  SwEngine* const engine = unit_engine(model, STREAMS, 64, 0.0f);
  check_shapes_reported(model);

  for (uint32_t layer = 0; layer < NUM_LAYERS - 1; ++layer) {
    const size_t n     = layer_state_sizes[layer];
    float* const zeros = unit_floats(n);
    float* const value = unit_floats(n);
    for (int32_t stream = 0; stream < STREAMS; ++stream) {
      state_equals(engine, stream, layer, zeros, n, "fresh state is zero");
    }

    /* Per stream: each stream keeps its own values. */
    for (int32_t stream = 0; stream < STREAMS; ++stream) {
      fill_pattern(value, n, (float)(layer * 10U) + (float)stream);
      SwError err = {SW_SUCCESS, ""};
      EXPECT(sw_engine_set_state(engine, stream, layer, value, n, &err) ==
               SW_SUCCESS,
             "set_state(stream %d, layer %u): %s", (int)stream,
             (unsigned)layer, err.message);
    }
    for (int32_t stream = 0; stream < STREAMS; ++stream) {
      fill_pattern(value, n, (float)(layer * 10U) + (float)stream);
      state_equals(engine, stream, layer, value, n,
                   "per-stream set/get round trip");
    }

    /* All streams at once, stream-major, consistent with per stream. */
    const size_t all_n = n * STREAMS;
    float* const all   = unit_floats(all_n);
    fill_pattern(all, all_n, -3.0f - (float)layer);
    SwError err = {SW_SUCCESS, ""};
    EXPECT(sw_engine_set_state(engine, -1, layer, all, all_n, &err) ==
             SW_SUCCESS,
           "set_state(-1, layer %u): %s", (unsigned)layer, err.message);
    state_equals(engine, -1, layer, all, all_n, "all-stream round trip");
    for (int32_t stream = 0; stream < STREAMS; ++stream) {
      state_equals(engine, stream, layer, all + (size_t)stream * n, n,
                   "stream slice of an all-stream set_state");
    }
    free(all);
    free(value);
    free(zeros);
  }
  sw_engine_free(engine);
  sw_model_free(model);
}

static void
expect_size_error(const SwStatus status, const SwError* const err,
                  const size_t expected_n, const char* const what)
{
  char expected_text[32];
  snprintf(expected_text, sizeof(expected_text), "%zu", expected_n);
  EXPECT(status == SW_ERR_BAD_ARG, "%s: status %s, expected SW_ERR_BAD_ARG",
         what, sw_strerror(status));
  EXPECT(err->status == status, "%s: err.status %d differs from return %d",
         what, (int)err->status, (int)status);
  EXPECT(unit_contains(err->message, expected_text),
         "%s: message \"%s\" does not state the expected size %s", what,
         err->message, expected_text);
}

static void
check_wrong_sizes(void)
{
  SwModel* const  model  = build_plain_model();
  SwEngine* const engine = unit_engine(model, STREAMS, 64, 0.0f);
  float           buffer[64] = {0};
  SwError         err        = {SW_SUCCESS, ""};

  SwStatus status = sw_engine_get_state(engine, 0, 0, buffer, 13, &err);
  expect_size_error(status, &err, 14, "get_state n 13 for LSTM(7)");

  err    = (SwError){SW_SUCCESS, ""};
  status = sw_engine_set_state(engine, 1, 0, buffer, 15, &err);
  expect_size_error(status, &err, 14, "set_state n 15 for LSTM(7)");

  err    = (SwError){SW_SUCCESS, ""};
  status = sw_engine_get_state(engine, -1, 0, buffer, 14, &err);
  expect_size_error(status, &err, 42, "get_state(-1) n 14 for 3 streams");

  err    = (SwError){SW_SUCCESS, ""};
  status = sw_engine_set_state(engine, -1, 1, buffer, 5, &err);
  expect_size_error(status, &err, 15, "set_state(-1) n 5 for GRU(5)");

  /* A failed set_state leaves the state alone. */
  float ones[14];
  for (size_t i = 0; i < 14; ++i) {
    ones[i] = 1.0f;
  }
  (void)sw_engine_set_state(engine, 0, 0, ones, 13, NULL);
  float zeros[14] = {0};
  state_equals(engine, 0, 0, zeros, 14, "state after a refused set_state");

  err    = (SwError){SW_SUCCESS, ""};
  status = sw_engine_get_state(engine, STREAMS, 0, buffer, 14, &err);
  EXPECT(status == SW_ERR_BAD_ARG && err.message[0],
         "stream out of range: %s \"%s\"", sw_strerror(status), err.message);

  err    = (SwError){SW_SUCCESS, ""};
  status = sw_engine_get_state(engine, -2, 0, buffer, 14, &err);
  EXPECT(status == SW_ERR_BAD_ARG && err.message[0],
         "stream -2: %s \"%s\"", sw_strerror(status), err.message);

  err    = (SwError){SW_SUCCESS, ""};
  status = sw_engine_set_state(engine, 0, NUM_LAYERS, buffer, 0, &err);
  EXPECT(status == SW_ERR_BAD_ARG && err.message[0],
         "layer out of range: %s \"%s\"", sw_strerror(status), err.message);

  err    = (SwError){SW_SUCCESS, ""};
  status = sw_engine_set_state(engine, 0, 0, NULL, 14, &err);
  EXPECT(status == SW_ERR_BAD_ARG, "NULL src: %s", sw_strerror(status));

  sw_engine_free(engine);
  sw_model_free(model);
}

static void
set_all_layers(SwEngine* const engine, const float base)
{
  for (uint32_t layer = 0; layer < NUM_LAYERS - 1; ++layer) {
    const size_t n   = layer_state_sizes[layer] * STREAMS;
    float* const src = unit_floats(n);
    fill_pattern(src, n, base + (float)layer);
    EXPECT(sw_engine_set_state(engine, -1, layer, src, n, NULL) == SW_SUCCESS,
           "set_state(-1, layer %u)", (unsigned)layer);
    free(src);
  }
}

static void
check_reset(void)
{
  SwModel* const  model  = build_plain_model();
  SwEngine* const engine = unit_engine(model, STREAMS, 64, 0.0f);

  set_all_layers(engine, 0.5f);
  sw_engine_reset(engine, 1);
  for (uint32_t layer = 0; layer < NUM_LAYERS - 1; ++layer) {
    const size_t n       = layer_state_sizes[layer];
    float* const all     = unit_floats(n * STREAMS);
    float* const zeros   = unit_floats(n);
    fill_pattern(all, n * STREAMS, 0.5f + (float)layer);
    state_equals(engine, 0, layer, all, n, "stream 0 after reset(1)");
    state_equals(engine, 1, layer, zeros, n, "stream 1 after reset(1)");
    state_equals(engine, 2, layer, all + 2 * n, n, "stream 2 after reset(1)");
    free(zeros);
    free(all);
  }

  sw_engine_reset(engine, -1);
  for (uint32_t layer = 0; layer < NUM_LAYERS - 1; ++layer) {
    const size_t n     = layer_state_sizes[layer] * STREAMS;
    float* const zeros = unit_floats(n);
    state_equals(engine, -1, layer, zeros, n, "all streams after reset(-1)");
    free(zeros);
  }

  /* Output after reset equals a fresh engine's, through both entry points. */
  SwModelInfo info;
  sw_model_info(model, &info);
  float* const warmup = make_frames(1);
  float* const probe  = make_frames(2);
  free(run_frames(engine, warmup, info.output_width));
  sw_engine_reset(engine, -1);
  float* const after_reset = run_frames(engine, probe, info.output_width);

  SwEngine* const fresh     = unit_engine(model, STREAMS, 64, 0.0f);
  float* const    fresh_out = run_frames(fresh, probe, info.output_width);
  unit_expect_identical(fresh_out, after_reset,
                        (size_t)STREAMS * FRAMES * info.output_width,
                        "process_frames after reset(-1) vs fresh engine");

  /* The planar entry point: knob stays at its default in both engines. */
  float*       planar_in[STREAMS];
  float*       planar_out[STREAMS];
  float*       fresh_planar[STREAMS];
  for (size_t s = 0; s < STREAMS; ++s) {
    planar_in[s]    = unit_floats(FRAMES);
    planar_out[s]   = unit_floats(FRAMES);
    fresh_planar[s] = unit_floats(FRAMES);
    unit_fill_audio(planar_in[s], FRAMES, 40 + s);
  }
  SwEngine* const fresh_planar_engine = unit_engine(model, STREAMS, 64, 0.0f);
  (void)sw_engine_process(engine, (const float* const*)planar_in, planar_out,
                          FRAMES);
  sw_engine_reset(engine, -1);
  (void)sw_engine_process(engine, (const float* const*)planar_in, planar_out,
                          FRAMES);
  (void)sw_engine_process(fresh_planar_engine, (const float* const*)planar_in,
                          fresh_planar, FRAMES);
  for (size_t s = 0; s < STREAMS; ++s) {
    unit_expect_identical(fresh_planar[s], planar_out[s], FRAMES,
                          "process after reset(-1) vs fresh engine");
    free(planar_in[s]);
    free(planar_out[s]);
    free(fresh_planar[s]);
  }

  sw_engine_free(fresh_planar_engine);
  free(fresh_out);
  sw_engine_free(fresh);
  free(after_reset);
  free(probe);
  free(warmup);
  sw_engine_free(engine);
  sw_model_free(model);
}

/* The state is everything: copying it to another engine continues the same
   output, and equal states give equal outputs. */
static void
check_state_determines_output(void)
{
  SwModel* const model = build_plain_model();
  SwModelInfo    info;
  sw_model_info(model, &info);
  const size_t out_n = (size_t)STREAMS * FRAMES * info.output_width;

  float* const first  = make_frames(3);
  float* const second = make_frames(4);

  SwEngine* const source = unit_engine(model, STREAMS, 64, 0.0f);
  free(run_frames(source, first, info.output_width));
  SwEngine* const copy = unit_engine(model, STREAMS, 128, 0.0f);
  for (uint32_t layer = 0; layer < NUM_LAYERS - 1; ++layer) {
    const size_t n     = layer_state_sizes[layer] * STREAMS;
    float* const state = unit_floats(n);
    EXPECT(sw_engine_get_state(source, -1, layer, state, n, NULL) ==
             SW_SUCCESS,
           "get_state(-1, layer %u)", (unsigned)layer);
    EXPECT(sw_engine_set_state(copy, -1, layer, state, n, NULL) == SW_SUCCESS,
           "set_state(-1, layer %u)", (unsigned)layer);
    free(state);
  }
  float* const continued = run_frames(source, second, info.output_width);
  float* const copied    = run_frames(copy, second, info.output_width);
  unit_expect_identical(continued, copied, out_n,
                        "engine given a copied state vs the original");

  /* Two fresh engines given the same state agree, and differ from zero state. */
  SwEngine* const a    = unit_engine(model, STREAMS, 64, 0.0f);
  SwEngine* const b    = unit_engine(model, STREAMS, 512, 0.0f);
  SwEngine* const zero = unit_engine(model, STREAMS, 64, 0.0f);
  set_all_layers(a, -0.3f);
  set_all_layers(b, -0.3f);
  float* const out_a    = run_frames(a, second, info.output_width);
  float* const out_b    = run_frames(b, second, info.output_width);
  float* const out_zero = run_frames(zero, second, info.output_width);
  unit_expect_identical(out_a, out_b, out_n, "same set_state, same output");
  EXPECT(memcmp(out_a, out_zero, out_n * sizeof(float)) != 0,
         "set_state had no effect on the output");

  free(out_zero);
  free(out_b);
  free(out_a);
  sw_engine_free(zero);
  sw_engine_free(b);
  sw_engine_free(a);
  free(copied);
  free(continued);
  sw_engine_free(copy);
  sw_engine_free(source);
  free(second);
  free(first);
  sw_model_free(model);
}

/* A learned initial state (NAM-style h0/c0) is what reset returns to. */
static void
check_learned_initial_state(void)
{
  static const float lstm_h0[3] = {0.1f, -0.2f, 0.3f};
  static const float lstm_c0[3] = {0.5f, 0.6f, -0.7f};
  static const float gru_h0[2]  = {-0.4f, 0.25f};

  SwLayerSpec layers[3] = {
    sw_layer_spec(SW_LAYER_LSTM, 3),
    sw_layer_spec(SW_LAYER_GRU, 2),
    sw_layer_spec(SW_LAYER_DENSE, 1),
  };
  layers[0].initial_h = lstm_h0;
  layers[0].initial_c = lstm_c0;
  layers[1].initial_h = gru_h0;
  const SwModelSpec spec  = unit_spec(1, 3, layers);
  SwModel* const    model = unit_build(&spec, 5);

  const float lstm_initial[6] = {0.1f, -0.2f, 0.3f, 0.5f, 0.6f, -0.7f};
  SwEngine* const engine = unit_engine(model, 2, 32, 0.0f);
  for (int32_t stream = 0; stream < 2; ++stream) {
    state_equals(engine, stream, 0, lstm_initial, 6, "fresh LSTM [h0, c0]");
    state_equals(engine, stream, 1, gru_h0, 2, "fresh GRU h0");
  }

  float  input[2][FRAMES];
  float  output[2][FRAMES];
  const float* in[2]  = {input[0], input[1]};
  float*       out[2] = {output[0], output[1]};
  unit_fill_audio(input[0], FRAMES, 8);
  unit_fill_audio(input[1], FRAMES, 9);
  (void)sw_engine_process(engine, in, out, FRAMES);

  float moved[6];
  (void)sw_engine_get_state(engine, 1, 0, moved, 6, NULL);
  EXPECT(memcmp(moved, lstm_initial, sizeof(moved)) != 0,
         "the LSTM state did not move from h0/c0 while processing");

  sw_engine_reset(engine, 0);
  state_equals(engine, 0, 0, lstm_initial, 6, "LSTM [h0, c0] after reset(0)");
  state_equals(engine, 0, 1, gru_h0, 2, "GRU h0 after reset(0)");
  float still_moved[6];
  (void)sw_engine_get_state(engine, 1, 0, still_moved, 6, NULL);
  EXPECT(memcmp(moved, still_moved, sizeof(moved)) == 0,
         "reset(0) changed stream 1");

  sw_engine_reset(engine, -1);
  state_equals(engine, 1, 0, lstm_initial, 6, "LSTM [h0, c0] after reset(-1)");
  state_equals(engine, 1, 1, gru_h0, 2, "GRU h0 after reset(-1)");

  float        fresh_output[2][FRAMES];
  float*       fresh_out[2] = {fresh_output[0], fresh_output[1]};
  SwEngine* const fresh     = unit_engine(model, 2, 32, 0.0f);
  (void)sw_engine_process(engine, in, out, FRAMES);
  (void)sw_engine_process(fresh, in, fresh_out, FRAMES);
  unit_expect_identical(fresh_output[0], output[0], FRAMES,
                        "output after reset to h0/c0 vs fresh engine");
  unit_expect_identical(fresh_output[1], output[1], FRAMES,
                        "output after reset to h0/c0 vs fresh engine (1)");

  sw_engine_free(fresh);
  sw_engine_free(engine);
  sw_model_free(model);
}

int
main(void)
{
  check_round_trip();
  check_wrong_sizes();
  check_reset();
  check_state_determines_output();
  check_learned_initial_state();
  return unit_finish("state");
}
