/*
  The fast CPU backend against the scalar reference:
  - the SIMD tanh and sigmoid of every kernel set this CPU has are within
    2e-6 (absolute) of the exact functions over the real line and saturate
    exactly (tanh(+-x) = +-1, sigmoid(x) = 1, sigmoid(-x) = 0 for large x),
    never passing those ends on any float near them;
  - every kernel set this CPU has (vec16: AVX-512's 16-lane layout run by
    the portable code), forced with STATEWAVE_CPU_KERNELS and
    checked to be the one running, stays within 1e-5 of cpu-ref over
    100 000 steps for LSTM, GRU (both forms), SimpleRNN, stacked layers,
    Dense heads, knob inputs, Keras 2 hard_sigmoid, and 1 to 5 streams
    (one at a time for weights that stay in L1, else in groups through
    one pass over the weights, checked to be so);
  - one stream through layers in two chains goes a chunk of frames a layer
    at a time where those run (checked), bit for bit as frame by frame,
    and a state that goes bad mid-chunk resets the stream at that frame;
  - the compact mode (half-precision weights) runs where the set converts
    halves, within 1e-3 of cpu-ref, and is refused with the reason elsewhere;
  - the bfloat16 compact mode runs on every set, within 1e-5 of cpu-ref run
    on the model with its weights rounded to bfloat16 (so the pairs of gates
    are laid out and widened exactly), and within 1e-2 of cpu-ref;
  - models without kernels (Conv1D, windowed) run on cpu-ref inside "cpu".
*/

#include "backend.h"
#include "denormals.h"
#include "fast_plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

/* The first 20 failures are printed; the rest only counted. */
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      if (failures < 20) {                                                     \
        fprintf(stderr, "FAIL: ");                                             \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
      }                                                                        \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

typedef void (*ActivationFunc)(const float*, float*, size_t);

typedef struct {
  const char*    name;
  uint32_t       lanes;
  bool           supported;
  ActivationFunc tanh_fn;
  ActivationFunc sigmoid_fn;
} KernelSet;

static size_t
kernel_sets(KernelSet* sets)
{
  size_t n = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  sets[n++] =
    (KernelSet){"sse2", 4, true, sw_fast_tanh_sse2, sw_fast_sigmoid_sse2};
  sets[n++] = (KernelSet){"avx2", 8,
                          __builtin_cpu_supports("avx2") &&
                            __builtin_cpu_supports("fma"),
                          sw_fast_tanh_avx2, sw_fast_sigmoid_avx2};
  sets[n++] = (KernelSet){"avx512", 16,
                          __builtin_cpu_supports("avx512f") &&
                            __builtin_cpu_supports("fma"),
                          sw_fast_tanh_avx512, sw_fast_sigmoid_avx512};
  /* AVX-512 at AVX2's 8 lanes, 32 registers (wider tiles). */
  sets[n++] = (KernelSet){"avx512vl", 8,
                          __builtin_cpu_supports("avx512f") &&
                            __builtin_cpu_supports("avx512vl") &&
                            __builtin_cpu_supports("fma"),
                          sw_fast_tanh_avx512vl, sw_fast_sigmoid_avx512vl};
  /* AVX-512's 16-lane layout and tiles, run by the portable code. */
  sets[n++] = (KernelSet){"vec16", 16,
                          __builtin_cpu_supports("avx2") &&
                            __builtin_cpu_supports("fma"),
                          sw_fast_tanh_vec16, sw_fast_sigmoid_vec16};
#elif defined(__aarch64__)
  sets[n++] =
    (KernelSet){"neon", 4, true, sw_fast_tanh_neon, sw_fast_sigmoid_neon};
#else
  sets[n++] = (KernelSet){"generic", 4, true, sw_fast_tanh_generic,
                          sw_fast_sigmoid_generic};
#endif
  return n;
}

#define GRID 400000U /* a multiple of 16 */

