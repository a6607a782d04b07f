/* The fused backend: the whole model, every frame of a block and every
   stream in one kernel launch (fused_kernel.cu). One upload of the input
   and one download of outputs, new state and reset counts per block; a host
   copy of the state answers get_state and takes reset/set_state, uploaded
   before the next block when it changed. */

#include "backend.h"
#include "error.h"
#include "fused_kernel.h"
#include "fused_plan.h"
#include "gpu_device.h"
#include "model_impl.h"

#include <cuda_runtime_api.h>

#include <stdlib.h>
#include <string.h>

/* Threads per block of the cooperative kernel, and the widest single block
   the one-block-per-stream kernel uses. */
#define GRID_THREADS 128U
#define MAX_BLOCK_THREADS 1024U
/* Weights are copied into shared memory per launch when they fit under
   this (the rest of the 227 KB holds the work vectors). */
#define MAX_CACHED_WEIGHT_BYTES (160U * 1024U)

typedef struct {
  const SwModel* model;
  SwFusedPlan    plan;
  SwFusedLaunch  launch;
  uint32_t       streams;
  uint32_t       max_block;
  cudaStream_t   stream;
  bool           stream_made;

  SwFusedPlan* d_plan;
  float*       d_weights;
  float*       d_in;
  float*       d_state;
  unsigned char* d_download; /* [resets][state copy][out], see below */
  float*       d_work;

  size_t  header_bytes; /* the resets, rounded up to 16 bytes */
  float*  h_in;         /* pinned staging of the input */
  unsigned char* h_download; /* pinned */
  float*  mirror;       /* pinned, [streams][state_size]: the state */
  bool    dirty;        /* mirror changed since the last upload */
  uint32_t frames_in_flight;

  SwGpuFault  fault;
  const char* failed_call;
  const char* failed_why;
  char        failure_text[192];
} FusedContext;

static bool
fused_probe(char* const detail, const size_t detail_size)
{
  return sw_gpu_probe(detail, detail_size);
}

static void
fused_destroy(void* const context)
{
  FusedContext* const f = (FusedContext*)context;
  if (!f) {
    return;
  }
  if (f->stream_made) {
    cudaStreamSynchronize(f->stream);
    cudaStreamDestroy(f->stream);
  }
  cudaFree(f->d_plan);
  cudaFree(f->d_weights);
  cudaFree(f->d_in);
  cudaFree(f->d_state);
  cudaFree(f->d_download);
  cudaFree(f->d_work);
  cudaFreeHost(f->h_in);
  cudaFreeHost(f->h_download);
  cudaFreeHost(f->mirror);
  free(f);
}

/* Record a failure; the text is put together in fused_failure. [RT-safe] */
static SwStatus
fail(FusedContext* const f, const char* const call, const cudaError_t code)
{
  f->failed_call = call;
  f->failed_why  = cudaGetErrorString(code);
  f->dirty       = true; /* the device state may be half-advanced */
  return SW_ERR_BACKEND;
}

static void
append(char* const dst, const size_t size, size_t* const used,
       const char* const text)
{
  for (const char* c = text; *c && *used + 1U < size; ++c) {
    dst[(*used)++] = *c;
  }
  dst[*used] = '\0';
}

static const char*
fused_failure(void* const context)
{
  FusedContext* const f = (FusedContext*)context;
  if (!f->failed_call) {
    return NULL;
  }
  size_t used = 0;
  f->failure_text[0] = '\0';
  append(f->failure_text, sizeof(f->failure_text), &used, f->failed_call);
  if (f->failed_why) {
    append(f->failure_text, sizeof(f->failure_text), &used, ": ");
    append(f->failure_text, sizeof(f->failure_text), &used, f->failed_why);
  }
  return f->failure_text;
}

