/* Which backend an engine runs on: the one asked for, or for auto the
   fastest measured on this model and stream count; the CPU wherever a GPU
   backend is missing, unusable or cannot run the model. */

#include "backend.h"
#include "error.h"
#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Blocks timed per candidate, and the time after which timing stops early
   (a slow backend on a big model must not stall engine creation). */
#define MEASURE_BLOCKS 7
#define MEASURE_BUDGET_SECONDS 0.05
#define MEASURE_MAX_FRAMES 256U

static const SwBackendKind gpu_kinds[] = { SW_BACKEND_FUSED, SW_BACKEND_CUDNN };
#define GPU_KIND_COUNT (sizeof(gpu_kinds) / sizeof(gpu_kinds[0]))

static double
now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int
compare_doubles(const void* const a, const void* const b)
{
  const double x = *(const double*)a;
  const double y = *(const double*)b;
  return (x > y) - (x < y);
}

/* Append `text` to the note, cut to fit. */
static void
note_add(SwBackendChoice* const choice, const char* const text)
{
  const size_t used = strlen(choice->note);
  const size_t room = sizeof(choice->note) - used;
  const size_t len  = strlen(text);
  const size_t n    = len < room - 1U ? len : room - 1U;
  memcpy(choice->note + used, text, n);
  choice->note[used + n] = '\0';
}

/* Append "; " between the reasons of several backends. */
static void
note_separate(SwBackendChoice* const choice)
{
  if (choice->note[0]) {
    note_add(choice, "; ");
  }
}

/* Median seconds per block of `frames` on a made context, or a negative
   value when a block fails. Every stream is reset afterwards. */
static double
measure(const SwBackendIface* const backend,
        void* const context, const uint32_t streams, const uint32_t frames,
        const float* const in, float* const out)
{
  double   times[MEASURE_BLOCKS];
  uint32_t count     = 0;
  uint64_t nonfinite = 0;
  if (backend->process(context, in, out, frames, &nonfinite)) { /* warm-up */
    return -1.0;
  }
  const double start = now_seconds();
  while (count < MEASURE_BLOCKS) {
    const double t0 = now_seconds();
    if (backend->process(context, in, out, frames, &nonfinite)) {
      return -1.0;
    }
    const double t1 = now_seconds();
    times[count++]  = t1 - t0;
    if (t1 - start > MEASURE_BUDGET_SECONDS) {
      break;
    }
  }
  for (uint32_t s = 0; s < streams; ++s) {
    backend->reset(context, s);
  }
  qsort(times, count, sizeof(double), compare_doubles);
  return times[count / 2U];
}

/* A deterministic signal in [-0.5, 0.5] with the knobs at their defaults. */
static float*
make_measure_input(const SwModel* const model, const uint32_t streams,
                   const uint32_t frames)
{
  const size_t I  = model->input_width;
  float* const in = (float*)malloc((size_t)streams * frames * I * sizeof(float));
  if (!in) {
    return NULL;
  }
  uint32_t seed = 12345U;
  for (size_t f = 0; f < (size_t)streams * frames; ++f) {
    seed          = seed * 1664525U + 1013904223U;
    in[f * I]     = (float)(seed >> 8) / 16777216.0f - 0.5f;
    for (size_t k = 1; k < I; ++k) {
      in[f * I + k] = model->knobs[k - 1U].default_value;
    }
  }
  return in;
}

/* Try to make GPU backend `kind`; on failure say why in the note. */
static void*
try_create(const SwModel* const model, const SwBackendKind kind,
           const uint32_t streams, const uint32_t max_block,
           SwBackendChoice* const choice)
{
  const SwBackendIface* const backend = sw_backend_get(kind);
  char                        why[256];
  note_separate(choice);
  if (!backend) {
    note_add(choice, kind == SW_BACKEND_CUDNN ? "cudnn" : "fused");
    note_add(choice, ": not built (no CUDA at build time)");
    return NULL;
  }
  if (!backend->probe(why, sizeof(why))) {
    note_add(choice, backend->name);
    note_add(choice, ": unusable here, ");
    note_add(choice, why);
    return NULL;
  }
  void*   context = NULL;
  SwError err;
  memset(&err, 0, sizeof(err));
  if (backend->create(model, streams, max_block, &context, &err)) {
    note_add(choice, backend->name);
    note_add(choice, ": ");
    note_add(choice, err.message);
    return NULL;
  }
  /* Nothing to say about a backend that was made. */
  const size_t used = strlen(choice->note);
  if (used >= 2U && !strcmp(choice->note + used - 2U, "; ")) {
    choice->note[used - 2U] = '\0';
  }
  return context;
}

static SwStatus
create_cpu(const SwModel* const model, const uint32_t streams,
           const uint32_t max_block, void** const context, SwError* const err)
{
  if (sw_cpu_backend.create(model, streams, max_block, context, err)) {
    sw_error_prefix(err, "cpu backend: ");
    return err ? err->status : SW_ERR_BACKEND;
  }
  return SW_SUCCESS;
}