static void
check_activations(const KernelSet* set)
{
  float* const x = (float*)malloc(GRID * sizeof(float));
  float* const t = (float*)malloc(GRID * sizeof(float));
  float* const s = (float*)malloc(GRID * sizeof(float));
  /* -20..20 densely (where the functions bend), then out to +-1e30. */
  for (uint32_t i = 0; i < GRID; ++i) {
    const double u = (double)i / (GRID - 1U) * 2.0 - 1.0; /* -1..1 */
    x[i] = i % 16U == 15U ? (float)(u * 1e30) : (float)(u * 20.0);
  }
  const SwFpMode mode = sw_denormals_disable(); /* as in process calls */
  set->tanh_fn(x, t, GRID);
  set->sigmoid_fn(x, s, GRID);
  sw_denormals_restore(mode);
  double worst_t = 0.0, worst_s = 0.0;
  for (uint32_t i = 0; i < GRID; ++i) {
    const double xd = (double)x[i];
    worst_t = fmax(worst_t, fabs((double)t[i] - tanh(xd)));
    worst_s = fmax(worst_s, fabs((double)s[i] - 1.0 / (1.0 + exp(-xd))));
    if (fabs(xd) >= 10.0) {
      CHECK(t[i] == (xd > 0 ? 1.0f : -1.0f), "%s: tanh(%g) = %.9g, not +-1",
            set->name, xd, (double)t[i]);
    }
    /* Exactly, sigmoid(x) rounds to 1.0f from x = 25 ln 2 = 17.33 on
       (1 - e^-x within half an ulp below 1); at 17.0 it is 0.99999994. */
    if (xd >= 17.5) {
      CHECK(s[i] == 1.0f, "%s: sigmoid(%g) = %.9g, not 1", set->name, xd,
            (double)s[i]);
    }
    if (xd <= -88.0) {
      CHECK(s[i] == 0.0f, "%s: sigmoid(%g) = %.9g, not 0", set->name, xd,
            (double)s[i]);
    }
  }
  printf("# %s: tanh max abs error %.3g, sigmoid %.3g over %u points\n",
         set->name, worst_t, worst_s, GRID);
  CHECK(worst_t <= 2e-6, "%s: tanh error %.3g > 2e-6", set->name, worst_t);
  CHECK(worst_s <= 2e-6, "%s: sigmoid error %.3g > 2e-6", set->name, worst_s);
  free(x);
  free(t);
  free(s);
}

#define CHUNK 65536U /* a multiple of 16 */

/* Every float x with lo <= |x| < hi through fn: the smallest and largest
   result. */
static void
extremes(void (*fn)(const float*, float*, size_t), float lo, float hi,
         float* least, float* most)
{
  float* const x = (float*)malloc(CHUNK * sizeof(float));
  float* const y = (float*)malloc(CHUNK * sizeof(float));
  *least = INFINITY;
  *most  = -INFINITY;
  for (int sign = 0; sign < 2; ++sign) {
    uint32_t bits, end;
    memcpy(&bits, &lo, sizeof(bits));
    memcpy(&end, &hi, sizeof(end));
    while (bits < end) {
      for (uint32_t i = 0; i < CHUNK; ++i) {
        /* Past hi, repeat hi's predecessor: the chunk stays whole. */
        const uint32_t b = (bits + i < end ? bits + i : end - 1U) |
                           (sign ? 0x80000000U : 0U);
        memcpy(&x[i], &b, sizeof(b));
      }
      fn(x, y, CHUNK);
      for (uint32_t i = 0; i < CHUNK; ++i) {
        *least = fminf(*least, y[i]);
        *most  = fmaxf(*most, y[i]);
      }
      bits += CHUNK;
    }
  }
  free(x);
  free(y);
}

/* The ends, on every float where the functions come within 2e-6 of them
   (tanh from |x| = 6.5, sigmoid from 13; nearer 0 the error bound keeps
   them inside) up to past the input clamps (8.12, 16.2; beyond, the input
   is clamped): never past -1 or 1 (tanh), 0 or 1 (sigmoid). Where the sets
   fuse multiply-adds this holds without an output clamp, which they leave
   out (simd_vector.h). */
static void
check_activation_ends(const KernelSet* set)
{
  const SwFpMode mode = sw_denormals_disable();
  float          least, most;
  extremes(set->tanh_fn, 6.5f, 9.0f, &least, &most);
  CHECK(least == -1.0f && most == 1.0f,
        "%s: tanh over 6.5 <= |x| < 9 spans %.9g .. %.9g, not -1 .. 1",
        set->name, (double)least, (double)most);
  extremes(set->sigmoid_fn, 13.0f, 17.0f, &least, &most);
  CHECK(least == 0.0f && most == 1.0f,
        "%s: sigmoid over 13 <= |x| < 17 spans %.9g .. %.9g, not 0 .. 1",
        set->name, (double)least, (double)most);
  sw_denormals_restore(mode);
}

static SwModel*
build(const SwLayerSpec* layers, uint32_t n, uint32_t inputs, uint64_t seed)
{
  SwModelSpec spec = {0};
  spec.input_width = inputs;
  spec.num_layers  = n;
  spec.layers      = layers;
  spec.skip        = true;
  SwError err;
  SwModel* const m = sw_model_build(&spec, seed, &err);
  if (!m) {
    fprintf(stderr, "build: %s\n", err.message);
    exit(1);
  }
  return m;
}

