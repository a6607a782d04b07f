#include "flaky_backend.h"

#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t flaky_fail_at    = 5;
int      flaky_fail_stage = FAIL_IN_PROCESS;
bool     flaky_usable     = true;

typedef struct {
  void*    cpu;
  uint32_t blocks;
  float*   pending_in;
  uint32_t pending_frames;
  size_t   in_floats;
} Flaky;

static bool
flaky_probe(char* const detail, const size_t size)
{
  snprintf(detail, size,
           flaky_usable ? "a test stand-in" : "no test device here");
  return flaky_usable;
}

static SwStatus
flaky_create(const SwModel* const model, const uint32_t streams,
             const uint32_t max_block, void** const context, SwError* const err)
{
  Flaky* const f = (Flaky*)calloc(1, sizeof(Flaky));
  f->in_floats   = (size_t)streams * max_block * model->input_width;
  f->pending_in  = (float*)calloc(f->in_floats, sizeof(float));
  *context       = f;
  return sw_cpu_backend.create(model, streams, max_block, &f->cpu, err);
}

static void
flaky_destroy(void* const context)
{
  Flaky* const f = (Flaky*)context;
  sw_cpu_backend.destroy(f->cpu);
  free(f->pending_in);
  free(f);
}

static void
flaky_reset(void* const context, const uint32_t stream)
{
  sw_cpu_backend.reset(((Flaky*)context)->cpu, stream);
}

static bool
fails_now(Flaky* const f, const int stage)
{
  return stage == flaky_fail_stage && f->blocks >= flaky_fail_at;
}

static SwStatus
flaky_process(void* const context, const float* const in, float* const out,
              const uint32_t frames, uint64_t* const resets)
{
  Flaky* const f = (Flaky*)context;
  if (fails_now(f, FAIL_IN_PROCESS) || fails_now(f, FAIL_IN_SUBMIT) ||
      fails_now(f, FAIL_IN_COLLECT)) {
    return SW_ERR_BACKEND;
  }
  ++f->blocks;
  return sw_cpu_backend.process(f->cpu, in, out, frames, resets);
}

static SwStatus
flaky_submit(void* const context, const float* const in, const uint32_t frames)
{
  Flaky* const f = (Flaky*)context;
  if (fails_now(f, FAIL_IN_SUBMIT) || fails_now(f, FAIL_IN_PROCESS)) {
    return SW_ERR_BACKEND;
  }
  memcpy(f->pending_in, in, f->in_floats * sizeof(float));
  f->pending_frames = frames;
  return SW_SUCCESS;
}

static SwStatus
flaky_collect(void* const context, float* const out, uint64_t* const resets)
{
  Flaky* const f = (Flaky*)context;
  if (fails_now(f, FAIL_IN_COLLECT)) {
    return SW_ERR_BACKEND;
  }
  ++f->blocks;
  return sw_cpu_backend.process(f->cpu, f->pending_in, out, f->pending_frames,
                                resets);
}

static const char*
flaky_failure(void* const context)
{
  (void)context;
  return "simulated device loss";
}

static void
flaky_get_state(void* const context, const uint32_t stream,
                const uint32_t layer, float* const dst)
{
  sw_cpu_backend.get_state(((Flaky*)context)->cpu, stream, layer, dst);
}

static void
flaky_set_state(void* const context, const uint32_t stream,
                const uint32_t layer, const float* const src)
{
  sw_cpu_backend.set_state(((Flaky*)context)->cpu, stream, layer, src);
}

const SwBackendIface flaky_backend = {
  .name      = "fused",
  .kind      = SW_BACKEND_FUSED,
  .probe     = flaky_probe,
  .create    = flaky_create,
  .destroy   = flaky_destroy,
  .reset     = flaky_reset,
  .process   = flaky_process,
  .submit    = flaky_submit,
  .collect   = flaky_collect,
  .failure   = flaky_failure,
  .get_state = flaky_get_state,
  .set_state = flaky_set_state,
};
