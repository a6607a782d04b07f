/*
  Non-finite values never stick. A NaN or Inf input sample gives 0 on that
  frame, counts one reset, and from the next frame the stream continues
  exactly as a fresh engine fed the following samples; the other streams
  are untouched. A model whose own weights drive the state to Inf resets
  each time instead of staying stuck at Inf/NaN.
*/

#include "unit_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  FRAMES   = 600,
  POISONED = 200, /* the frame that carries the bad sample */
  STREAMS  = 2,
};

static SwModel*
build_lstm_model(const bool skip)
{
  SwLayerSpec layers[2] = {sw_layer_spec(SW_LAYER_LSTM, 8),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwModelSpec spec      = unit_spec(1, 2, layers);
  spec.skip             = skip;
  spec.input_gain_db    = skip ? 3.0f : 0.0f;
  spec.output_gain_db   = skip ? -2.0f : 0.0f;
  return unit_build(&spec, 21);
}

/* A relu SimpleRNN whose two units see +x and -x: an Inf input of either
   sign certainly reaches the state (LSTM and GRU gates saturate and may
   hide it; SimpleRNN allows only tanh and relu). */
static SwModel*
build_relu_rnn_model(void)
{
  static const float kernel[2]    = {1.0f, -1.0f};
  static const float recurrent[4] = {0.5f, 0.0f, 0.0f, 0.5f};
  static const float zeros[2]     = {0.0f, 0.0f};
  static const float head[2]      = {1.0f, 1.0f};

  SwLayerSpec layers[2]      = {sw_layer_spec(SW_LAYER_SIMPLE_RNN, 2),
                                sw_layer_spec(SW_LAYER_DENSE, 1)};
  layers[0].activation       = SW_ACT_RELU;
  layers[0].kernel           = kernel;
  layers[0].recurrent_kernel = recurrent;
  layers[0].bias             = zeros;
  layers[0].recurrent_bias   = zeros;
  layers[1].kernel           = head;
  layers[1].bias             = zeros;
  const SwModelSpec spec     = unit_spec(1, 2, layers);
  return unit_build(&spec, 22);
}

/* Planar processing of stream 0 = `poisoned`, stream 1 = `clean`. */
static void
check_bad_sample(const SwModel* const model, const float bad_value,
                 const char* const what)
{
  float        clean[FRAMES];
  float        poisoned[FRAMES];
  float        out_poisoned[FRAMES];
  float        out_clean[FRAMES];
  unit_fill_audio(clean, FRAMES, 31);
  memcpy(poisoned, clean, sizeof(clean));
  poisoned[POISONED] = bad_value;

  SwEngine* const engine = unit_engine(model, STREAMS, 128, 0.0f);
  const float*    in[STREAMS]  = {poisoned, clean};
  float*          out[STREAMS] = {out_poisoned, out_clean};
  /* Three calls, the bad sample in the middle of the second. */
  for (uint32_t start = 0; start < FRAMES; start += 150) {
    const float* call_in[STREAMS]  = {in[0] + start, in[1] + start};
    float*       call_out[STREAMS] = {out[0] + start, out[1] + start};
    EXPECT(sw_engine_process(engine, call_in, call_out, 150) == SW_SUCCESS,
           "%s: process", what);
  }

  EXPECT(out_poisoned[POISONED] == 0.0f,
         "%s: the output of the bad frame is %g, expected 0", what,
         (double)out_poisoned[POISONED]);
  EXPECT(sw_engine_nonfinite_resets(engine) == 1,
         "%s: nonfinite_resets is %llu, expected 1", what,
         (unsigned long long)sw_engine_nonfinite_resets(engine));
  for (size_t t = 0; t < FRAMES; ++t) {
    if (!isfinite(out_poisoned[t])) {
      EXPECT(isfinite(out_poisoned[t]), "%s: frame %zu output is %g", what,
             t, (double)out_poisoned[t]);
      break;
    }
  }

  /* Before the bad frame: as if nothing happened. After it: a fresh start. */
  SwEngine* const reference = unit_engine(model, STREAMS, 128, 0.0f);
  float           ref_a[FRAMES];
  float           ref_b[FRAMES];
  const float*    ref_in[STREAMS]  = {clean, clean};
  float*          ref_out[STREAMS] = {ref_a, ref_b};
  EXPECT(sw_engine_process(reference, ref_in, ref_out, FRAMES) == SW_SUCCESS,
         "%s: reference process", what);
  unit_expect_identical(ref_a, out_poisoned, POISONED,
                        "frames before the bad sample");
  unit_expect_identical(ref_b, out_clean, FRAMES,
                        "the other stream is unaffected");

  SwEngine* const restarted = unit_engine(model, STREAMS, 128, 0.0f);
  const size_t    after     = FRAMES - POISONED - 1;
  float           restart_out[2][FRAMES];
  const float*    restart_in[STREAMS]  = {clean + POISONED + 1,
                                          clean + POISONED + 1};
  float*          restart_ptr[STREAMS] = {restart_out[0], restart_out[1]};
  EXPECT(sw_engine_process(restarted, restart_in, restart_ptr,
                           (uint32_t)after) == SW_SUCCESS,
         "%s: restarted process", what);
  unit_expect_identical(restart_out[0], out_poisoned + POISONED + 1, after,
                        "after the bad sample vs a fresh engine");
  EXPECT(sw_engine_nonfinite_resets(reference) == 0 &&
           sw_engine_nonfinite_resets(restarted) == 0,
         "%s: clean engines counted resets", what);

  sw_engine_free(restarted);
  sw_engine_free(reference);
  sw_engine_free(engine);
}

/* The same through process_frames, with the bad value in a knob column. */
static void
check_bad_knob_frame(void)
{
  SwLayerSpec layers[2] = {sw_layer_spec(SW_LAYER_GRU, 6),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  const SwModelSpec spec  = unit_spec(2, 2, layers);
  SwModel* const    model = unit_build(&spec, 23);

  enum { WIDTH = 2 };
  static float frames[STREAMS][FRAMES][WIDTH];
  static float out[STREAMS][FRAMES];
  for (size_t s = 0; s < STREAMS; ++s) {
    float audio[FRAMES];
    unit_fill_audio(audio, FRAMES, 50);
    for (size_t t = 0; t < FRAMES; ++t) {
      frames[s][t][0] = audio[t];
      frames[s][t][1] = 0.5f;
    }
  }
  frames[1][POISONED][1] = NAN;

  SwEngine* const engine = unit_engine(model, STREAMS, 64, 0.0f);
  EXPECT(sw_engine_process_frames(engine, &frames[0][0][0], &out[0][0],
                                  FRAMES) == SW_SUCCESS,
         "process_frames");
  EXPECT(out[1][POISONED] == 0.0f, "NaN knob frame: output %g, expected 0",
         (double)out[1][POISONED]);
  EXPECT(sw_engine_nonfinite_resets(engine) == 1,
         "NaN knob frame: %llu resets, expected 1",
         (unsigned long long)sw_engine_nonfinite_resets(engine));
  unit_expect_identical(out[0], out[1], POISONED,
                        "identical streams before the NaN knob");

  /* From the next frame: a fresh engine on the rest. */
  SwEngine* const fresh = unit_engine(model, 1, 64, 0.0f);
  static float    rest_out[FRAMES];
  EXPECT(sw_engine_process_frames(fresh, &frames[1][POISONED + 1][0],
                                  rest_out, FRAMES - POISONED - 1) ==
           SW_SUCCESS,
         "fresh process_frames");
  unit_expect_identical(rest_out, &out[1][POISONED + 1],
                        FRAMES - POISONED - 1,
                        "after the NaN knob frame vs a fresh engine");

  sw_engine_free(fresh);
  sw_engine_free(engine);
  sw_model_free(model);
}

/*
  SimpleRNN relu, one unit, W = 1, R = 1e20, input 1: h goes 1, 1e20,
  then 1e40 which is Inf in float; that frame resets (output 0), and the
  next starts again from zero. Stuck state would give Inf or NaN forever.
*/
static void
check_state_blowup(void)
{
  static const float kernel[1]    = {1.0f};
  static const float recurrent[1] = {1e20f};
  static const float zero[1]      = {0.0f};
  static const float one[1]       = {1.0f};

  SwLayerSpec layers[2]      = {sw_layer_spec(SW_LAYER_SIMPLE_RNN, 1),
                                sw_layer_spec(SW_LAYER_DENSE, 1)};
  layers[0].activation       = SW_ACT_RELU;
  layers[0].kernel           = kernel;
  layers[0].recurrent_kernel = recurrent;
  layers[0].bias             = zero;
  layers[0].recurrent_bias   = zero;
  layers[1].activation       = SW_ACT_LINEAR;
  layers[1].kernel           = one;
  layers[1].bias             = zero;
  const SwModelSpec spec     = unit_spec(1, 2, layers);
  SwModel* const    model    = unit_build(&spec, 1);
  SwEngine* const   engine   = unit_engine(model, 1, 16, 0.0f);

  enum { BLOWUP_FRAMES = 30 };
  float input[BLOWUP_FRAMES];
  float output[BLOWUP_FRAMES];
  for (size_t t = 0; t < BLOWUP_FRAMES; ++t) {
    input[t] = 1.0f;
  }
  const float* in[1]  = {input};
  float*       out[1] = {output};
  EXPECT(sw_engine_process(engine, in, out, BLOWUP_FRAMES) == SW_SUCCESS,
         "process");

  for (size_t t = 0; t < BLOWUP_FRAMES; ++t) {
    const float expected = t % 3U == 0 ? 1.0f : t % 3U == 1 ? 1e20f : 0.0f;
    const bool  close =
      isfinite(output[t]) &&
      fabsf(output[t] - expected) <= 1e-6f * fabsf(expected);
    if (!close) {
      EXPECT(close, "blow-up frame %zu: %g, expected %g (1, 1e20, reset "
             "to 0, repeating)", t, (double)output[t], (double)expected);
      break;
    }
  }
  EXPECT(sw_engine_nonfinite_resets(engine) == BLOWUP_FRAMES / 3,
         "blow-up: %llu resets, expected %d",
         (unsigned long long)sw_engine_nonfinite_resets(engine),
         BLOWUP_FRAMES / 3);

  float state[1] = {NAN};
  EXPECT(sw_engine_get_state(engine, 0, 0, state, 1, NULL) == SW_SUCCESS &&
           isfinite(state[0]),
         "state after blow-ups is %g", (double)state[0]);

  sw_engine_free(engine);
  sw_model_free(model);
}

int
main(void)
{
  SwModel* const lstm      = build_lstm_model(false);
  SwModel* const lstm_skip = build_lstm_model(true);
  SwModel* const relu      = build_relu_rnn_model();

  check_bad_sample(lstm, NAN, "LSTM, NaN input");
  check_bad_sample(lstm_skip, NAN, "LSTM with skip and gains, NaN input");
  check_bad_sample(relu, INFINITY, "relu SimpleRNN, +Inf input");
  check_bad_sample(relu, -INFINITY, "relu SimpleRNN, -Inf input");
  /* LSTM gates saturate on Inf, so the state may stay finite; the frame
     must still come out as 0 and count, and the skip path must not pass
     the Inf through. */
  check_bad_sample(lstm, INFINITY, "LSTM, +Inf input");
  check_bad_sample(lstm_skip, -INFINITY, "LSTM with skip, -Inf input");
  check_bad_knob_frame();
  check_state_blowup();

  sw_model_free(relu);
  sw_model_free(lstm_skip);
  sw_model_free(lstm);
  return unit_finish("nonfinite");
}