/* Streams the last compared "cpu" context handed its kernels at once, its
   layers whose recurrent sums ran in two chains, and whether it ran a chunk
   of frames through each layer in turn. */
static uint32_t streams_per_call;
static uint32_t two_chain_layers;
static bool     layer_major;

/* The largest |cpu - cpu-ref| over `steps` frames of every stream, the cpu
   backend forced to kernel set `forced` ("" : its choice) and, with a
   `compact` format other than FP32, asked for it (whether it took it: in
   *compact_taken, with the reason in `why` if not); cpu-ref runs
   `ref_model` (the same model, or its weights rounded as the compact mode
   rounds them). */
static double
compare_mode(const SwModel* model, const SwModel* ref_model, uint32_t streams,
             uint32_t steps, const char* forced, const char** ran,
             SwWeightFormat compact, bool* compact_taken, char* why,
             size_t why_size)
{
  setenv("STATEWAVE_CPU_KERNELS", forced, 1);
  void*   fast = NULL;
  void*   ref  = NULL;
  SwError err;
  if (sw_cpu_backend.create(model, streams, 256, &fast, &err) ||
      sw_cpu_ref_backend.create(ref_model, streams, 256, &ref, &err)) {
    fprintf(stderr, "create: %s\n", err.message);
    exit(1);
  }
  if (compact != SW_WEIGHTS_FP32) {
    *compact_taken = sw_cpu_compact_weights(fast, compact, why, why_size);
  }
  *ran             = sw_cpu_kernels_name(fast);
  streams_per_call = sw_cpu_streams_per_call(fast);
  two_chain_layers = sw_cpu_two_chain_layers(fast);
  layer_major      = sw_cpu_layer_major(fast);
  const uint32_t I = model->input_width, O = model->output_width, B = 256;
  float* const   in  = (float*)malloc((size_t)streams * B * I * sizeof(float));
  float* const   a   = (float*)malloc((size_t)streams * B * O * sizeof(float));
  float* const   b   = (float*)malloc((size_t)streams * B * O * sizeof(float));
  double         worst = 0.0;
  uint64_t       resets_a = 0, resets_b = 0;
  uint32_t       seed = 12345U;
  const SwFpMode mode = sw_denormals_disable();
  for (uint32_t done = 0; done < steps; done += B) {
    for (uint32_t s = 0; s < streams; ++s) {
      for (uint32_t t = 0; t < B; ++t) {
        for (uint32_t k = 0; k < I; ++k) {
          seed = seed * 1664525U + 1013904223U;
          const float noise = (float)(seed >> 8) / 16777216.0f - 0.5f;
          in[((size_t)s * B + t) * I + k] =
            k ? 0.5f + 0.4f * sinf(0.0001f * (float)(done + t))
              : 0.7f * sinf(0.013f * (float)(done + t) * (float)(s + 1)) +
                  0.3f * noise;
        }
      }
    }
    sw_cpu_backend.process(fast, in, a, B, &resets_a);
    sw_cpu_ref_backend.process(ref, in, b, B, &resets_b);
    for (size_t i = 0; i < (size_t)streams * B * O; ++i) {
      worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
    }
  }
  sw_denormals_restore(mode);
  sw_cpu_backend.destroy(fast);
  sw_cpu_ref_backend.destroy(ref);
  free(in);
  free(a);
  free(b);
  return worst;
}

static double
compare(const SwModel* model, uint32_t streams, uint32_t steps,
        const char* forced, const char** ran)
{
  return compare_mode(model, model, streams, steps, forced, ran,
                      SW_WEIGHTS_FP32, NULL, NULL, 0);
}

/* The compact mode (half-precision weights): where the set converts halves,
   it runs them (the kernel name says so), the output moves off FP32's by
   the weights' rounding only (within 1e-3 of cpu-ref, and not equal to the
   FP32 run's error, so the path really ran); elsewhere it is refused with
   the reason and the engine stays FP32. */
