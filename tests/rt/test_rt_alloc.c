/*
  Real-time safety of the [RT-safe] engine calls: while sw_engine_process,
  sw_engine_process_frames, sw_engine_reset, sw_engine_set_knob (and the
  knob/reset-count getters) run, the library must not allocate, free, take
  a mutex, or open a file or socket. The same for the processor's [RT-safe]
  calls (process, offer, retired, release, the set_* calls, reset, through
  a crossfade and a bypass cycle).

  How: the shared interposer (tests/common/rt_interposer.c, linked into
  this executable, built with export_dynamic) defines malloc & co.,
  pthread_mutex_lock, open, fopen and socket. libstatewave is a shared
  library, so its calls to these names bind to those definitions (ELF
  interposition); they count calls on every thread while armed and forward
  to glibc. A self-check first proves the counters see direct calls and
  calls made from inside the library, so this test cannot pass by not
  looking.
*/

#include "rt_interposer.h"

#include <statewave/statewave.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

/* The window being checked, "<model>: <calls>", written before arming so
   that no formatting runs while the counters are armed. */
static char window[256];

static void
arm(const char* const model_name, const char* const calls)
{
  snprintf(window, sizeof(window), "%s: %s", model_name, calls);
  rt_arm();
}

/* Disarm; rt_disarm reports every kind of call made in the window. */
static void
expect_no_calls(void)
{
  if (rt_disarm(window)) {
    ++failures;
  }
}

/* The interposer must see direct calls and calls made inside the library,
   or the checks below would prove nothing. */
static void
self_check(void)
{
  /* Resolves the real functions and proves a direct malloc, mutex lock and
     fopen are counted. */
  if (!rt_interposer_ready()) {
    ++failures;
    return;
  }

  /* pthread_mutex_lock forwards to the real one (found by dlsym). */
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  if (pthread_mutex_lock(&mutex) != 0) {
    fprintf(stderr, "FAIL: self-check: pthread_mutex_lock failed: "
            "dlsym(RTLD_NEXT, \"pthread_mutex_lock\") found nothing\n");
    ++failures;
    return;
  }
  (void)pthread_mutex_unlock(&mutex);

  /* volatile pointers: the compiler must make the calls it cannot see. */
  void* (*volatile direct_malloc)(size_t) = malloc;
  void (*volatile direct_free)(void*)     = free;
  rt_arm();
  void* const p            = direct_malloc(16);
  const unsigned long seen = rt_disarm_count();
  direct_free(p);
  if (seen != 1) {
    fprintf(stderr, "FAIL: self-check: a direct malloc counted %lu, "
            "expected 1: the interposer does not work\n", seen);
    ++failures;
  }

  /* Building a model and an engine allocates inside libstatewave: those
     calls must reach the counters too (cross-library interposition). */
  SwLayerSpec       layer = sw_layer_spec(SW_LAYER_LSTM, 4);
  const SwModelSpec spec  = {.input_width = 1, .num_layers = 1,
                             .layers = &layer};
  const SwEngineConfig config = sw_engine_config_default();
  rt_arm();
  SwModel* const  model  = sw_model_build(&spec, 1, NULL);
  SwEngine* const engine = model ? sw_engine_new(model, &config, NULL) : NULL;
  const unsigned long inside = rt_disarm_count();
  if (!model) {
    fprintf(stderr, "FAIL: self-check: sw_model_build failed\n");
    ++failures;
  } else if (inside == 0) {
    fprintf(stderr, "FAIL: self-check: building a model and engine made no "
            "allocation we could see: calls from libstatewave are not "
            "interposed, so this test cannot check anything\n");
    ++failures;
  }
  sw_engine_free(engine);
  sw_model_free(model);
}

enum {
  STREAMS     = 4,
  MAX_BLOCK   = 256,
  LONG_FRAMES = 3 * MAX_BLOCK + 5, /* longer than max_block: split inside */
  MAX_WIDTH   = 3,
};