/* Auto: time every GPU backend that can run the model against the CPU. */
static SwStatus
choose_fastest(const SwModel* const model, const uint32_t streams,
               const uint32_t max_block, SwBackendChoice* const choice,
               void* const cpu_context, SwError* const err)
{
  void* contexts[GPU_KIND_COUNT] = { NULL };
  bool  any_gpu                  = false;
  for (size_t g = 0; g < GPU_KIND_COUNT; ++g) {
    contexts[g] = try_create(model, gpu_kinds[g], streams, max_block, choice);
    any_gpu     = any_gpu || contexts[g];
  }
  choice->backend = &sw_cpu_backend;
  choice->context = cpu_context;
  if (!any_gpu) {
    char reasons[sizeof(choice->note)];
    memcpy(reasons, choice->note, sizeof(reasons));
    choice->note[0] = '\0';
    note_add(choice, "auto chose cpu: no GPU backend can run it here (");
    note_add(choice, reasons);
    note_add(choice, ")");
    return SW_SUCCESS;
  }

  const uint32_t frames = max_block < MEASURE_MAX_FRAMES ? max_block
                                                         : MEASURE_MAX_FRAMES;
  float* const in  = make_measure_input(model, streams, frames);
  float* const out = (float*)malloc((size_t)streams * frames *
                                    model->output_width * sizeof(float));
  if (!in || !out) {
    free(in);
    free(out);
    for (size_t g = 0; g < GPU_KIND_COUNT; ++g) {
      if (contexts[g]) {
        sw_backend_get(gpu_kinds[g])->destroy(contexts[g]);
      }
    }
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }

  char timings[256] = "";
  double best = measure(&sw_cpu_backend, cpu_context, streams, frames,
                        in, out);
  snprintf(timings, sizeof(timings), "cpu %.1f us", best * 1e6);
  int best_gpu = -1;
  for (size_t g = 0; g < GPU_KIND_COUNT; ++g) {
    if (!contexts[g]) {
      continue;
    }
    const SwBackendIface* const backend = sw_backend_get(gpu_kinds[g]);
    const double seconds =
      measure(backend, contexts[g], streams, frames, in, out);
    const size_t used = strlen(timings);
    if (seconds < 0.0) {
      snprintf(timings + used, sizeof(timings) - used, ", %s failed",
               backend->name);
      backend->destroy(contexts[g]);
      contexts[g] = NULL;
      continue;
    }
    snprintf(timings + used, sizeof(timings) - used, ", %s %.1f us",
             backend->name, seconds * 1e6);
    if (seconds < best) {
      best     = seconds;
      best_gpu = (int)g;
    }
  }
  free(in);
  free(out);

  for (size_t g = 0; g < GPU_KIND_COUNT; ++g) {
    if (contexts[g] && (int)g != best_gpu) {
      sw_backend_get(gpu_kinds[g])->destroy(contexts[g]);
    }
  }
  char others[sizeof(choice->note)];
  memcpy(others, choice->note, sizeof(others));
  choice->note[0] = '\0';
  if (best_gpu >= 0) {
    choice->backend     = sw_backend_get(gpu_kinds[best_gpu]);
    choice->context     = contexts[best_gpu];
    choice->cpu_context = cpu_context;
  }
  char head[96];
  snprintf(head, sizeof(head), "auto chose %s (median per %u-frame block of "
           "%u stream%s: ", choice->backend->name, frames, streams,
           streams == 1 ? "" : "s");
  note_add(choice, head);
  note_add(choice, timings);
  note_add(choice, ")");
  if (others[0]) {
    note_add(choice, "; ");
    note_add(choice, others);
  }
  return SW_SUCCESS;
}

SwStatus
sw_backend_choose(const SwModel* const model, const SwBackendKind kind,
                  const uint32_t streams, const uint32_t max_block,
                  SwBackendChoice* const choice, SwError* const err)
{
  memset(choice, 0, sizeof(*choice));
  if ((int)kind < 0 || (int)kind >= SW_BACKEND_KIND_COUNT) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "engine config: backend is %d; expected 0..%d "
                        "(auto, cpu, cudnn, fused, cpu-ref)",
                        (int)kind, SW_BACKEND_KIND_COUNT - 1);
  }
  if (kind == SW_BACKEND_CPU_REF) {
    /* The reference never fails mid-stream: nothing to fall back to. */
    if (sw_cpu_ref_backend.create(model, streams, max_block, &choice->context,
                                  err)) {
      sw_error_prefix(err, "cpu-ref backend: ");
      return err ? err->status : SW_ERR_BACKEND;
    }
    choice->backend = &sw_cpu_ref_backend;
    return SW_SUCCESS;
  }
  void* cpu_context = NULL;
  const SwStatus st = create_cpu(model, streams, max_block, &cpu_context, err);
  if (st) {
    return st;
  }
  choice->backend = &sw_cpu_backend;
  choice->context = cpu_context;
  if (kind == SW_BACKEND_CPU) {
    return SW_SUCCESS;
  }
  if (kind == SW_BACKEND_AUTO) {
    const SwStatus ast =
      choose_fastest(model, streams, max_block, choice, cpu_context, err);
    if (ast) {
      sw_cpu_backend.destroy(cpu_context);
      memset(choice, 0, sizeof(*choice));
      return ast;
    }
    sw_log(SW_LOG_INFO, "%s", choice->note);
    return SW_SUCCESS;
  }

  void* const context = try_create(model, kind, streams, max_block, choice);
  if (!context) {
    char why[sizeof(choice->note)];
    memcpy(why, choice->note, sizeof(why));
    choice->note[0] = '\0';
    note_add(choice, "running on the cpu: ");
    note_add(choice, why);
    sw_log(SW_LOG_WARNING, "%s", choice->note);
    return SW_SUCCESS;
  }
  choice->backend     = sw_backend_get(kind);
  choice->context     = context;
  choice->cpu_context = cpu_context;
  return SW_SUCCESS;
}

void
sw_backend_choice_release(SwBackendChoice* const choice)
{
  if (choice->context) {
    choice->backend->destroy(choice->context);
  }
  if (choice->cpu_context && choice->cpu_context != choice->context) {
    sw_cpu_backend.destroy(choice->cpu_context);
  }
  memset(choice, 0, sizeof(*choice));
}