static void
check_compact(const KernelSet* set, const SwLayerSpec* layers, size_t n,
              const char* what, uint32_t streams)
{
  SwModel* const model = build(layers, n, 1, 77);
  const char*    ran   = NULL;
  bool           taken = false;
  char           why[160] = "";
  const double   fp32  = compare(model, streams, 20000, set->name, &ran);
  const double   fp16  = compare_mode(model, model, streams, 20000, set->name,
                                      &ran, SW_WEIGHTS_FP16, &taken, why,
                                      sizeof(why));
  const bool     can   = !strcmp(set->name, "avx2") ||
                  !strcmp(set->name, "avx512") ||
                  !strcmp(set->name, "avx512vl") || !strcmp(set->name, "neon");
  printf("# %-8s %-36s fp16 weights: %s, max |cpu - cpu-ref| %.3g (fp32 %.3g)\n",
         set->name, what, taken ? "taken" : why, fp16, fp32);
  if (can) {
    char expected[32];
    snprintf(expected, sizeof(expected), "%s-fp16", set->name);
    CHECK(taken && !strcmp(ran, expected), "%s on %s: compact mode not taken "
          "(%s), ran %s", what, set->name, why, ran);
    CHECK(fp16 <= 1e-3 && fp16 != fp32, "%s on %s: fp16 %.3g from cpu-ref, "
          "fp32 %.3g", what, set->name, fp16, fp32);
  } else {
    CHECK(!taken && strstr(why, "cannot convert halves") && fp16 == fp32,
          "%s on %s: compact mode should be refused (taken %d, '%s')", what,
          set->name, (int)taken, why);
  }
  sw_model_free(model);
}

/* x rounded to the nearest bfloat16 (ties to even), as a float. */
static float
bf16_rounded(float x)
{
  uint32_t bits;
  memcpy(&bits, &x, sizeof(bits));
  bits = (bits + 0x7fffU + ((bits >> 16) & 1U)) & 0xffff0000U;
  memcpy(&x, &bits, sizeof(x));
  return x;
}

/* The bfloat16 compact mode, which every set takes: against cpu-ref on the
   model whose LSTM and reset-after GRU weights (not biases) are rounded to
   bfloat16 it is as close as FP32 is (1e-5: the pairs of gates are laid out
   and widened exactly); against the model itself, within 1e-2 and not
   FP32's error. */
static void
check_bf16(const KernelSet* set, const SwLayerSpec* layers, size_t n,
           uint32_t inputs, const char* what, uint32_t streams)
{
  SwModel* const model   = build(layers, (uint32_t)n, inputs, 78);
  SwModel* const rounded = build(layers, (uint32_t)n, inputs, 78);
  for (uint32_t l = 0; l < rounded->num_layers; ++l) {
    SwLayer* const layer = &rounded->layers[l];
    if (layer->type != SW_LAYER_LSTM &&
        !(layer->type == SW_LAYER_GRU &&
          layer->gru_reset == SW_GRU_RESET_AFTER)) {
      continue;
    }
    const size_t rows = (size_t)(layer->type == SW_LAYER_LSTM ? 4U : 3U) *
                        layer->units;
    for (size_t i = 0; i < rows * layer->input_width; ++i) {
      layer->kernel[i] = bf16_rounded(layer->kernel[i]);
    }
    for (size_t i = 0; i < rows * layer->units; ++i) {
      layer->recurrent_kernel[i] = bf16_rounded(layer->recurrent_kernel[i]);
    }
  }
  const char*  ran   = NULL;
  bool         taken = false;
  char         why[160] = "";
  const double fp32  = compare(model, streams, 20000, set->name, &ran);
  const double exact = compare_mode(model, rounded, streams, 20000, set->name,
                                    &ran, SW_WEIGHTS_BF16, &taken, why,
                                    sizeof(why));
  char expected[32];
  snprintf(expected, sizeof(expected), "%s-bf16", set->name);
  CHECK(taken && !strcmp(ran, expected), "%s on %s: bf16 not taken (%s), "
        "ran %s", what, set->name, why, ran);
  const double cost = compare_mode(model, model, streams, 20000, set->name,
                                   &ran, SW_WEIGHTS_BF16, &taken, why,
                                   sizeof(why));
  printf("# %-8s %-36s bf16 weights: max |cpu - cpu-ref(bf16 weights)| "
         "%.3g, |cpu - cpu-ref| %.3g (fp32 %.3g)\n", set->name, what, exact,
         cost, fp32);
  CHECK(exact <= 1e-5, "%s on %s: bf16 %.3g from cpu-ref on bf16 weights",
        what, set->name, exact);
  CHECK(cost <= 1e-2 && cost != fp32, "%s on %s: bf16 %.3g from cpu-ref, "
        "fp32 %.3g", what, set->name, cost, fp32);
  sw_model_free(model);
  sw_model_free(rounded);
}

