/* The private backend interface every backend implements. The engine owns
   gains, knobs, skip, block splitting, pipelining and the fallback to the
   CPU; a backend runs the network. */

#ifndef SW_BACKEND_H
#define SW_BACKEND_H

#include "statewave/statewave.h"

#include <stddef.h>

typedef struct {
  const char*   name;
  SwBackendKind kind;

  /* Whether this backend can run on this machine at all: writes the device
     and library versions, or why not, into `detail`. Probes the driver once
     per call. [non-RT] */
  bool (*probe)(char* detail, size_t detail_size);

  /* Make the backend's context for `model`: every buffer for `streams`
     state slots and blocks of up to `max_block` frames. Every stream starts
     at the model's initial state. A model the backend cannot run is
     SW_ERR_UNSUPPORTED with the reason in `err`; a device that fails is
     SW_ERR_BACKEND. [non-RT] */
  SwStatus (*create)(const SwModel* model, uint32_t streams,
                     uint32_t max_block, void** context, SwError* err);

  /* [non-RT] */
  void (*destroy)(void* context);

  /* Return `stream` to the model's initial state. Never called while a
     block is submitted and not yet collected. [RT-safe] */
  void (*reset)(void* context, uint32_t stream);

  /* Run frames <= max_block steps of every stream:
       in  [streams][frames][input_width]
       out [streams][frames][output_width]
     A stream whose input frame is non-finite or whose state becomes
     non-finite is reset, that frame's outputs are zero, and
     *nonfinite_resets is incremented. On failure (SW_ERR_BACKEND) the
     state is that before the call, so another backend can redo the block.
     [RT-safe] */
  SwStatus (*process)(void* context, const float* in, float* out,
                      uint32_t frames, uint64_t* nonfinite_resets);

  /* Optional (GPU backends): process() in two halves, so the host can go
     on while the device computes. submit() takes `in` (copied before it
     returns) and starts the block; collect() waits for it and writes what
     process() would have. At most one block is in flight. A failed
     collect() leaves the state as before the submit. [RT-safe] */
  SwStatus (*submit)(void* context, const float* in, uint32_t frames);
  SwStatus (*collect)(void* context, float* out,
                      uint64_t* nonfinite_resets);

  /* Why the last failed call failed (a string owned by the context or
     static), or NULL. [RT-safe] */
  const char* (*failure)(void* context);

  /* Copy one layer's state of one stream ([h] or [h, c]) as of the last
     collected block, from host memory: the engine carries the state to the
     CPU with it when a device fails mid-stream. Never called while a block
     is in flight. [RT-safe] */
  void (*get_state)(void* context, uint32_t stream, uint32_t layer,
                    float* dst);
  /* Takes effect from the next block. [RT-safe] */
  void (*set_state)(void* context, uint32_t stream, uint32_t layer,
                    const float* src);
} SwBackendIface;

/* The backend for `kind` (not auto), or NULL when it is not built. [RT-safe] */
const SwBackendIface*
sw_backend_get(SwBackendKind kind);

/* Tests only: make sw_backend_get(kind) return `backend` (NULL: the built
   one again), so a test can stand a backend that fails on purpose in for a
   GPU. Not thread-safe; never called by the library. [non-RT] */
void
sw_backend_override(SwBackendKind kind, const SwBackendIface* backend);

/* What an engine runs on: the backend and its context, and when that is
   not the CPU, a CPU context made beside it to take over if the device
   fails. */
typedef struct {
  const SwBackendIface* backend;
  void*                 context;
  void*                 cpu_context; /* NULL when backend is the CPU */
  char                  note[512];   /* why; "" when nothing to say */
} SwBackendChoice;

/* Make the backend `kind` asks for, measuring the candidates for auto,
   falling back to the CPU (with a logged reason in `note`) where a GPU
   backend is missing, unusable or cannot run the model. Fails only when
   the CPU backend itself cannot be made. [non-RT] */
SwStatus
sw_backend_choose(const SwModel* model, SwBackendKind kind, uint32_t streams,
                  uint32_t max_block, SwBackendChoice* choice, SwError* err);

/* Destroy what sw_backend_choose made. [non-RT] */
void
sw_backend_choice_release(SwBackendChoice* choice);

extern const SwBackendIface sw_cpu_backend;     /* SIMD kernels */
extern const SwBackendIface sw_cpu_ref_backend; /* the scalar reference */

/* The kernel set a "cpu" backend context runs: "avx512", "avx2", "sse2",
   "neon", "generic", or "cpu-ref" for models it passes to the reference. */
const char*
sw_cpu_kernels_name(const void* context);

/* Streams a "cpu" backend context hands its kernels at once: 1 for models
   whose weights stay in L1, up to 4 otherwise (STATEWAVE_CPU_GROUP forces
   it). */
uint32_t
sw_cpu_streams_per_call(const void* context);

/* The layers of a "cpu" backend context whose recurrent sums run in two
   chains (one-stream engines, LSTM layers whose weights stream from L2). */
uint32_t
sw_cpu_two_chain_layers(const void* context);

/* Whether a "cpu" backend context runs a chunk of frames through each
   layer in turn (one-stream engines of several layers with two-chain
   layers, fast_plan.h) rather than each frame through every layer. */
bool
sw_cpu_layer_major(const void* context);

/* The compact mode of a "cpu" backend context: its LSTM and reset-after GRU
   weights in 16 bits, `format` SW_WEIGHTS_FP16 (IEEE halves) or
   SW_WEIGHTS_BF16 (half the memory traffic; sums, state and activations
   stay FP32). False, with the reason in `why`, where the kernel set cannot
   convert halves (SSE2; every set takes bfloat16) or no layer takes them;
   the context then runs on as it was. [non-RT] */
bool
sw_cpu_compact_weights(void* context, SwWeightFormat format, char* why,
                       size_t why_size);
#ifdef SW_HAVE_CUDA
extern const SwBackendIface sw_cudnn_backend;
extern const SwBackendIface sw_fused_backend;
#endif

#endif
