/* cuDNN opened at run time (private): libstatewave never links libcudnn,
   so it starts on machines without it and the cudnn backend reports why
   it cannot run there. */

#ifndef SW_CUDNN_API_H
#define SW_CUDNN_API_H

#include <cudnn.h>

#include <stddef.h>

/* Every cuDNN function the backend calls; each table member has the type
   of the function it is named after, checked against <cudnn.h>. */
#define SW_CUDNN_FUNCTIONS(X)      \
  X(cudnnGetVersion)               \
  X(cudnnGetErrorString)           \
  X(cudnnCreate)                   \
  X(cudnnDestroy)                  \
  X(cudnnSetStream)                \
  X(cudnnCreateTensorDescriptor)   \
  X(cudnnDestroyTensorDescriptor)  \
  X(cudnnSetTensorNdDescriptor)    \
  X(cudnnGetTensorNdDescriptor)    \
  X(cudnnCreateDropoutDescriptor)  \
  X(cudnnDestroyDropoutDescriptor) \
  X(cudnnSetDropoutDescriptor)     \
  X(cudnnCreateRNNDescriptor)      \
  X(cudnnDestroyRNNDescriptor)     \
  X(cudnnSetRNNDescriptor_v8)      \
  X(cudnnGetRNNWeightSpaceSize)    \
  X(cudnnGetRNNWeightParams)       \
  X(cudnnGetRNNTempSpaceSizes)     \
  X(cudnnCreateRNNDataDescriptor)  \
  X(cudnnDestroyRNNDataDescriptor) \
  X(cudnnSetRNNDataDescriptor)     \
  X(cudnnRNNForward)

#define SW_CUDNN_MEMBER(name) __typeof__(name)* name;

typedef struct {
  SW_CUDNN_FUNCTIONS(SW_CUDNN_MEMBER)
  size_t version;          /* cudnnGetVersion(): 91900 for 9.19.0 */
  char   version_text[32]; /* "9.19.0" */
} SwCudnnApi;

#undef SW_CUDNN_MEMBER

/* The loaded library, opened once per process (thread-safe; later calls
   return the first result). NULL when it cannot be used, with the reason
   in *why (a string that lives as long as the process). [non-RT] */
const SwCudnnApi*
sw_cudnn_api(const char** why);

#endif