/* A "cpu" context of one stream forced to kernel set `set`. */
static void*
one_stream(const SwModel* model, const char* set)
{
  setenv("STATEWAVE_CPU_KERNELS", set, 1);
  void*   fast = NULL;
  SwError err;
  if (sw_cpu_backend.create(model, 1, 256, &fast, &err)) {
    fprintf(stderr, "create: %s\n", err.message);
    exit(1);
  }
  return fast;
}

/* One stream run a chunk of frames through each layer in turn gives what
   it gives frame by frame, bit for bit: the same frames in calls of 256
   and in calls of 1 (each call's frames are its chunks, so calls of one
   frame go frame by frame) to 100 frames, outputs and every layer's state
   compared (the caller checks where the chunks run). */
static void
check_call_sizes(const KernelSet* set, const SwModel* model, const char* what)
{
  enum { FRAMES = 3000 };
  static const uint32_t sizes[] = {1, 2, 3, 15, 16, 17, 31, 100};
  void* const whole = one_stream(model, set->name);
  void* const parts = one_stream(model, set->name);
  static float in[FRAMES], a[FRAMES], b[FRAMES];
  for (uint32_t t = 0; t < FRAMES; ++t) {
    in[t] = 0.6f * sinf(0.021f * (float)t) + 0.2f * sinf(1.3f * (float)t);
  }
  uint64_t resets = 0;
  for (uint32_t t = 0; t < FRAMES; t += 256) {
    const uint32_t n = FRAMES - t < 256 ? FRAMES - t : 256;
    sw_cpu_backend.process(whole, in + t, a + t, n, &resets);
  }
  for (uint32_t t = 0, k = 0; t < FRAMES; ++k) {
    uint32_t n = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
    n          = FRAMES - t < n ? FRAMES - t : n;
    sw_cpu_backend.process(parts, in + t, b + t, n, &resets);
    t += n;
  }
  CHECK(memcmp(a, b, sizeof(a)) == 0,
        "%s on %s: outputs differ between calls of 256 and of 1 to 100 "
        "frames", what, set->name);
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    if (layer->type != SW_LAYER_LSTM) {
      continue;
    }
    float* const sa = (float*)malloc(2U * layer->units * sizeof(float));
    float* const sb = (float*)malloc(2U * layer->units * sizeof(float));
    sw_cpu_backend.get_state(whole, 0, l, sa);
    sw_cpu_backend.get_state(parts, 0, l, sb);
    CHECK(memcmp(sa, sb, 2U * layer->units * sizeof(float)) == 0,
          "%s on %s: layer %u's state differs between call sizes", what,
          set->name, l);
    free(sa);
    free(sb);
  }
  sw_cpu_backend.destroy(whole);
  sw_cpu_backend.destroy(parts);
}

/* A layer whose state goes bad in the middle of a chunk: a relu SimpleRNN
   of one unit (input weight 0, bias 1, recurrent weight 1e20) after an
   LSTM 96 goes 1, 1e20, Inf, so every third frame resets the stream, the
   LSTM's state too, though the LSTM has run on through the chunk by then.
   Outputs 1, 1e20, 0 over and over, and the LSTM's state as in calls of one
   frame. */