typedef struct {
  const char*        name;
  uint32_t           input_width;
  uint32_t           num_layers;
  const SwLayerSpec* layers;
  const SwKnobSpec*  knobs; /* input_width - 1 of them, or NULL */
  bool               skip;
  bool               has_state; /* a NaN frame must then reset a stream */
  uint32_t           window;    /* a windowed model's W, else 0 */
} RtModel;

static float planar_in[STREAMS][LONG_FRAMES];
static float planar_out[STREAMS][LONG_FRAMES];
static float frames_in[STREAMS * LONG_FRAMES * MAX_WIDTH];
static float frames_out[STREAMS * LONG_FRAMES * 8];

static void
fill_inputs(void)
{
  for (size_t s = 0; s < STREAMS; ++s) {
    for (size_t t = 0; t < LONG_FRAMES; ++t) {
      planar_in[s][t] = 0.8f * sinf(0.01f * (float)(t * (s + 1U)));
    }
  }
  for (size_t i = 0; i < sizeof(frames_in) / sizeof(float); ++i) {
    frames_in[i] = 0.5f * sinf(0.003f * (float)i);
  }
}

static void
exercise_model(const RtModel* const rt, const SwStreamingMode streaming)
{
  char name[128];
  snprintf(name, sizeof(name), "%s%s", rt->name,
           streaming == SW_STREAMING_PIPELINED ? " (pipelined)" : "");
  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width    = rt->input_width;
  spec.num_layers     = rt->num_layers;
  spec.layers         = rt->layers;
  spec.skip           = rt->skip;
  spec.input_gain_db  = 2.0f;
  spec.output_gain_db = -1.0f;
  spec.num_knobs      = rt->knobs ? rt->input_width - 1U : 0U;
  spec.knobs          = rt->knobs;
  spec.window         = rt->window;
  SwError        err  = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_build(&spec, 3, &err);
  if (!model) {
    fprintf(stderr, "FAIL: %s: sw_model_build: %s\n", name, err.message);
    ++failures;
    return;
  }
  SwEngineConfig config    = sw_engine_config_default();
  config.streams           = STREAMS;
  config.max_block         = MAX_BLOCK;
  config.backend           = SW_BACKEND_CPU;
  config.knob_smoothing_ms = 5.0f;
  config.streaming         = streaming;
  SwEngine* const engine   = sw_engine_new(model, &config, &err);
  if (!engine) {
    fprintf(stderr, "FAIL: %s: sw_engine_new: %s\n", name, err.message);
    ++failures;
    sw_model_free(model);
    return;
  }

  const float* in[STREAMS];
  float*       out[STREAMS];
  for (size_t s = 0; s < STREAMS; ++s) {
    in[s]  = planar_in[s];
    out[s] = planar_out[s];
  }
  const uint32_t num_knobs = rt->input_width - 1U;
  /* NaN recovery: the NaN frame resets a stream inside the armed call. */
  planar_in[2][100] = NAN;

  /* The first calls after creation: nothing may be allocated lazily. */
  arm(name, "the first sw_engine_process");
  int status_bits = (int)sw_engine_process(engine, in, out, 64);
  expect_no_calls();

  arm(name, "sw_engine_set_knob");
  for (uint32_t k = 0; k < num_knobs; ++k) {
    (void)sw_engine_set_knob(engine, k, 0.9f);
  }
  expect_no_calls();

  /* Knobs ramp across these calls; one is longer than max_block. */
  arm(name, "sw_engine_process (ramping knobs, NaN frame, call longer "
      "than max_block)");
  status_bits |= (int)sw_engine_process(engine, in, out, 17);
  status_bits |= (int)sw_engine_process(engine, in, out, 1);
  status_bits |= (int)sw_engine_process(engine, in, out, LONG_FRAMES);
  expect_no_calls();

  arm(name, "sw_engine_process_frames");
  status_bits |= (int)sw_engine_process_frames(engine, frames_in, frames_out, 1);
  status_bits |= (int)sw_engine_process_frames(engine, frames_in, frames_out,
                                     LONG_FRAMES);
  expect_no_calls();

  arm(name, "sw_engine_reset");
  sw_engine_reset(engine, 1);
  sw_engine_reset(engine, -1);
  expect_no_calls();

  arm(name, "sw_engine_knob / sw_engine_nonfinite_resets");
  volatile float   knob    = sw_engine_knob(engine, 0);
  volatile uint64_t resets = sw_engine_nonfinite_resets(engine);
  expect_no_calls();
  (void)knob;

  arm(name, "sw_engine_process after reset");
  status_bits |= (int)sw_engine_process(engine, in, out, MAX_BLOCK);
  expect_no_calls();

  planar_in[2][100] = 0.0f;
  if (status_bits != SW_SUCCESS) {
    fprintf(stderr, "FAIL: %s: a processing call failed (status bits %d)\n",
            name, status_bits);
    ++failures;
  }
  if (rt->has_state && resets == 0) {
    fprintf(stderr, "FAIL: %s: the NaN frame caused no reset, so recovery "
            "was not exercised\n", name);
    ++failures;
  }
  sw_engine_free(engine);
  sw_model_free(model);
}