static void
fused_reset(void* const context, const uint32_t stream)
{
  FusedContext* const  f     = (FusedContext*)context;
  const SwModel* const model = f->model;
  float* const state = f->mirror + (size_t)stream * f->plan.state_size;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    float* const         h     = state + f->plan.layers[l].state;
    const size_t         U     = layer->units;
    memset(h, 0, layer->state_size * sizeof(float));
    if (layer->type == SW_LAYER_CONV1D || layer->type == SW_LAYER_DENSE) {
      continue;
    }
    if (layer->initial_h) {
      memcpy(h, layer->initial_h, U * sizeof(float));
    }
    if (layer->type == SW_LAYER_LSTM && layer->initial_c) {
      memcpy(h + U, layer->initial_c, U * sizeof(float));
    }
  }
  f->dirty = true;
}

/* One block per stream when the widest phase fits one thread block and
   the work vectors fit shared memory; else a cooperative grid. */
static SwStatus
choose_launch(FusedContext* const f, SwError* const err)
{
  int       device   = 0;
  int       optin    = 0;
  int       sms      = 0;
  int       coop     = 0;
  cudaError_t st     = cudaGetDevice(&device);
  if (st == cudaSuccess) {
    st = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                device);
  }
  if (st == cudaSuccess) {
    st = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  }
  if (st == cudaSuccess) {
    st = cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, device);
  }
  if (st != cudaSuccess) {
    return sw_error_set(err, SW_ERR_BACKEND, "reading the device: %s",
                        cudaGetErrorString(st));
  }

  const size_t work_bytes   = (size_t)sw_fused_work_floats(&f->plan) * 4U;
  const size_t weight_bytes = (size_t)f->plan.weight_count * 4U;
  const uint32_t rows       = f->plan.max_rows > 32U ? f->plan.max_rows : 32U;
  SwFusedLaunch* const L    = &f->launch;
  L->streams = f->streams;
  if (rows <= MAX_BLOCK_THREADS && work_bytes <= (size_t)optin) {
    L->threads       = (rows + 31U) / 32U * 32U;
    L->slices        = 1U;
    L->cache_weights = weight_bytes <= MAX_CACHED_WEIGHT_BYTES &&
                       work_bytes + weight_bytes <= (size_t)optin;
    L->shared_bytes  = work_bytes + (L->cache_weights ? weight_bytes : 0U);
    return SW_SUCCESS;
  }

  if (!coop) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "the model needs %u threads per stream (cooperative "
                        "blocks) and this device has no cooperative launch",
                        rows);
  }
  L->threads       = GRID_THREADS;
  L->slices        = (rows + GRID_THREADS - 1U) / GRID_THREADS;
  L->cache_weights = 0U;
  L->shared_bytes  = 0U;
  int per_sm       = 0;
  st               = sw_fused_grid_capacity(L->threads, &per_sm);
  if (st != cudaSuccess) {
    return sw_error_set(err, SW_ERR_BACKEND, "sizing the cooperative grid: %s",
                        cudaGetErrorString(st));
  }
  const uint64_t resident = (uint64_t)per_sm * (uint64_t)sms;
  const uint64_t needed   = (uint64_t)L->slices * f->streams;
  if (needed > resident) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%u streams x %u blocks per stream need %llu "
                        "co-resident thread blocks; this GPU holds %llu "
                        "(use fewer streams, or the cudnn backend)",
                        f->streams, L->slices, (unsigned long long)needed,
                        (unsigned long long)resident);
  }
  return SW_SUCCESS;
}

#define CHECK(call)                                                         \
  do {                                                                      \
    const cudaError_t check_ = (call);                                      \
    if (check_ != cudaSuccess) {                                            \
      fused_destroy(f);                                                     \
      return sw_error_set(err, SW_ERR_BACKEND, "%s: %s", #call,            \
                          cudaGetErrorString(check_));                      \
    }                                                                       \
  } while (0)

