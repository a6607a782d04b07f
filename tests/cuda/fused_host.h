/* The fused kernel run on the host: the same phase code as
   engine/cuda/fused_kernel.cu, one emulated thread after another, one
   phase at a time. Lets machines without a GPU check the kernel's
   arithmetic and control flow against the CPU backend. */

#ifndef SW_TEST_FUSED_HOST_H
#define SW_TEST_FUSED_HOST_H

#include "cuda/fused_plan.h"

/* One stream of the kernel on the host, as a launch would hold it. */
typedef struct {
  SwFusedPlan plan;
  float*      weights;    /* plan.weight_count floats */
  float*      state;      /* [streams][state_size], kept between blocks */
  float*      state_copy; /* [streams][state_size] */
  unsigned*   resets;     /* [streams] */
  float*      work;       /* one stream's work vectors */
  uint32_t    streams;
} FusedHost;

/* Plan and pack `model`; every stream at the model's initial state. Exits
   the test on failure. */
void
fused_host_init(FusedHost* host, const SwModel* model, uint32_t streams);

void
fused_host_free(FusedHost* host);

/* One block as the kernel runs it, with `nthreads` emulated threads per
   stream: in [streams][frames][I] -> out [streams][frames][O]. Returns the
   non-finite resets of the block. */
uint64_t
fused_host_run(FusedHost* host, const float* in, float* out, uint32_t frames,
               uint32_t nthreads);

/* Return stream `s` to the initial state, as the backend's reset does
   (through the kernel's own reset phase). */
void
fused_host_reset(FusedHost* host, uint32_t stream);

#endif
