/*
  Real-time safety of the [RT-safe] engine calls: while sw_engine_process,
  sw_engine_process_frames, sw_engine_reset, sw_engine_set_knob (and the
  knob/reset-count getters) run, the library must not allocate, free or take
  a mutex. The same for the processor's [RT-safe] calls (process, offer,
  retired, release, the set_* calls, reset, through a crossfade and a bypass
  cycle).

  How: this executable defines malloc, calloc, realloc, free, aligned_alloc,
  posix_memalign, memalign and pthread_mutex_lock itself. libstatewave is a
  shared library, so its calls to these names bind to the executable's
  definitions (ELF interposition). Each definition counts calls while the
  global `armed` flag is set and forwards to glibc's own entry points. A
  self-check first proves the counters see both a direct call and calls made
  from inside the library, so this test cannot pass by not looking.
*/

#define _GNU_SOURCE

#include <statewave/statewave.h>

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc's real allocator entry points (exported by libc.so.6). */
extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* ptr, size_t size);
extern void  __libc_free(void* ptr);
extern void* __libc_memalign(size_t alignment, size_t size);

typedef enum {
  CALL_MALLOC,
  CALL_CALLOC,
  CALL_REALLOC,
  CALL_FREE,
  CALL_ALIGNED_ALLOC,
  CALL_POSIX_MEMALIGN,
  CALL_MEMALIGN,
  CALL_MUTEX_LOCK,
  CALL_KINDS,
} CallKind;

static const char* const call_names[CALL_KINDS] = {
  "malloc",        "calloc",         "realloc",  "free",
  "aligned_alloc", "posix_memalign", "memalign", "pthread_mutex_lock",
};

/* volatile: the counters are read after calls the compiler cannot see into
   and must never be cached or reordered away. */
static volatile int           armed = 0;
static volatile unsigned long counts[CALL_KINDS];

typedef int (*MutexLockFunc)(pthread_mutex_t*);
static MutexLockFunc real_mutex_lock = NULL;

static void
count_call(const CallKind kind)
{
  if (armed) {
    counts[kind] = counts[kind] + 1U;
  }
}

void*
malloc(size_t size)
{
  count_call(CALL_MALLOC);
  return __libc_malloc(size);
}

void*
calloc(size_t count, size_t size)
{
  count_call(CALL_CALLOC);
  return __libc_calloc(count, size);
}

void*
realloc(void* ptr, size_t size)
{
  count_call(CALL_REALLOC);
  return __libc_realloc(ptr, size);
}

void
free(void* ptr)
{
  count_call(CALL_FREE);
  __libc_free(ptr);
}

void*
aligned_alloc(size_t alignment, size_t size)
{
  count_call(CALL_ALIGNED_ALLOC);
  return __libc_memalign(alignment, size);
}

void*
memalign(size_t alignment, size_t size)
{
  count_call(CALL_MEMALIGN);
  return __libc_memalign(alignment, size);
}

int
posix_memalign(void** out, size_t alignment, size_t size)
{
  count_call(CALL_POSIX_MEMALIGN);
  if (alignment < sizeof(void*) || (alignment & (alignment - 1U)) != 0) {
    return EINVAL;
  }
  void* const ptr = __libc_memalign(alignment, size);
  if (!ptr && size) {
    return ENOMEM;
  }
  *out = ptr;
  return 0;
}

/* Resolve the real pthread_mutex_lock. dlsym may allocate, so this runs
   before anything is armed (from main, or on a first unarmed use). */
static void
resolve_mutex_lock(void)
{
  void* const symbol = dlsym(RTLD_NEXT, "pthread_mutex_lock");
  /* memcpy: ISO C has no cast from object to function pointer. */
  memcpy(&real_mutex_lock, &symbol, sizeof(real_mutex_lock));
}

int
pthread_mutex_lock(pthread_mutex_t* mutex)
{
  count_call(CALL_MUTEX_LOCK);
  if (!real_mutex_lock) {
    resolve_mutex_lock();
  }
  return real_mutex_lock ? real_mutex_lock(mutex) : EINVAL;
}

static void
disarm_and_clear(void)
{
  armed = 0;
  for (size_t k = 0; k < CALL_KINDS; ++k) {
    counts[k] = 0;
  }
}

