/* Windowed models on the CPU (see SwModelSpec.window in statewave.h): each
   output frame is one stateless pass of the whole stack over the stream's
   last W input frames, layer by layer, into preallocated sequences. */

#ifndef SW_CPU_WINDOWED_H
#define SW_CPU_WINDOWED_H

#include "model_impl.h"

/* Scratch for evaluating one window at a time (shared by all streams of a
   context: streams are processed one after another). */
typedef struct SwWindowScratch SwWindowScratch;

/* Everything a window pass of `model` (window > 0) needs. [non-RT] */
SwStatus
sw_cpu_window_scratch_new(const SwModel* model, SwWindowScratch** scratch,
                          SwError* err);

/* NULL is a no-op. [non-RT] */
void
sw_cpu_window_scratch_free(SwWindowScratch* scratch);

/* Slide input frame `x` into `history` ([W][input_width], oldest frame
   first) and return the model output for the window that ends with it
   ([output_width], valid until the next call). [RT-safe] */
const float*
sw_cpu_window_step(SwWindowScratch* scratch, float* history, const float* x);

#endif
