/*
  Denormals: a recurrent state that decays after a loud burst passes
  through the subnormal range, where x86 arithmetic can be a hundred times
  slower. The engine sets flush-to-zero / denormals-are-zero for the scope of
  each process call and restores the caller's MXCSR afterwards. Checked:
  after a burst and a long silence no output and no state value is
  subnormal (so FTZ/DAZ was in effect), and every call returns with the
  caller's MXCSR control bits unchanged, whatever they were.
*/

#include <statewave/statewave.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__SSE__) || defined(__x86_64__)
#  include <xmmintrin.h>
#  define HAVE_MXCSR 1
#else
#  define HAVE_MXCSR 0
#endif

#if HAVE_MXCSR

enum {
  BLOCK          = 256,
  BURST_FRAMES   = 512,
  SILENCE_FRAMES = 48000 * 3,
  STREAMS        = 2,
};

/* MXCSR bits 0-5 are sticky exception flags that any float math may set;
   the caller's modes (masks, rounding, FTZ, DAZ) are the rest. */
static const unsigned mxcsr_flag_bits = 0x3FU;

static int failures = 0;

static int
count_subnormal(const float* const values, const size_t count)
{
  int found = 0;
  for (size_t i = 0; i < count; ++i) {
    found += fpclassify(values[i]) == FP_SUBNORMAL;
  }
  return found;
}

static SwModel*
build(const SwModelSpec* const spec)
{
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_build(spec, 5, &err);
  if (!model) {
    fprintf(stderr, "FAIL: sw_model_build: %s\n", err.message);
    ++failures;
  }
  return model;
}

/*
  Burst, then silence, in calls of BLOCK frames with the caller's MXCSR set
  to `caller_csr`; counts subnormal outputs and checks MXCSR after each call.
*/
static void
run_decay(const SwModel* const model, const unsigned caller_csr,
          const char* const name)
{
  SwEngineConfig config = sw_engine_config_default();
  config.streams        = STREAMS;
  config.max_block      = BLOCK;
  config.backend        = SW_BACKEND_CPU;
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    fprintf(stderr, "FAIL: %s: sw_engine_new: %s\n", name, err.message);
    ++failures;
    return;
  }

  static float input[STREAMS][BLOCK];
  static float output[STREAMS][BLOCK];
  const float* in[STREAMS]  = {input[0], input[1]};
  float*       out[STREAMS] = {output[0], output[1]};
  static float frames[STREAMS * BLOCK];
  static float frames_out[STREAMS * BLOCK];

  const unsigned saved_csr    = _mm_getcsr();
  int            subnormals   = 0;
  int            csr_changes  = 0;
  unsigned       changed_to   = 0;
  for (size_t at = 0; at < BURST_FRAMES + SILENCE_FRAMES; at += BLOCK) {
    for (size_t s = 0; s < STREAMS; ++s) {
      for (size_t t = 0; t < BLOCK; ++t) {
        input[s][t] = at + t < BURST_FRAMES
                        ? 0.9f * sinf(0.05f * (float)(at + t + 7U * s))
                        : 0.0f;
      }
    }
    _mm_setcsr(caller_csr);
    const SwStatus status = sw_engine_process(engine, in, out, BLOCK);
    const unsigned after  = _mm_getcsr();
    _mm_setcsr(saved_csr);
    if ((after & ~mxcsr_flag_bits) != (caller_csr & ~mxcsr_flag_bits)) {
      ++csr_changes;
      changed_to = after;
    }
    if (status != SW_SUCCESS) {
      fprintf(stderr, "FAIL: %s: process: %s\n", name, sw_strerror(status));
      ++failures;
      break;
    }
    subnormals += count_subnormal(output[0], BLOCK);
    subnormals += count_subnormal(output[1], BLOCK);

    /* process_frames must restore MXCSR as well (silence as given). */
    if (at == BURST_FRAMES * 2) {
      memset(frames, 0, sizeof(frames));
      _mm_setcsr(caller_csr);
      (void)sw_engine_process_frames(engine, frames, frames_out, 1);
      const unsigned after_frames = _mm_getcsr();
      _mm_setcsr(saved_csr);
      if ((after_frames & ~mxcsr_flag_bits) !=
          (caller_csr & ~mxcsr_flag_bits)) {
        ++csr_changes;
        changed_to = after_frames;
      }
    }
  }

  if (csr_changes) {
    fprintf(stderr, "FAIL: %s: %d call(s) returned with MXCSR 0x%04x, the "
            "caller had 0x%04x (flag bits ignored)\n", name, csr_changes,
            changed_to, caller_csr);
    ++failures;
  }
  if (subnormals) {
    fprintf(stderr, "FAIL: %s: %d subnormal output sample(s) while decaying "
            "to silence: FTZ/DAZ is not in effect inside process\n", name,
            subnormals);
    ++failures;
  }

  /* The state after the decay holds no subnormal value either. */
  SwModelInfo info;
  sw_model_info(model, &info);
  for (uint32_t layer = 0; layer < info.num_layers; ++layer) {
    SwLayerInfo layer_info;
    if (sw_model_layer(model, layer, &layer_info) != SW_SUCCESS ||
        layer_info.state_size == 0 || layer_info.state_size > 64) {
      continue;
    }
    float state[STREAMS * 64];
    const size_t n = STREAMS * layer_info.state_size;
    if (sw_engine_get_state(engine, -1, layer, state, n, NULL) ==
          SW_SUCCESS &&
        count_subnormal(state, n)) {
      fprintf(stderr, "FAIL: %s: layer %u state holds subnormal values "
              "after the decay\n", name, (unsigned)layer);
      ++failures;
    }
  }
  sw_engine_free(engine);
}