/* The processor's [RT-safe] calls, around engines made off the armed
   windows: offers (into an empty processor, mid-stream with a crossfade,
   while bypassed), processing through the crossfade, the ramps, the bypass
   and its resume (which resets the engines), in place and split into
   chunks, knob turns forwarded to the engines, retired, reset, the getters
   and release. */
static SwEngine*
processor_engine(const SwModel* const model, const SwStreamingMode streaming)
{
  SwEngineConfig config    = sw_engine_config_default();
  config.streams           = STREAMS;
  config.max_block         = 64; /* under the processor's: split again */
  config.backend           = SW_BACKEND_CPU;
  config.knob_smoothing_ms = 5.0f;
  config.streaming         = streaming;
  SwError err              = {SW_SUCCESS, ""};
  SwEngine* const engine   = sw_engine_new(model, &config, &err);
  if (!engine) {
    fprintf(stderr, "FAIL: processor: sw_engine_new: %s\n", err.message);
    ++failures;
  }
  return engine;
}

static void
exercise_processor(const SwStreamingMode streaming)
{
  const char* const name = streaming == SW_STREAMING_PIPELINED
                             ? "processor (pipelined engines)"
                             : "processor";
  const SwKnobSpec  knob = {"drive", -1.0f, 3.0f, 0.5f};
  SwLayerSpec lstm[2]    = {sw_layer_spec(SW_LAYER_LSTM, 16),
                            sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru[2]     = {sw_layer_spec(SW_LAYER_GRU, 12),
                            sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width = 2;
  spec.num_layers  = 2;
  spec.num_knobs   = 1;
  spec.knobs       = &knob;
  spec.layers      = lstm;
  SwModel* const model_a = sw_model_build(&spec, 5, NULL);
  spec.layers            = gru;
  SwModel* const model_b = sw_model_build(&spec, 6, NULL);

  SwProcessorConfig config = sw_processor_config_default();
  config.channels          = STREAMS;
  config.max_block         = 128;  /* LONG_FRAMES is split into chunks */
  config.crossfade_ms      = 5.0f; /* 240 frames */
  config.smoothing_ms      = 2.0f; /* 96 frames */
  SwError            err   = {SW_SUCCESS, ""};
  SwProcessor* const p     = sw_processor_new(&config, &err);
  if (!model_a || !model_b || !p) {
    fprintf(stderr, "FAIL: %s: setup: %s\n", name, err.message);
    ++failures;
    sw_processor_free(p);
    sw_model_free(model_a);
    sw_model_free(model_b);
    return;
  }
  SwEngine* const a = processor_engine(model_a, streaming);
  SwEngine* const b = processor_engine(model_b, streaming);
  if (!a || !b) {
    sw_engine_free(a);
    sw_engine_free(b);
    sw_processor_free(p);
    sw_model_free(model_a);
    sw_model_free(model_b);
    return;
  }

  const float* in[STREAMS];
  float*       out[STREAMS];
  float*       inplace[STREAMS];
  for (size_t s = 0; s < STREAMS; ++s) {
    in[s]      = planar_in[s];
    out[s]     = planar_out[s];
    inplace[s] = planar_out[s];
  }
  planar_in[2][100] = NAN;
  int       status_bits = 0;
  bool      ok          = true; /* every outcome as expected */
  SwEngine* taken       = NULL;

  arm(name, "the first offer and sw_processor_process");
  ok = sw_processor_offer(p, a, NULL) && ok;
  status_bits |= (int)sw_processor_process(p, in, out, 64);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  expect_no_calls();

  arm(name, "sw_processor_set_*");
  sw_processor_set_input_gain_db(p, 3.0f);
  sw_processor_set_output_gain_db(p, -2.0f);
  sw_processor_set_mix(p, 0.7f);
  sw_processor_set_enabled(p, true);
  status_bits |= (int)sw_processor_set_knob(p, 0, 0.8f);
  status_bits |= (int)sw_processor_set_knob(p, 5, 0.1f); /* inert */
  expect_no_calls();

  arm(name, "sw_processor_process (ramps, knob turn, NaN frame)");
  status_bits |= (int)sw_processor_process(p, in, out, 17);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  expect_no_calls();

  /* A full crossfade. */
  arm(name, "offer, process through a crossfade, retired");
  ok = sw_processor_offer(p, b, NULL) && ok;
  ok = sw_processor_swapping(p) && ok;
  ok = !sw_processor_retired(p, &taken, NULL) && ok;
  for (int i = 0; i < 40 && sw_processor_swapping(p); ++i) {
    status_bits |= (int)sw_processor_process(p, in, out, 31);
  }
  ok = !sw_processor_swapping(p) && ok;
  ok = sw_processor_retired(p, &taken, NULL) && taken == a && ok;
  expect_no_calls();

  arm(name, "sw_processor_reset, process in place");
  sw_processor_reset(p);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  status_bits |= (int)sw_processor_process(p, in, inplace, LONG_FRAMES);
  expect_no_calls();

  /* A full bypass cycle, with an offer while bypassed (completes at once)
     and the resume (resets the engines). */
  arm(name, "bypass, offer while bypassed, resume");
  sw_processor_set_enabled(p, false);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  status_bits |= (int)sw_processor_process(p, in, out, 100);
  ok = sw_processor_offer(p, a, NULL) && ok;
  ok = !sw_processor_swapping(p) && ok;
  ok = sw_processor_retired(p, &taken, NULL) && taken == b && ok;
  status_bits |= (int)sw_processor_set_knob(p, 0, 0.2f);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  sw_processor_set_enabled(p, true);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  expect_no_calls();

  arm(name, "getters and sw_processor_release mid-swap");
  ok = sw_processor_offer(p, b, NULL) && ok; /* a swap under way */
  status_bits |= (int)sw_processor_process(p, in, out, 64);
  volatile uint32_t latency = sw_processor_latency(p);
  ok = sw_processor_engine(p, NULL) == a && ok;
  SwEngine* released[3]     = {NULL, NULL, NULL};
  int       n_released      = 0;
  while (n_released < 3 &&
         sw_processor_release(p, &released[n_released], NULL)) {
    ++n_released;
  }
  expect_no_calls();
  (void)latency;

  planar_in[2][100] = 0.0f;
  if (status_bits != SW_SUCCESS) {
    fprintf(stderr, "FAIL: %s: a call failed (status bits %d)\n", name,
            status_bits);
    ++failures;
  }
  if (!ok || n_released != 2 || released[0] != b || released[1] != a) {
    fprintf(stderr, "FAIL: %s: the offers, swaps and hand-backs did not go "
            "as expected (%d released), so the armed calls did not take "
            "their real paths\n", name, n_released);
    ++failures;
  }
  if (sw_engine_knob(a, 0) != -1.0f + 0.2f * 4.0f) {
    fprintf(stderr, "FAIL: %s: the knob position did not reach the engine "
            "(%g)\n", name, (double)sw_engine_knob(a, 0));
    ++failures;
  }
  sw_processor_free(p);
  sw_engine_free(a);
  sw_engine_free(b);
  sw_model_free(model_a);
  sw_model_free(model_b);
}

int
main(void)
{
  self_check();
  if (failures) {
    fprintf(stderr, "rt_alloc: the interposer self-check failed: the checks "
            "would prove nothing\n");
    return 1;
  }
  fill_inputs();

  SwLayerSpec lstm[2] = {sw_layer_spec(SW_LAYER_LSTM, 16),
                         sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru_after[2] = {sw_layer_spec(SW_LAYER_GRU, 12),
                              sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru_before[2] = {sw_layer_spec(SW_LAYER_GRU, 12),
                               sw_layer_spec(SW_LAYER_DENSE, 1)};
  gru_before[0].gru_reset   = SW_GRU_RESET_BEFORE;
  SwLayerSpec simple[2] = {sw_layer_spec(SW_LAYER_SIMPLE_RNN, 10),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec dense[2]  = {sw_layer_spec(SW_LAYER_DENSE, 8),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  dense[0].activation   = SW_ACT_TANH;
  SwLayerSpec deep[5]   = {sw_layer_spec(SW_LAYER_LSTM, 8),
                           sw_layer_spec(SW_LAYER_GRU, 8),
                           sw_layer_spec(SW_LAYER_SIMPLE_RNN, 6),
                           sw_layer_spec(SW_LAYER_DENSE, 4),
                           sw_layer_spec(SW_LAYER_DENSE, 2)};
  deep[1].gru_reset     = SW_GRU_RESET_BEFORE;
  deep[3].activation    = SW_ACT_ELU;
  const SwKnobSpec knobs[2] = {{"drive", 0.0f, 1.0f, 0.2f},
                               {"tone", 0.0f, 1.0f, 0.5f}};

  SwLayerSpec conv[3] = {sw_layer_spec(SW_LAYER_CONV1D, 6),
                         sw_layer_spec(SW_LAYER_GRU, 6),
                         sw_layer_spec(SW_LAYER_DENSE, 1)};
  conv[0].kernel_size = 5;
  conv[0].dilation    = 2;

  /* GuitarLSTM's shape, smaller: its window passes run on scratch made at
     sw_engine_new. */
  SwLayerSpec windowed[4] = {sw_layer_spec(SW_LAYER_CONV1D, 4),
                             sw_layer_spec(SW_LAYER_CONV1D, 4),
                             sw_layer_spec(SW_LAYER_LSTM, 6),
                             sw_layer_spec(SW_LAYER_DENSE, 1)};
  windowed[0].kernel_size = 4;
  windowed[0].stride      = 4;
  windowed[0].padding     = SW_PADDING_SAME;
  windowed[1].kernel_size = 3;
  windowed[1].stride      = 2;
  windowed[1].padding     = SW_PADDING_VALID;

  const RtModel models[] = {
    {"Conv1D + GRU", 1, 3, conv, NULL, true, true, 0},
    {"LSTM", 1, 2, lstm, NULL, true, true, 0},
    {"GRU reset_after with knob", 2, 2, gru_after, knobs, true, true, 0},
    {"GRU reset_before", 1, 2, gru_before, NULL, false, true, 0},
    {"SimpleRNN", 1, 2, simple, NULL, false, true, 0},
    {"Dense only", 1, 2, dense, NULL, true, false, 0},
    {"deep with two knobs", MAX_WIDTH, 5, deep, knobs, true, true, 0},
    {"windowed Conv1D + LSTM with knob", 2, 4, windowed, knobs, true, true,
     48},
  };
  /* Pipelined streaming stages and delays blocks in the same calls. */
  for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); ++m) {
    exercise_model(&models[m], SW_STREAMING_SYNC);
    exercise_model(&models[m], SW_STREAMING_PIPELINED);
  }
  exercise_processor(SW_STREAMING_SYNC);
  exercise_processor(SW_STREAMING_PIPELINED);

  if (failures) {
    fprintf(stderr, "rt_alloc: %d failure(s)\n", failures);
    return 1;
  }
  printf("rt_alloc: no allocation, free, mutex lock, file or socket open "
         "in RT-safe calls\n");
  return 0;
}