static SwStatus
fused_create(const SwModel* const model, const uint32_t streams,
             const uint32_t max_block, void** const context,
             SwError* const err)
{
  SwFusedPlan plan;
  SwStatus    st = sw_fused_plan_build(model, &plan, NULL, err);
  if (st) {
    return st;
  }
  FusedContext* const f = (FusedContext*)calloc(1, sizeof(FusedContext));
  float* const weights  = (float*)malloc((size_t)plan.weight_count * 4U + 4U);
  if (!f || !weights) {
    free(f);
    free(weights);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  st = sw_fused_plan_build(model, &f->plan, weights, err);
  if (st) {
    free(f);
    free(weights);
    return st;
  }
  f->model     = model;
  f->streams   = streams;
  f->max_block = max_block;
  sw_gpu_fault_init(&f->fault);

  const cudaError_t dev = cudaSetDevice(0);
  if (dev != cudaSuccess) {
    free(weights);
    fused_destroy(f);
    return sw_error_set(err, SW_ERR_BACKEND, "cudaSetDevice(0): %s",
                        cudaGetErrorString(dev));
  }
  st = choose_launch(f, err);
  if (st) {
    free(weights);
    fused_destroy(f);
    return st;
  }

  const SwFusedPlan* const p      = &f->plan;
  const size_t       state_floats = (size_t)streams * p->state_size;
  const size_t       in_floats    = (size_t)streams * max_block * p->input_width;
  const size_t       out_floats = (size_t)streams * max_block * p->output_width;
  f->header_bytes                 = ((size_t)streams * 4U + 15U) / 16U * 16U;
  const size_t download_bytes =
    f->header_bytes + (state_floats + out_floats) * 4U;

  cudaError_t wst = cudaMalloc((void**)&f->d_weights,
                               (size_t)p->weight_count * 4U + 4U);
  if (wst == cudaSuccess) {
    wst = cudaMemcpy(f->d_weights, weights, (size_t)p->weight_count * 4U,
                     cudaMemcpyHostToDevice);
  }
  free(weights);
  CHECK(wst);
  CHECK(cudaMalloc((void**)&f->d_plan, sizeof(SwFusedPlan)));
  CHECK(cudaMemcpy(f->d_plan, p, sizeof(SwFusedPlan), cudaMemcpyHostToDevice));
  CHECK(cudaMalloc((void**)&f->d_in, in_floats * 4U + 4U));
  CHECK(cudaMalloc((void**)&f->d_state, state_floats * 4U + 4U));
  CHECK(cudaMalloc((void**)&f->d_download, download_bytes));
  if (f->launch.slices > 1U) {
    CHECK(cudaMalloc((void**)&f->d_work,
                     (size_t)streams * sw_fused_work_floats(p) * 4U));
  }
  CHECK(cudaMallocHost((void**)&f->h_in, in_floats * 4U + 4U));
  CHECK(cudaMallocHost((void**)&f->h_download, download_bytes));
  CHECK(cudaMallocHost((void**)&f->mirror, state_floats * 4U + 4U));
  CHECK(cudaStreamCreateWithFlags(&f->stream, cudaStreamNonBlocking));
  f->stream_made = true;
  CHECK(sw_fused_configure(&f->launch));

  for (uint32_t s = 0; s < streams; ++s) {
    fused_reset(f, s);
  }
  sw_log(SW_LOG_DEBUG,
         "fused backend: %s, %u thread%s x %u block%s per stream, %zu bytes "
         "of shared memory%s",
         f->launch.slices > 1U ? "cooperative grid" : "one block per stream",
         f->launch.threads, f->launch.threads == 1U ? "" : "s",
         f->launch.slices, f->launch.slices == 1U ? "" : "s",
         f->launch.shared_bytes,
         f->launch.cache_weights ? ", weights cached there" : "");
  *context = f;
  return SW_SUCCESS;
}

#undef CHECK

static SwStatus
fused_submit(void* const context, const float* const in, const uint32_t frames)
{
  FusedContext* const      f = (FusedContext*)context;
  const SwFusedPlan* const p = &f->plan;
  if (sw_gpu_fault_now(&f->fault)) {
    f->failed_call = SW_GPU_FAULT_MESSAGE;
    f->failed_why  = NULL;
    return SW_ERR_BACKEND;
  }
  const size_t state_bytes = (size_t)f->streams * p->state_size * 4U;
  const size_t in_bytes    = (size_t)f->streams * frames * p->input_width * 4U;
  const size_t out_bytes   = (size_t)f->streams * frames * p->output_width * 4U;
  cudaError_t  st          = cudaSuccess;
  if (f->dirty) {
    st = cudaMemcpyAsync(f->d_state, f->mirror, state_bytes,
                         cudaMemcpyHostToDevice, f->stream);
    if (st != cudaSuccess) {
      return fail(f, "uploading the state", st);
    }
    f->dirty = false;
  }
  memcpy(f->h_in, in, in_bytes);
  st = cudaMemcpyAsync(f->d_in, f->h_in, in_bytes, cudaMemcpyHostToDevice,
                       f->stream);
  if (st != cudaSuccess) {
    return fail(f, "uploading the input", st);
  }
  float* const state_copy = (float*)(f->d_download + f->header_bytes);
  const SwFusedBuffers buffers = {
    .plan       = f->d_plan,
    .weights    = f->d_weights,
    .in         = f->d_in,
    .out        = state_copy + (size_t)f->streams * p->state_size,
    .state      = f->d_state,
    .state_copy = state_copy,
    .resets     = (unsigned*)f->d_download,
    .work       = f->d_work,
  };
  st = sw_fused_launch(&f->launch, &buffers, frames, f->stream);
  if (st != cudaSuccess) {
    return fail(f, "launching the fused kernel", st);
  }
  st = cudaMemcpyAsync(f->h_download, f->d_download,
                       f->header_bytes + state_bytes + out_bytes,
                       cudaMemcpyDeviceToHost, f->stream);
  if (st != cudaSuccess) {
    return fail(f, "downloading the outputs", st);
  }
  f->frames_in_flight = frames;
  return SW_SUCCESS;
}

static SwStatus
fused_collect(void* const context, float* const out,
              uint64_t* const nonfinite_resets)
{
  FusedContext* const      f  = (FusedContext*)context;
  const SwFusedPlan* const p  = &f->plan;
  const cudaError_t        st = cudaStreamSynchronize(f->stream);
  if (st != cudaSuccess) {
    return fail(f, "running the fused kernel", st);
  }
  const unsigned* const resets = (const unsigned*)f->h_download;
  for (uint32_t s = 0; s < f->streams; ++s) {
    *nonfinite_resets += resets[s];
  }
  const size_t       state_floats = (size_t)f->streams * p->state_size;
  const float* const state_copy =
    (const float*)(f->h_download + f->header_bytes);
  memcpy(f->mirror, state_copy, state_floats * 4U);
  memcpy(out, state_copy + state_floats,
         (size_t)f->streams * f->frames_in_flight * p->output_width * 4U);
  return SW_SUCCESS;
}

static SwStatus
fused_process(void* const context, const float* const in, float* const out,
              const uint32_t frames, uint64_t* const nonfinite_resets)
{
  const SwStatus st = fused_submit(context, in, frames);
  return st ? st : fused_collect(context, out, nonfinite_resets);
}

static void
fused_get_state(void* const context, const uint32_t stream,
                const uint32_t layer, float* const dst)
{
  const FusedContext* const f = (const FusedContext*)context;
  memcpy(dst,
         f->mirror + (size_t)stream * f->plan.state_size +
           f->plan.layers[layer].state,
         f->model->layers[layer].state_size * sizeof(float));
}

static void
fused_set_state(void* const context, const uint32_t stream,
                const uint32_t layer, const float* const src)
{
  FusedContext* const f = (FusedContext*)context;
  memcpy(f->mirror + (size_t)stream * f->plan.state_size +
           f->plan.layers[layer].state,
         src, f->model->layers[layer].state_size * sizeof(float));
  f->dirty = true;
}

const SwBackendIface sw_fused_backend = {
  .name      = "fused",
  .kind      = SW_BACKEND_FUSED,
  .probe     = fused_probe,
  .create    = fused_create,
  .destroy   = fused_destroy,
  .reset     = fused_reset,
  .process   = fused_process,
  .submit    = fused_submit,
  .collect   = fused_collect,
  .failure   = fused_failure,
  .get_state = fused_get_state,
  .set_state = fused_set_state,
};