static void
check_bad_state_in_chunk(const KernelSet* set)
{
  enum { FRAMES = 100 };
  static const float zeros96[96] = {0};
  static const float one[1]      = {1.0f};
  static const float huge[1]     = {1e20f};
  static const float zero[1]     = {0.0f};
  SwLayerSpec        layers[3]   = {sw_layer_spec(SW_LAYER_LSTM, 96),
                                    sw_layer_spec(SW_LAYER_SIMPLE_RNN, 1),
                                    sw_layer_spec(SW_LAYER_DENSE, 1)};
  layers[1].activation           = SW_ACT_RELU;
  layers[1].kernel               = zeros96;
  layers[1].recurrent_kernel     = huge;
  layers[1].bias                 = one;
  layers[1].recurrent_bias       = zero;
  layers[2].activation           = SW_ACT_LINEAR;
  layers[2].kernel               = one;
  layers[2].bias                 = zero;
  SwModel* const model = build(layers, 3, 1, 5);
  void* const    whole = one_stream(model, set->name);
  void* const    parts = one_stream(model, set->name);
  float          in[FRAMES], a[FRAMES], b[FRAMES];
  for (uint32_t t = 0; t < FRAMES; ++t) {
    in[t] = 0.5f * sinf(0.1f * (float)t);
  }
  uint64_t resets_whole = 0, resets_parts = 0;
  sw_cpu_backend.process(whole, in, a, FRAMES, &resets_whole);
  for (uint32_t t = 0; t < FRAMES; ++t) {
    sw_cpu_backend.process(parts, in + t, b + t, 1, &resets_parts);
  }
  for (uint32_t t = 0; t < FRAMES; ++t) {
    const float expected = t % 3U == 0 ? 1.0f : t % 3U == 1 ? 1e20f : 0.0f;
    if (a[t] != expected) {
      CHECK(a[t] == expected, "bad state in a chunk on %s: frame %u gave "
            "%g, expected %g", set->name, t, (double)a[t],
            (double)expected);
      break;
    }
  }
  CHECK(resets_whole == FRAMES / 3 && resets_parts == FRAMES / 3,
        "bad state in a chunk on %s: %llu and %llu resets, expected %d",
        set->name, (unsigned long long)resets_whole,
        (unsigned long long)resets_parts, FRAMES / 3);
  float sa[192], sb[192];
  sw_cpu_backend.get_state(whole, 0, 0, sa);
  sw_cpu_backend.get_state(parts, 0, 0, sb);
  CHECK(memcmp(a, b, sizeof(a)) == 0 && memcmp(sa, sb, sizeof(sa)) == 0,
        "bad state in a chunk on %s: outputs or the LSTM's state differ "
        "from calls of one frame", set->name);
  printf("# %-8s bad state mid-chunk: %llu resets, %s\n", set->name,
         (unsigned long long)resets_whole,
         sw_cpu_layer_major(whole) ? "layer by layer" : "frame by frame");
  sw_cpu_backend.destroy(whole);
  sw_cpu_backend.destroy(parts);
  sw_model_free(model);
}

