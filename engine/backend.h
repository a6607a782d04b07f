/* The private backend interface every backend implements. The engine owns
   gains, knobs, skip and output guarding; a backend runs the network. */

#ifndef SW_BACKEND_H
#define SW_BACKEND_H

#include "statewave/statewave.h"

typedef struct {
  const char* name;

  /* Make the backend's context for `model`: every buffer for `streams`
     state slots and blocks of up to `max_block` frames. Every stream starts
     at the model's initial state. [non-RT] */
  SwStatus (*create)(const SwModel* model, uint32_t streams,
                     uint32_t max_block, void** context, SwError* err);

  /* [non-RT] */
  void (*destroy)(void* context);

  /* Return `stream` to the model's initial state. [RT-safe] */
  void (*reset)(void* context, uint32_t stream);

  /* Run frames <= max_block steps of every stream:
       in  [streams][frames][input_width]
       out [streams][frames][output_width]
     A stream whose input frame is non-finite or whose state becomes
     non-finite is reset, that frame's outputs are zero, and
     *nonfinite_resets is incremented. [RT-safe] */
  SwStatus (*process)(void* context, const float* in, float* out,
                      uint32_t frames, uint64_t* nonfinite_resets);

  /* Copy one layer's state of one stream ([h] or [h, c]). [non-RT] */
  void (*get_state)(void* context, uint32_t stream, uint32_t layer,
                    float* dst);
  void (*set_state)(void* context, uint32_t stream, uint32_t layer,
                    const float* src);
} SwBackendIface;

/* The backend for `kind`, or NULL when it is not built. Writes why into
   `err` when NULL. [non-RT] */
const SwBackendIface*
sw_backend_find(SwBackendKind kind, SwError* err);

extern const SwBackendIface sw_cpu_backend;

#endif
