/* The models the cuda suite runs on every backend: each layer type, both
   GRU forms, stacks, Conv1D front-ends, learned initial state. */

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

/* An audio-like signal for stream s, frame t of `frames`, in [-0.9, 0.9];
   knob columns move slowly. in is [streams][frames][input_width]. */
void
cuda_fill_input(float* in, uint32_t streams, uint32_t frames,
                uint32_t input_width, uint64_t seed);

#endif