int
main(void)
{
  /* One tanh unit with recurrent weight 0.5 and no bias: after the burst,
     h halves every frame and would walk through every subnormal value. */
  static const float one[1]  = {1.0f};
  static const float half[1] = {0.5f};
  static const float zero[1] = {0.0f};
  SwLayerSpec halving[2]     = {sw_layer_spec(SW_LAYER_SIMPLE_RNN, 1),
                                sw_layer_spec(SW_LAYER_DENSE, 1)};
  halving[0].kernel           = one;
  halving[0].recurrent_kernel = half;
  halving[0].bias             = zero;
  halving[0].recurrent_bias   = zero;
  halving[1].activation       = SW_ACT_LINEAR;
  halving[1].kernel           = one;
  halving[1].bias             = zero;
  const SwModelSpec halving_spec = {.input_width = 1, .num_layers = 2,
                                    .layers = halving};

  /* An LSTM and GRU with zero biases (no forget bias) decay towards 0 too. */
  SwLayerSpec lstm[3]     = {sw_layer_spec(SW_LAYER_LSTM, 16),
                             sw_layer_spec(SW_LAYER_GRU, 8),
                             sw_layer_spec(SW_LAYER_DENSE, 1)};
  lstm[0].unit_forget_bias = false;
  const SwModelSpec lstm_spec = {.input_width = 1, .num_layers = 3,
                                 .layers = lstm};

  SwModel* const halving_model = build(&halving_spec);
  SwModel* const lstm_model    = build(&lstm_spec);
  if (!halving_model || !lstm_model) {
    sw_model_free(lstm_model);
    sw_model_free(halving_model);
    return 1;
  }

  const unsigned default_csr = 0x1F80U; /* all masked, nearest, no FTZ */
  const unsigned ftz_daz_csr = 0x1F80U | 0x8040U;
  const unsigned toward_zero = 0x1F80U | 0x6000U;
  run_decay(halving_model, default_csr, "halving SimpleRNN, default MXCSR");
  run_decay(halving_model, ftz_daz_csr, "halving SimpleRNN, caller FTZ/DAZ");
  run_decay(halving_model, toward_zero,
            "halving SimpleRNN, caller rounds toward zero");
  run_decay(lstm_model, default_csr, "LSTM + GRU, default MXCSR");

  sw_model_free(lstm_model);
  sw_model_free(halving_model);
  if (failures) {
    fprintf(stderr, "rt_denormals: %d failure(s)\n", failures);
    return 1;
  }
  printf("rt_denormals: no subnormals, caller's MXCSR restored\n");
  return 0;
}

#else

int
main(void)
{
  printf("SKIP: no x86 MXCSR on this machine; the FTZ/DAZ check is x86 "
         "only\n");
  return 77;
}

#endif