static int failures = 0;

/* After a disarm: report every kind of call made while armed. */
static void
expect_no_calls(const char* const model_name, const char* const function)
{
  armed = 0;
  for (size_t k = 0; k < CALL_KINDS; ++k) {
    if (counts[k]) {
      fprintf(stderr, "FAIL: %s: %s called %s %lu time(s)\n", model_name,
              function, call_names[k], counts[k]);
      ++failures;
    }
  }
  disarm_and_clear();
}

/* The interposer must see a direct call and calls made inside the library,
   or the checks below would prove nothing. */
static void
self_check(void)
{
  void* (*volatile direct_malloc)(size_t) = malloc;
  void (*volatile direct_free)(void*)     = free;

  disarm_and_clear();
  armed         = 1;
  void* const p = direct_malloc(16);
  armed         = 0;
  if (counts[CALL_MALLOC] != 1) {
    fprintf(stderr, "FAIL: self-check: a direct malloc counted %lu, "
            "expected 1: the interposer does not work\n", counts[CALL_MALLOC]);
    ++failures;
  }
  direct_free(p);
  disarm_and_clear();

  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  armed                 = 1;
  (void)pthread_mutex_lock(&mutex);
  armed = 0;
  (void)pthread_mutex_unlock(&mutex);
  if (counts[CALL_MUTEX_LOCK] != 1) {
    fprintf(stderr, "FAIL: self-check: pthread_mutex_lock counted %lu, "
            "expected 1\n", counts[CALL_MUTEX_LOCK]);
    ++failures;
  }
  disarm_and_clear();

  /* Building a model and an engine allocates inside libstatewave: those
     calls must reach our counters too (cross-library interposition). */
  SwLayerSpec       layer = sw_layer_spec(SW_LAYER_LSTM, 4);
  const SwModelSpec spec  = {.input_width = 1, .num_layers = 1,
                             .layers = &layer};
  armed                    = 1;
  SwModel* const model     = sw_model_build(&spec, 1, NULL);
  const SwEngineConfig config = sw_engine_config_default();
  SwEngine* const engine = model ? sw_engine_new(model, &config, NULL) : NULL;
  armed                    = 0;
  const unsigned long seen = counts[CALL_MALLOC] + counts[CALL_CALLOC] +
                             counts[CALL_REALLOC] +
                             counts[CALL_ALIGNED_ALLOC] +
                             counts[CALL_POSIX_MEMALIGN] +
                             counts[CALL_MEMALIGN];
  if (!model) {
    fprintf(stderr, "FAIL: self-check: sw_model_build failed\n");
    ++failures;
  } else if (seen == 0) {
    fprintf(stderr, "FAIL: self-check: building a model and engine made no "
            "allocation we could see: calls from libstatewave are not "
            "interposed, so this test cannot check anything\n");
    ++failures;
  }
  disarm_and_clear();
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
    fprintf(stderr, "FAIL: %s: sw_model_build: %s\n", rt->name, err.message);
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
    fprintf(stderr, "FAIL: %s: sw_engine_new: %s\n", rt->name, err.message);
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

  disarm_and_clear();
  /* The first calls after creation: nothing may be allocated lazily. */
  armed           = 1;
  int status_bits = (int)sw_engine_process(engine, in, out, 64);
  expect_no_calls(rt->name, "the first sw_engine_process");

  armed = 1;
  for (uint32_t k = 0; k < num_knobs; ++k) {
    (void)sw_engine_set_knob(engine, k, 0.9f);
  }
  expect_no_calls(rt->name, "sw_engine_set_knob");

  /* Knobs ramp across these calls; one is longer than max_block. */
  armed = 1;
  status_bits |= (int)sw_engine_process(engine, in, out, 17);
  status_bits |= (int)sw_engine_process(engine, in, out, 1);
  status_bits |= (int)sw_engine_process(engine, in, out, LONG_FRAMES);
  expect_no_calls(rt->name, "sw_engine_process (ramping knobs, NaN frame, "
                  "call longer than max_block)");

  armed = 1;
  status_bits |= (int)sw_engine_process_frames(engine, frames_in, frames_out, 1);
  status_bits |= (int)sw_engine_process_frames(engine, frames_in, frames_out,
                                     LONG_FRAMES);
  expect_no_calls(rt->name, "sw_engine_process_frames");

  armed = 1;
  sw_engine_reset(engine, 1);
  sw_engine_reset(engine, -1);
  expect_no_calls(rt->name, "sw_engine_reset");

  armed                    = 1;
  volatile float   knob    = sw_engine_knob(engine, 0);
  volatile uint64_t resets = sw_engine_nonfinite_resets(engine);
  expect_no_calls(rt->name, "sw_engine_knob / sw_engine_nonfinite_resets");
  (void)knob;

  armed = 1;
  status_bits |= (int)sw_engine_process(engine, in, out, MAX_BLOCK);
  expect_no_calls(rt->name, "sw_engine_process after reset");

  planar_in[2][100] = 0.0f;
  if (status_bits != SW_SUCCESS) {
    fprintf(stderr, "FAIL: %s: a processing call failed (status bits %d)\n",
            rt->name, status_bits);
    ++failures;
  }
  if (rt->has_state && resets == 0) {
    fprintf(stderr, "FAIL: %s: the NaN frame caused no reset, so recovery "
            "was not exercised\n", rt->name);
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

  disarm_and_clear();
  armed = 1;
  ok    = sw_processor_offer(p, a, NULL) && ok;
  status_bits |= (int)sw_processor_process(p, in, out, 64);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  expect_no_calls(name, "the first offer and sw_processor_process");

  armed = 1;
  sw_processor_set_input_gain_db(p, 3.0f);
  sw_processor_set_output_gain_db(p, -2.0f);
  sw_processor_set_mix(p, 0.7f);
  sw_processor_set_enabled(p, true);
  status_bits |= (int)sw_processor_set_knob(p, 0, 0.8f);
  status_bits |= (int)sw_processor_set_knob(p, 5, 0.1f); /* inert */
  expect_no_calls(name, "sw_processor_set_*");

  armed = 1;
  status_bits |= (int)sw_processor_process(p, in, out, 17);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  expect_no_calls(name, "sw_processor_process (ramps, knob turn, NaN frame)");

  /* A full crossfade. */
  armed = 1;
  ok    = sw_processor_offer(p, b, NULL) && ok;
  ok    = sw_processor_swapping(p) && ok;
  ok    = !sw_processor_retired(p, &taken, NULL) && ok;
  for (int i = 0; i < 40 && sw_processor_swapping(p); ++i) {
    status_bits |= (int)sw_processor_process(p, in, out, 31);
  }
  ok = !sw_processor_swapping(p) && ok;
  ok = sw_processor_retired(p, &taken, NULL) && taken == a && ok;
  expect_no_calls(name, "offer, process through a crossfade, retired");

  armed = 1;
  sw_processor_reset(p);
  status_bits |= (int)sw_processor_process(p, in, out, LONG_FRAMES);
  status_bits |= (int)sw_processor_process(p, in, inplace, LONG_FRAMES);
  expect_no_calls(name, "sw_processor_reset, process in place");

  /* A full bypass cycle, with an offer while bypassed (completes at once)
     and the resume (resets the engines). */
  armed = 1;
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
  expect_no_calls(name, "bypass, offer while bypassed, resume");

  armed = 1;
  ok    = sw_processor_offer(p, b, NULL) && ok; /* a swap under way */
  status_bits |= (int)sw_processor_process(p, in, out, 64);
  volatile uint32_t latency = sw_processor_latency(p);
  ok = sw_processor_engine(p, NULL) == a && ok;
  SwEngine* released[3]     = {NULL, NULL, NULL};
  int       n_released      = 0;
  while (n_released < 3 &&
         sw_processor_release(p, &released[n_released], NULL)) {
    ++n_released;
  }
  expect_no_calls(name, "getters and sw_processor_release mid-swap");
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
  resolve_mutex_lock();
  if (!real_mutex_lock) {
    fprintf(stderr, "FAIL: dlsym(RTLD_NEXT, \"pthread_mutex_lock\") found "
            "nothing\n");
    return 1;
  }
  fill_inputs();
  self_check();

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
  printf("rt_alloc: no allocation, free or mutex lock in RT-safe calls\n");
  return 0;
}
