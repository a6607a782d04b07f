#include "fused_host.h"

#include "cuda/fused_step.h"
#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>

static void*
checked_calloc(const size_t count, const size_t size)
{
  void* const p = calloc(count ? count : 1U, size);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

/* A stream bound to its slice of the host buffers. */
static SwFusedStream
bind(FusedHost* const host, const uint32_t stream, const float* const in,
     float* const out, const uint32_t frames)
{
  const SwFusedPlan* const p = &host->plan;
  SwFusedStream            s;
  s.plan       = p;
  s.weights    = host->weights;
  s.in         = in ? in + (size_t)stream * frames * p->input_width : NULL;
  s.out        = out ? out + (size_t)stream * frames * p->output_width : NULL;
  s.state_io   = host->state + (size_t)stream * p->state_size;
  s.state_copy = host->state_copy + (size_t)stream * p->state_size;
  s.resets     = host->resets + stream;
  sw_fused_bind_work(&s, host->work);
  return s;
}

void
fused_host_init(FusedHost* const host, const SwModel* const model,
                const uint32_t streams)
{
  SwError err;
  if (sw_fused_plan_build(model, &host->plan, NULL, &err)) {
    fprintf(stderr, "fused plan: %s\n", err.message);
    exit(1);
  }
  host->weights = (float*)checked_calloc(host->plan.weight_count, 4U);
  sw_fused_plan_build(model, &host->plan, host->weights, &err);
  host->streams    = streams;
  host->state      = (float*)checked_calloc(
    (size_t)streams * host->plan.state_size, 4U);
  host->state_copy = (float*)checked_calloc(
    (size_t)streams * host->plan.state_size, 4U);
  host->resets = (unsigned*)checked_calloc(streams, sizeof(unsigned));
  host->work   = (float*)checked_calloc(sw_fused_work_floats(&host->plan), 4U);
  for (uint32_t s = 0; s < streams; ++s) {
    fused_host_reset(host, s);
  }
}

void
fused_host_free(FusedHost* const host)
{
  free(host->weights);
  free(host->state);
  free(host->state_copy);
  free(host->resets);
  free(host->work);
}

void
fused_host_reset(FusedHost* const host, const uint32_t stream)
{
  SwFusedStream s = bind(host, stream, NULL, NULL, 0);
  sw_fused_reset_state(&s, 0, 1);
  for (uint32_t i = 0; i < host->plan.state_size; ++i) {
    s.state_io[i] = s.state[i];
  }
}

uint64_t
fused_host_run(FusedHost* const host, const float* const in, float* const out,
               const uint32_t frames, const uint32_t nthreads)
{
  uint64_t resets = 0;
  for (uint32_t stream = 0; stream < host->streams; ++stream) {
    SwFusedStream s = bind(host, stream, in, out, frames);
#define HOST_RUN(phase, layer, t)                                  \
  for (uint32_t tid = 0; tid < nthreads; ++tid) {                  \
    sw_fused_phase(&s, (phase), (layer), (t), tid, nthreads);      \
  }
#define HOST_BARRIER() ((void)0)
    SW_FUSED_DRIVE(&s, frames, HOST_RUN, HOST_BARRIER);
#undef HOST_BARRIER
#undef HOST_RUN
    resets += host->resets[stream];
  }
  return resets;
}