int
main(void)
{
  KernelSet sets[5];
  const size_t count = kernel_sets(sets);

  SwLayerSpec lstm40[2] = {sw_layer_spec(SW_LAYER_LSTM, 40),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru40[2]  = {sw_layer_spec(SW_LAYER_GRU, 40),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru24b[2] = {sw_layer_spec(SW_LAYER_GRU, 24),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  gru24b[0].gru_reset   = SW_GRU_RESET_BEFORE;
  SwLayerSpec rnn32[2]  = {sw_layer_spec(SW_LAYER_SIMPLE_RNN, 32),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  rnn32[0].activation   = SW_ACT_RELU;
  SwLayerSpec stack[4]  = {sw_layer_spec(SW_LAYER_LSTM, 24),
                           sw_layer_spec(SW_LAYER_LSTM, 24),
                           sw_layer_spec(SW_LAYER_DENSE, 8),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  stack[2].activation   = SW_ACT_TANH;
  SwLayerSpec hard[2]   = {sw_layer_spec(SW_LAYER_LSTM, 20),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  hard[0].recurrent_activation = SW_ACT_HARD_SIGMOID;
  SwLayerSpec swish[2]  = {sw_layer_spec(SW_LAYER_GRU, 12),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  swish[1].activation   = SW_ACT_SWISH;
  /* Weights beyond L1 (28 KB): their streams go through in groups, the
     smaller models' one at a time (LSTM 32: 17 KB at every lane count; 40
     units padded to 48 for 16 lanes are 31 KB). */
  SwLayerSpec lstm32[2] = {sw_layer_spec(SW_LAYER_LSTM, 32),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  /* One stream through wider layers: tile widths of 4 and 5 blocks at 16
     lanes (LSTM 56 padded to 64; GRU 80), and LSTM 96 and 81 (an odd
     count of recurrent inputs), whose weights (over 64 KB) go in tiles of
     one block, their recurrent sums in two chains (fast_plan.h). */
  SwLayerSpec lstm56[2] = {sw_layer_spec(SW_LAYER_LSTM, 56),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec lstm96[2] = {sw_layer_spec(SW_LAYER_LSTM, 96),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec lstm81[2] = {sw_layer_spec(SW_LAYER_LSTM, 81),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  /* Two such layers: one stream goes through them a chunk of frames a
     layer at a time (fast_plan.h). */
  SwLayerSpec deep[3]   = {sw_layer_spec(SW_LAYER_LSTM, 96),
                           sw_layer_spec(SW_LAYER_LSTM, 48),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru80[2]  = {sw_layer_spec(SW_LAYER_GRU, 80),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec lstm48[2] = {sw_layer_spec(SW_LAYER_LSTM, 48),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru64[2]  = {sw_layer_spec(SW_LAYER_GRU, 64),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec gru64b[2] = {sw_layer_spec(SW_LAYER_GRU, 64),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  gru64b[0].gru_reset   = SW_GRU_RESET_BEFORE;
  SwLayerSpec rnn96[2]  = {sw_layer_spec(SW_LAYER_SIMPLE_RNN, 96),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec big_stack[4] = {sw_layer_spec(SW_LAYER_LSTM, 32),
                              sw_layer_spec(SW_LAYER_LSTM, 32),
                              sw_layer_spec(SW_LAYER_DENSE, 8),
                              sw_layer_spec(SW_LAYER_DENSE, 1)};
  big_stack[2].activation = SW_ACT_TANH;
  /* A head of dot products first (it reads its input padded, from the
     work area) and a recurrent layer last (its h is the output). */
  SwLayerSpec dense_first[2] = {sw_layer_spec(SW_LAYER_DENSE, 4),
                                sw_layer_spec(SW_LAYER_LSTM, 16)};
  dense_first[0].activation  = SW_ACT_TANH;

  struct {
    const char*        name;
    const SwLayerSpec* layers;
    uint32_t           n, inputs, streams, steps;
    bool               grouped; /* streams share passes over the weights */
  } cases[] = {
    {"LSTM 40", lstm40, 2, 1, 1, 100000, false},
    {"GRU 40 (reset after)", gru40, 2, 1, 1, 100000, false},
    {"GRU 24 (reset before)", gru24b, 2, 1, 1, 100000, false},
    {"SimpleRNN 32 relu", rnn32, 2, 1, 1, 100000, false},
    {"LSTM 24 x2 + Dense 8 tanh + Dense", stack, 4, 1, 1, 100000, false},
    {"LSTM 20 hard_sigmoid, 2 knobs", hard, 2, 3, 1, 100000, false},
    {"GRU 12 + swish Dense", swish, 2, 1, 1, 20000, false},
    {"LSTM 56", lstm56, 2, 1, 1, 20000, false},
    {"LSTM 96", lstm96, 2, 1, 1, 20000, false},
    {"LSTM 81 (odd)", lstm81, 2, 1, 1, 20000, false},
    {"LSTM 96 + LSTM 48 + Dense", deep, 3, 1, 1, 20000, false},
    {"Dense 4 tanh + LSTM 16, 3 inputs", dense_first, 2, 3, 1, 20000, false},
    {"LSTM 96, 2 streams", lstm96, 2, 1, 2, 20000, true},
    {"GRU 80 (reset after)", gru80, 2, 1, 1, 20000, false},
    {"LSTM 32, 2 streams (one at a time)", lstm32, 2, 1, 2, 20000, false},
    {"LSTM 48, 2 streams", lstm48, 2, 1, 2, 20000, true},
    {"GRU 64, 3 streams", gru64, 2, 1, 3, 20000, true},
    {"GRU 64 (reset before), 4 streams", gru64b, 2, 1, 4, 20000, true},
    {"SimpleRNN 96, 3 streams", rnn96, 2, 1, 3, 20000, true},
    {"LSTM 32 x2 + Dense stack, 5 streams", big_stack, 4, 1, 5, 20000, true},
  };
  for (size_t k = 0; k < count; ++k) {
    if (!sets[k].supported) {
      printf("# %s: not on this CPU, skipped\n", sets[k].name);
      continue;
    }
    check_activations(&sets[k]);
    check_activation_ends(&sets[k]);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) {
      SwModel* const model =
        build(cases[c].layers, cases[c].n, cases[c].inputs, 100U + c);
      const char*  ran   = NULL;
      const double worst = compare(model, cases[c].streams, cases[c].steps,
                                   sets[k].name, &ran);
      printf("# %-8s %-38s max |cpu - cpu-ref| %.3g over %u steps\n",
             sets[k].name, cases[c].name, worst, cases[c].steps);
      CHECK(!strcmp(ran, sets[k].name), "%s: asked for kernels %s, ran %s",
            cases[c].name, sets[k].name, ran);
      CHECK(worst <= 1e-5, "%s on %s: %.3g from cpu-ref", cases[c].name,
            sets[k].name, worst);
      CHECK(cases[c].streams == 1 ||
              (streams_per_call > 1U) == cases[c].grouped,
            "%s on %s: %u streams per kernel call", cases[c].name,
            sets[k].name, streams_per_call);
      /* One stream of an LSTM whose weights come from L2 (over 64 KB)
         sums in two chains where vectors are 8 lanes or more, and goes
         through the layers a chunk of frames at a time; a stream among
         several never does. */
      const bool     wide   = cases[c].streams == 1 && sets[k].lanes >= 8;
      const uint32_t chains = !wide                      ? 0U
                              : cases[c].layers == deep ? 2U
                              : cases[c].layers == lstm96 ||
                                  cases[c].layers == lstm81
                                ? 1U
                                : 0U;
      CHECK(two_chain_layers == chains && layer_major == (chains > 0U),
            "%s on %s: %u layers in two chains (expected %u), layer by "
            "layer %d", cases[c].name, sets[k].name, two_chain_layers,
            chains, (int)layer_major);
      if (cases[c].layers == deep) {
        check_call_sizes(&sets[k], model, cases[c].name);
      }
      sw_model_free(model);
    }
  }

  SwLayerSpec lstm128[2] = {sw_layer_spec(SW_LAYER_LSTM, 128),
                            sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwLayerSpec mixed[3]   = {sw_layer_spec(SW_LAYER_LSTM, 20),
                            sw_layer_spec(SW_LAYER_GRU, 36),
                            sw_layer_spec(SW_LAYER_DENSE, 2)};
  for (size_t k = 0; k < count; ++k) {
    if (sets[k].supported) {
      check_bad_state_in_chunk(&sets[k]);
      check_compact(&sets[k], lstm40, 2, "LSTM 40", 1);
      check_compact(&sets[k], gru40, 2, "GRU 40 (reset after)", 3);
      check_compact(&sets[k], lstm128, 2, "LSTM 128, 2 streams", 2);
      check_bf16(&sets[k], lstm40, 2, 1, "LSTM 40", 1);
      check_bf16(&sets[k], gru40, 2, 1, "GRU 40 (reset after)", 3);
      check_bf16(&sets[k], lstm128, 2, 1, "LSTM 128, 2 streams", 2);
      check_bf16(&sets[k], mixed, 3, 3, "LSTM 20, GRU 36, 3 inputs", 1);
      check_bf16(&sets[k], mixed, 3, 3, "LSTM 20, GRU 36, 3 inputs", 4);
    }
  }

  /* A stream's output does not depend on which streams share its pass
     over the weights: five streams of one input (four grouped, one alone)
     are bit-identical. */
  {
    SwModel* const model = build(big_stack, 4, 1, 11);
    void*          fast  = NULL;
    SwError        err;
    unsetenv("STATEWAVE_CPU_KERNELS");
    if (sw_cpu_backend.create(model, 5, 64, &fast, &err)) {
      fprintf(stderr, "create: %s\n", err.message);
      return 1;
    }
    float    in[5 * 64], out[5 * 64];
    uint64_t resets = 0;
    for (uint32_t block = 0; block < 50; ++block) {
      for (uint32_t s = 0; s < 5; ++s) {
        for (uint32_t t = 0; t < 64; ++t) {
          in[s * 64 + t] = 0.8f * sinf(0.05f * (float)(block * 64 + t));
        }
      }
      sw_cpu_backend.process(fast, in, out, 64, &resets);
      for (uint32_t s = 1; s < 5; ++s) {
        CHECK(memcmp(out, out + s * 64, sizeof(float) * 64) == 0,
              "stream %u differs from stream 0 on the same input (block %u)",
              s, block);
      }
    }
    sw_cpu_backend.destroy(fast);
    sw_model_free(model);
  }

  /* No kernels for Conv1D: the reference runs inside "cpu". */
  SwLayerSpec conv[2] = {sw_layer_spec(SW_LAYER_CONV1D, 4),
                         sw_layer_spec(SW_LAYER_DENSE, 1)};
  conv[0].kernel_size = 3;
  SwModel* const model = build(conv, 2, 1, 7);
  const char*    ran   = NULL;
  const double   worst = compare(model, 1, 2000, "", &ran);
  CHECK(!strcmp(ran, "cpu-ref") && worst == 0.0,
        "Conv1D: ran %s, %.3g from cpu-ref", ran, worst);
  bool taken = false;
  char why[160] = "";
  compare_mode(model, model, 1, 256, "", &ran, SW_WEIGHTS_FP16, &taken, why,
               sizeof(why));
  CHECK(!taken && strstr(why, "cpu-ref"), "Conv1D: compact mode %s ('%s')",
        taken ? "taken" : "refused", why);
  compare_mode(model, model, 1, 256, "", &ran, SW_WEIGHTS_BF16, &taken, why,
               sizeof(why));
  CHECK(!taken && strstr(why, "cpu-ref"), "Conv1D: bf16 mode %s ('%s')",
        taken ? "taken" : "refused", why);
  sw_model_free(model);

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  puts("ok");
  return 0;
}
