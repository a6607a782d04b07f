/* The models the cuda suite runs on every backend (each layer type, both
   GRU forms, stacks, Conv1D front-ends, learned initial state), and the
   engine helpers its tests share. */

#ifndef SW_TEST_CUDA_MODELS_H
#define SW_TEST_CUDA_MODELS_H

#include "statewave/statewave.h"

typedef struct {
  const char* name;
  SwModel*    model;
  /* Whether cuDNN can run it: recurrent layers first, default
     activations, GRU reset-after only, no Conv1D. */
  bool        cudnn_can_run;
} CudaTestModel;

/* Build the catalogue (aborts the test on failure); returns the count. */
size_t
cuda_models_build(CudaTestModel** models);

void
cuda_models_free(CudaTestModel* models, size_t count);

/* A recurrent stack of `layers` x `type` with `units` each and a Dense
   head to one output, Keras initializers from `seed`. */
SwModel*
cuda_model_stack(SwLayerType type, uint32_t units, uint32_t layers,
                 uint32_t input_width, uint64_t seed);

/* An engine on `kind`; aborts the test with the library's message. */
SwEngine*
cuda_engine(const SwModel* model, SwBackendKind kind, uint32_t streams,
            uint32_t max_block, SwStreamingMode streaming);

/* Run `frames` frames of every stream through `engine` in calls whose
   lengths cycle through calls[0..num_calls); in and out are
   [streams][frames][width]. */
void
cuda_run_calls(SwEngine* engine, const float* in, float* out,
               uint32_t streams, uint32_t frames, uint32_t input_width,
               uint32_t output_width, const uint32_t* calls,
               size_t num_calls);

/* An audio-like signal for stream s, frame t of `frames`, in [-0.9, 0.9];
   knob columns move slowly. in is [streams][frames][input_width]. */
void
cuda_fill_input(float* in, uint32_t streams, uint32_t frames,
                uint32_t input_width, uint64_t seed);

#endif
