/* The cudnn backend: each block is one cudnnRNNForward per group of
   consecutive recurrent layers of one cell mode and width (batch = streams,
   sequence = the block's frames, batch-major so the engine's input needs no
   transpose), then the Dense head as device kernels, with one upload and
   one download per block.

   State: two device state sets in ping-pong (cuDNN must never read hx
   where it writes hy) and a pinned host mirror that is the truth for reset,
   get_state and set_state. The mirror moves to the device only when it
   changed; the new state comes back with the block's output in the same
   download and replaces the mirror once the block is known to be good, so
   a failed block leaves the state as it was.

   Non-finite values: cuDNN cannot reset one stream in the middle of a
   sequence, so a block with a non-finite input, new state, or output of a
   relu layer or of the last recurrent layer at any frame is run (again) on
   a private CPU context from the mirror, which gives exactly the CPU
   backend's outputs, resets and counts. (Other cells keep a NaN once they
   have one, so their final state tells.) */

#include "backend.h"
#include "cudnn_api.h"
#include "cudnn_head.h"
#include "error.h"
#include "finite.h"
#include "gpu_device.h"
#include "model_impl.h"

#include <cuda_runtime_api.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cudnnSetRNNDataDescriptor refuses longer sequences. */
#define MAX_FRAMES 65535U
/* Sub-buffers start at 256 bytes, the alignment of cudaMalloc itself. */
#define ALIGN_FLOATS 64U
#define ALIGN_BYTES 256U
/* A download region: the non-finite flag, the state set, the output. */
#define REGION_STATE_OFFSET ALIGN_BYTES
/* The algorithm trials: frames per forward, untimed and timed forwards. */
#define TRIAL_FRAMES 256U
#define TRIAL_WARMUP 2
#define TRIAL_RUNS 20
/* How far another algorithm's final state and outputs (of the first few
   streams) may stray from those of the first one that ran, relative, so
   that only a broken algorithm is refused. */
#define TRIAL_TOLERANCE 1e-3f
#define TRIAL_STREAMS_COMPARED 4U

typedef struct {
  cudnnRNNAlgo_t       algo;
  cudnnRNNDescriptor_t rnn;
  void*                weights; /* device weight space of this descriptor */
  size_t               weight_bytes;
} RnnPlan;

/* Consecutive recurrent layers of one cell mode and width (a relu layer
   stands alone): one cuDNN RNN with num_layers layers. */
typedef struct {
  cudnnRNNMode_t           mode;
  uint32_t                 first_layer; /* model index of its first layer */
  uint32_t                 num_layers;
  uint32_t                 input_size;
  uint32_t                 units;
  size_t                   h_offset; /* floats into a state set: [L][B][U] */
  size_t                   c_offset; /* LSTM cell state, same shape */
  RnnPlan                  plan;
  cudnnRNNDataDescriptor_t x_desc;
  cudnnRNNDataDescriptor_t y_desc;
  cudnnTensorDescriptor_t  state_desc; /* {L, B, U}: h and c alike */
} Group;

/* A Dense layer of the head, weights in head_dev. */
typedef struct {
  uint32_t     in_width;
  uint32_t     out_width;
  SwActivation act;
  size_t       weights_offset; /* floats: [in_width][out_width] */
  size_t       bias_offset;    /* floats: [out_width] */
} HeadLayer;

typedef enum {
  BLOCK_NONE,
  BLOCK_ON_GPU,
  BLOCK_ON_CPU,
} BlockPlace;

typedef enum {
  TRIAL_OK,
  TRIAL_SKIP,  /* this algorithm cannot run this group */
  TRIAL_FATAL, /* the device or the weight layout failed: give up */
} TrialOutcome;

/* What the algorithm trials of one group share. Each algorithm's results
   (final h and c, then the outputs of the first streams) are held against
   those of the first algorithm that ran. */
typedef struct {
  const float* x;
  float*       y;
  size_t       state_floats;  /* h, or h and c, of every layer and stream */
  size_t       output_floats; /* y of the first few streams */
  float*       reference;
  float*       results;
  const char*  reference_algo; /* NULL until one ran */
} Trial;

typedef struct {
  const SwModel*    model;
  const SwCudnnApi* api;
  uint32_t          streams;
  uint32_t          max_block;
  uint32_t          widest; /* most units of any layer */
  uint32_t          num_groups;
  Group*            groups;
  uint32_t          num_head;
  HeadLayer*        head;
  int32_t*          layer_group; /* per model layer: its group, -1: Dense */
  size_t            head_floats;

  cudaStream_t             stream;
  cudnnHandle_t            handle;
  cudnnDropoutDescriptor_t dropout;
  cudaEvent_t              trial_start;
  cudaEvent_t              trial_stop;

  /* Device memory. */
  float*         in_dev;        /* [B][max_block][input_width] */
  float*         act_dev[2];    /* [B][max_block][widest], ping-pong */
  unsigned char* region_dev[2]; /* per parity: flag | state set | output */
  float*         head_dev;
  int32_t*       seq_lengths_dev; /* [B], all = frames */
  void*          workspace_dev;
  size_t         workspace_bytes;

  /* A region holds a uint32 flag at 0, the state set (state_floats, group
     by group, padding included) at REGION_STATE_OFFSET and the output
     [B][frames][output_width] at out_offset. */
  size_t state_floats;
  size_t out_offset;
  size_t region_bytes;

  /* Pinned host memory. */
  float*         in_host;  /* the block's input, [B][frames][input_width] */
  unsigned char* download; /* a region as last downloaded */
  float*         mirror;   /* the state set as of the last collected block */

  int*   seq_lengths_host; /* [B] */
  float* layer_state;      /* one layer of one stream: [h] or [h, c] */
  void*  cpu;              /* sw_cpu_backend context */

  uint32_t    parity; /* the region whose state set is the current state */
  bool        dirty;  /* the mirror changed since it was last uploaded */
  uint32_t    frames; /* what the data descriptors are set for; 0: none */
  uint32_t    tag;    /* of the block in flight, for the non-finite flag */
  BlockPlace  pending;
  uint32_t    pending_frames;
  SwGpuFault  fault;
  const char* failure;
  char        failure_text[512];
} CudnnContext;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static size_t
align_floats(const size_t count)
{
  return (count + ALIGN_FLOATS - 1U) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static size_t
append(char* const dst, size_t used, const size_t size, const char* src)
{
  while (*src && used + 1U < size) {
    dst[used++] = *src++;
  }
  dst[used] = '\0';
  return used;
}

/* "call: why" into failure_text with plain copies: this runs on the audio
   thread. */
static void
set_failure(CudnnContext* const c, const char* const call,
            const char* const why)
{
  const size_t size = sizeof(c->failure_text);
  size_t       used = append(c->failure_text, 0, size, call);
  used              = append(c->failure_text, used, size, ": ");
  append(c->failure_text, used, size, why);
  c->failure = c->failure_text;
}

static bool
cuda_ok(CudnnContext* const c, const cudaError_t status, const char* const call)
{
  if (status == cudaSuccess) {
    return true;
  }
  set_failure(c, call, cudaGetErrorString(status));
  return false;
}

static bool
cudnn_ok(CudnnContext* const c, const cudnnStatus_t status,
         const char* const call)
{
  if (status == CUDNN_STATUS_SUCCESS) {
    return true;
  }
  set_failure(c, call, c->api->cudnnGetErrorString(status));
  return false;
}

static bool
device_alloc(CudnnContext* const c, void** const ptr, const size_t bytes,
             const char* const what)
{
  const cudaError_t st = cudaMalloc(ptr, bytes ? bytes : 1U);
  if (st != cudaSuccess) {
    *ptr = NULL;
    snprintf(c->failure_text, sizeof(c->failure_text),
             "cudaMalloc of %zu bytes for %s: %s", bytes, what,
             cudaGetErrorString(st));
    c->failure = c->failure_text;
    return false;
  }
  return true;
}

static bool
pinned_alloc(CudnnContext* const c, void** const ptr, const size_t bytes,
             const char* const what)
{
  const cudaError_t st = cudaMallocHost(ptr, bytes ? bytes : 1U);
  if (st != cudaSuccess) {
    *ptr = NULL;
    snprintf(c->failure_text, sizeof(c->failure_text),
             "cudaMallocHost of %zu bytes for %s: %s", bytes, what,
             cudaGetErrorString(st));
    c->failure = c->failure_text;
    return false;
  }
  return true;
}

static float*
state_set(const CudnnContext* const c, const uint32_t parity)
{
  return (float*)(c->region_dev[parity] + REGION_STATE_OFFSET);
}

static float*
output_dev(const CudnnContext* const c, const uint32_t parity)
{
  return (float*)(c->region_dev[parity] + c->out_offset);
}

/* Where layer k of group g keeps stream s's h in a state set (c at
   c_offset instead of h_offset). */
static size_t
state_index(const CudnnContext* const c, const Group* const g, const uint32_t k,
            const uint32_t s)
{
  return ((size_t)k * c->streams + s) * g->units;
}

static const char*
algo_name(const cudnnRNNAlgo_t algo)
{
  switch (algo) {
  case CUDNN_RNN_ALGO_STANDARD:
    return "standard";
  case CUDNN_RNN_ALGO_PERSIST_STATIC:
    return "persist_static";
  case CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H:
    return "persist_static_small_h";
  default:
    return "other";
  }
}

static const char*
mode_name(const cudnnRNNMode_t mode)
{
  switch (mode) {
  case CUDNN_LSTM:
    return "LSTM";
  case CUDNN_GRU:
    return "GRU";
  case CUDNN_RNN_RELU:
    return "SimpleRNN relu";
  case CUDNN_RNN_TANH:
    return "SimpleRNN tanh";
  }
  return "RNN";
}

static uint32_t
mode_gates(const cudnnRNNMode_t mode)
{
  return mode == CUDNN_LSTM ? 4U : (mode == CUDNN_GRU ? 3U : 1U);
}

static bool
is_recurrent(const SwLayer* const layer)
{
  return layer->type == SW_LAYER_LSTM || layer->type == SW_LAYER_GRU ||
         layer->type == SW_LAYER_SIMPLE_RNN;
}

static cudnnRNNMode_t
layer_mode(const SwLayer* const layer)
{
  switch (layer->type) {
  case SW_LAYER_LSTM:
    return CUDNN_LSTM;
  case SW_LAYER_GRU:
    return CUDNN_GRU;
  default:
    return layer->activation == SW_ACT_RELU ? CUDNN_RNN_RELU : CUDNN_RNN_TANH;
  }
}

/* ------------------------------------------------------------------------ */
/* What cuDNN can run                                                       */
/* ------------------------------------------------------------------------ */

static SwStatus
check_model(const SwModel* const model, const uint32_t max_block,
            SwError* const err)
{
  if (model->window) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "windowed models (window of %u frames) run on the "
                        "CPU only",
                        model->window);
  }
  bool     dense_seen = false;
  uint32_t recurrent  = 0;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    const char* const    name  = sw_layer_type_name(layer->type);
    if (layer->type == SW_LAYER_CONV1D) {
      return sw_error_set(err, SW_ERR_UNSUPPORTED,
                          "layer %u (Conv1D): cuDNN's RNN API has no Conv1D",
                          l);
    }
    if (layer->type == SW_LAYER_DENSE) {
      dense_seen = true;
      continue;
    }
    if (dense_seen) {
      return sw_error_set(err, SW_ERR_UNSUPPORTED,
                          "layer %u (%s) follows a Dense layer; the cudnn "
                          "backend runs recurrent layers first, then Dense "
                          "ones",
                          l, name);
    }
    if (layer->type == SW_LAYER_GRU && layer->gru_reset != SW_GRU_RESET_AFTER) {
      return sw_error_set(err, SW_ERR_UNSUPPORTED,
                          "layer %u (GRU): reset_after=False; cuDNN computes "
                          "only reset_after",
                          l);
    }
    if (layer->type == SW_LAYER_SIMPLE_RNN) {
      if (layer->activation != SW_ACT_TANH &&
          layer->activation != SW_ACT_RELU) {
        return sw_error_set(err, SW_ERR_UNSUPPORTED,
                            "layer %u (SimpleRNN): activation %s; cuDNN "
                            "computes only tanh or relu",
                            l, sw_activation_name(layer->activation));
      }
    } else if (layer->activation != SW_ACT_TANH ||
               layer->recurrent_activation != SW_ACT_SIGMOID) {
      return sw_error_set(err, SW_ERR_UNSUPPORTED,
                          "layer %u (%s): activation %s, recurrent "
                          "activation %s; cuDNN computes only tanh with "
                          "sigmoid gates",
                          l, name, sw_activation_name(layer->activation),
                          sw_activation_name(layer->recurrent_activation));
    }
    ++recurrent;
  }
  if (!recurrent) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "the model has no recurrent layer for cuDNN to run");
  }
  if (max_block > MAX_FRAMES) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "blocks of %u frames; cuDNN runs sequences of at "
                        "most %u",
                        max_block, MAX_FRAMES);
  }
  return SW_SUCCESS;
}

/* Groups, head layers and the layout of a state set and a region. */
static bool
plan_layers(CudnnContext* const c)
{
  const SwModel* const model = c->model;
  const size_t         B     = c->streams;

  c->groups      = (Group*)calloc(model->num_layers, sizeof(Group));
  c->head        = (HeadLayer*)calloc(model->num_layers, sizeof(HeadLayer));
  c->layer_group = (int32_t*)calloc(model->num_layers, sizeof(int32_t));
  if (!c->groups || !c->head || !c->layer_group) {
    return false;
  }

  c->widest = 1U;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    c->widest = layer->units > c->widest ? layer->units : c->widest;
    if (!is_recurrent(layer)) {
      HeadLayer* const h = &c->head[c->num_head++];
      h->in_width        = layer->input_width;
      h->out_width       = layer->units;
      h->act             = layer->activation;
      c->layer_group[l]  = -1;
      continue;
    }
    /* A relu layer is a group of its own: relu can turn an overflowed
       state finite again, so its outputs are checked frame by frame, and
       cuDNN gives the outputs of a group's last layer only. */
    const cudnnRNNMode_t mode = layer_mode(layer);
    Group* const last = c->num_groups ? &c->groups[c->num_groups - 1U] : NULL;
    if (last && last->mode == mode && last->units == layer->units &&
        mode != CUDNN_RNN_RELU) {
      ++last->num_layers;
    } else {
      Group* const g = &c->groups[c->num_groups++];
      g->mode        = mode;
      g->first_layer = l;
      g->num_layers  = 1U;
      g->input_size  = layer->input_width;
      g->units       = layer->units;
    }
    c->layer_group[l] = (int32_t)(c->num_groups - 1U);
  }

  size_t offset = 0;
  for (uint32_t i = 0; i < c->num_groups; ++i) {
    Group* const g      = &c->groups[i];
    const size_t floats = (size_t)g->num_layers * B * g->units;
    g->h_offset         = offset;
    offset += align_floats(floats);
    if (g->mode == CUDNN_LSTM) {
      g->c_offset = offset;
      offset += align_floats(floats);
    }
  }
  c->state_floats = offset;
  c->out_offset   = REGION_STATE_OFFSET + offset * sizeof(float);
  c->region_bytes =
    c->out_offset + B * c->max_block * model->output_width * sizeof(float);

  size_t head_offset = 0;
  for (uint32_t k = 0; k < c->num_head; ++k) {
    HeadLayer* const h = &c->head[k];
    h->weights_offset  = head_offset;
    head_offset += align_floats((size_t)h->in_width * h->out_width);
    h->bias_offset = head_offset;
    head_offset += align_floats(h->out_width);
  }
  c->head_floats = head_offset;
  return true;
}

/* ------------------------------------------------------------------------ */
/* Device set-up                                                            */
/* ------------------------------------------------------------------------ */

static bool
open_device(CudnnContext* const c)
{
  const SwCudnnApi* const api = c->api;
  if (!cuda_ok(c, cudaSetDevice(0), "cudaSetDevice(0)")) {
    return false;
  }
  cudaStream_t stream = NULL;
  if (!cuda_ok(c, cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
               "cudaStreamCreateWithFlags")) {
    return false;
  }
  c->stream         = stream;
  cudaEvent_t start = NULL;
  if (!cuda_ok(c, cudaEventCreate(&start), "cudaEventCreate")) {
    return false;
  }
  c->trial_start   = start;
  cudaEvent_t stop = NULL;
  if (!cuda_ok(c, cudaEventCreate(&stop), "cudaEventCreate")) {
    return false;
  }
  c->trial_stop = stop;

  cudnnHandle_t handle = NULL;
  if (!cudnn_ok(c, api->cudnnCreate(&handle), "cudnnCreate")) {
    return false;
  }
  c->handle = handle;
  if (!cudnn_ok(c, api->cudnnSetStream(c->handle, c->stream),
                "cudnnSetStream")) {
    return false;
  }

  /* Dropout is training-only; the descriptor says "none" explicitly. */
  cudnnDropoutDescriptor_t dropout = NULL;
  if (!cudnn_ok(c, api->cudnnCreateDropoutDescriptor(&dropout),
                "cudnnCreateDropoutDescriptor")) {
    return false;
  }
  c->dropout = dropout;
  if (!cudnn_ok(
        c,
        api->cudnnSetDropoutDescriptor(c->dropout, c->handle, 0.0f, NULL, 0, 0),
        "cudnnSetDropoutDescriptor")) {
    return false;
  }

  for (uint32_t i = 0; i < c->num_groups; ++i) {
    Group* const             g = &c->groups[i];
    cudnnRNNDataDescriptor_t x = NULL;
    if (!cudnn_ok(c, api->cudnnCreateRNNDataDescriptor(&x),
                  "cudnnCreateRNNDataDescriptor")) {
      return false;
    }
    g->x_desc                  = x;
    cudnnRNNDataDescriptor_t y = NULL;
    if (!cudnn_ok(c, api->cudnnCreateRNNDataDescriptor(&y),
                  "cudnnCreateRNNDataDescriptor")) {
      return false;
    }
    g->y_desc                     = y;
    cudnnTensorDescriptor_t state = NULL;
    if (!cudnn_ok(c, api->cudnnCreateTensorDescriptor(&state),
                  "cudnnCreateTensorDescriptor")) {
      return false;
    }
    g->state_desc = state;
    /* cuDNN's state layout [layers][batch][units], fully packed. */
    const int dims[3] = { (int)g->num_layers, (int)c->streams, (int)g->units };
    const int strides[3] = { (int)(c->streams * g->units), (int)g->units, 1 };
    if (!cudnn_ok(c,
                  api->cudnnSetTensorNdDescriptor(
                    g->state_desc, CUDNN_DATA_FLOAT, 3, dims, strides),
                  "cudnnSetTensorNdDescriptor (state)")) {
      return false;
    }
  }
  return true;
}

static bool
allocate_buffers(CudnnContext* const c)
{
  const SwModel* const model  = c->model;
  const size_t         frames = (size_t)c->streams * c->max_block;
  const size_t         in     = frames * model->input_width * sizeof(float);
  const size_t         act    = frames * c->widest * sizeof(float);

  if (!device_alloc(c, (void**)&c->in_dev, in, "the input") ||
      !device_alloc(c, (void**)&c->act_dev[0], act, "layer outputs") ||
      !device_alloc(c, (void**)&c->act_dev[1], act, "layer outputs") ||
      !device_alloc(c, (void**)&c->region_dev[0], c->region_bytes,
                    "state and output") ||
      !device_alloc(c, (void**)&c->region_dev[1], c->region_bytes,
                    "state and output") ||
      !device_alloc(c, (void**)&c->head_dev, c->head_floats * sizeof(float),
                    "Dense weights") ||
      !device_alloc(c, (void**)&c->seq_lengths_dev,
                    c->streams * sizeof(int32_t), "sequence lengths") ||
      !pinned_alloc(c, (void**)&c->in_host, in, "input staging") ||
      !pinned_alloc(c, (void**)&c->download, c->region_bytes,
                    "output staging") ||
      !pinned_alloc(c, (void**)&c->mirror, c->state_floats * sizeof(float),
                    "the state mirror")) {
    return false;
  }
  c->seq_lengths_host = (int*)calloc(c->streams, sizeof(int));
  c->layer_state      = (float*)calloc(2U * (size_t)c->widest, sizeof(float));
  if (!c->seq_lengths_host || !c->layer_state) {
    set_failure(c, "calloc", "out of memory");
    return false;
  }
  /* Zeros in the padding between groups and in the flags; the padding is
     copied with the state but never written again. */
  memset(c->mirror, 0, c->state_floats * sizeof(float));
  return cuda_ok(
           c, cudaMemsetAsync(c->region_dev[0], 0, c->region_bytes, c->stream),
           "cudaMemsetAsync") &&
         cuda_ok(
           c, cudaMemsetAsync(c->region_dev[1], 0, c->region_bytes, c->stream),
           "cudaMemsetAsync");
}

/* The Dense weights, transposed to [in][out] for coalesced reads. */
static bool
upload_head(CudnnContext* const c)
{
  if (!c->num_head) {
    return true;
  }
  float* image = NULL;
  if (!pinned_alloc(c, (void**)&image, c->head_floats * sizeof(float),
                    "Dense weight staging")) {
    return false;
  }
  memset(image, 0, c->head_floats * sizeof(float));
  uint32_t k = 0;
  for (uint32_t l = 0; l < c->model->num_layers; ++l) {
    const SwLayer* const layer = &c->model->layers[l];
    if (is_recurrent(layer)) {
      continue;
    }
    const HeadLayer* const h  = &c->head[k++];
    float* const           wt = image + h->weights_offset;
    for (size_t o = 0; o < h->out_width; ++o) {
      for (size_t i = 0; i < h->in_width; ++i) {
        wt[i * h->out_width + o] = layer->kernel[o * h->in_width + i];
      }
    }
    memcpy(image + h->bias_offset, layer->bias, h->out_width * sizeof(float));
  }
  const bool ok =
    cuda_ok(c,
            cudaMemcpyAsync(c->head_dev, image, c->head_floats * sizeof(float),
                            cudaMemcpyHostToDevice, c->stream),
            "cudaMemcpyAsync (Dense weights)") &&
    cuda_ok(c, cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
  cudaFreeHost(image);
  return ok;
}

static cudnnStatus_t
set_data_descriptors(const CudnnContext* const c, const Group* const g,
                     const uint32_t frames)
{
  const SwCudnnApi* const api = c->api;
  const cudnnStatus_t     st  = api->cudnnSetRNNDataDescriptor(
    g->x_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED,
    (int)frames, (int)c->streams, (int)g->input_size, c->seq_lengths_host,
    NULL);
  if (st != CUDNN_STATUS_SUCCESS) {
    return st;
  }
  return api->cudnnSetRNNDataDescriptor(
    g->y_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED,
    (int)frames, (int)c->streams, (int)g->units, c->seq_lengths_host, NULL);
}

static void
fill_seq_lengths_host(CudnnContext* const c, const uint32_t frames)
{
  for (uint32_t s = 0; s < c->streams; ++s) {
    c->seq_lengths_host[s] = (int)frames;
  }
}

static void
destroy_plan(const CudnnContext* const c, RnnPlan* const plan)
{
  if (plan->rnn) {
    c->api->cudnnDestroyRNNDescriptor(plan->rnn);
  }
  cudaFree(plan->weights);
  memset(plan, 0, sizeof(*plan));
}

/* ------------------------------------------------------------------------ */
/* Weights                                                                  */
/* ------------------------------------------------------------------------ */

static void
format_dims(char* const dst, const size_t size, const int nb,
            const int* const values)
{
  size_t used = 0;
  used        = append(dst, used, size, "[");
  for (int i = 0; i < nb && i < 8; ++i) {
    char number[16];
    snprintf(number, sizeof(number), i ? " %d" : "%d", values[i]);
    used = append(dst, used, size, number);
  }
  append(dst, used, size, "]");
}

/* Whether the slot cudnnGetRNNWeightParams gave is a packed, row-major
   float [rows x cols] inside the weight space (dimensions of 1 may come
   anywhere): writes its offset in bytes, or the mismatch into the failure
   text. */
static bool
check_slot(CudnnContext* const c, const RnnPlan* const plan,
           const cudnnTensorDescriptor_t desc, const void* const addr,
           const uint32_t rows, const uint32_t cols, const char* const what,
           const uint32_t layer, const uint32_t id, size_t* const offset)
{
  cudnnDataType_t type       = CUDNN_DATA_FLOAT;
  int             nb         = 0;
  int             dims[8]    = { 0 };
  int             strides[8] = { 0 };
  if (!cudnn_ok(
        c,
        c->api->cudnnGetTensorNdDescriptor(desc, 8, &type, &nb, dims, strides),
        "cudnnGetTensorNdDescriptor (weight slot)")) {
    return false;
  }
  nb = nb < 8 ? nb : 8;

  /* The dimensions other than 1, outermost first, against the expected
     ones, each with the stride of a packed row-major array. */
  int want[2] = { 0, 0 };
  int wanted  = 0;
  if (rows != 1U) {
    want[wanted++] = (int)rows;
  }
  if (cols != 1U) {
    want[wanted++] = (int)cols;
  }
  int found[8];
  int found_strides[8];
  int count = 0;
  for (int i = 0; i < nb; ++i) {
    if (dims[i] != 1) {
      found[count]         = dims[i];
      found_strides[count] = strides[i];
      ++count;
    }
  }
  bool layout = type == CUDNN_DATA_FLOAT && nb >= 1 && count == wanted;
  int  packed = 1;
  for (int i = count - 1; i >= 0 && layout; --i) {
    layout = found[i] == want[i] && found_strides[i] == packed;
    packed *= found[i];
  }

  const size_t      bytes  = (size_t)rows * cols * sizeof(float);
  const char* const base   = (const char*)plan->weights;
  const char* const at     = (const char*)addr;
  const bool        inside = addr && at >= base &&
                      (size_t)(at - base) % sizeof(float) == 0 &&
                      (size_t)(at - base) + bytes <= plan->weight_bytes;
  if (layout && inside) {
    *offset = (size_t)(at - base);
    return true;
  }
  char dim_text[64];
  char stride_text[64];
  format_dims(dim_text, sizeof(dim_text), nb, dims);
  format_dims(stride_text, sizeof(stride_text), nb, strides);
  snprintf(c->failure_text, sizeof(c->failure_text),
           "cuDNN %s of layer %u, linLayerID %u (%s algorithm): %s, dims "
           "%s, strides %s, %s the weight space; expected a packed "
           "row-major float [%u x %u] inside it",
           what, layer, id, algo_name(plan->algo),
           type == CUDNN_DATA_FLOAT ? "float" : "not float", dim_text,
           stride_text, inside ? "inside" : "outside or misaligned in", rows,
           cols);
  c->failure = c->failure_text;
  return false;
}

/* Place every matrix and bias of group g into plan's weight space: built
   on the host (zeros between slots) and copied in one piece. */
static TrialOutcome
fill_weights(CudnnContext* const c, const Group* const g,
             const RnnPlan* const plan, char* const reason,
             const size_t reason_size)
{
  const SwCudnnApi* const api     = c->api;
  const uint32_t          G       = mode_gates(g->mode);
  const uint32_t          U       = g->units;
  TrialOutcome            outcome = TRIAL_FATAL;
  unsigned char*          image   = NULL;
  cudnnTensorDescriptor_t m_desc  = NULL;
  cudnnTensorDescriptor_t b_desc  = NULL;

  if (!pinned_alloc(c, (void**)&image, plan->weight_bytes,
                    "cuDNN weight staging") ||
      !cudnn_ok(c, api->cudnnCreateTensorDescriptor(&m_desc),
                "cudnnCreateTensorDescriptor") ||
      !cudnn_ok(c, api->cudnnCreateTensorDescriptor(&b_desc),
                "cudnnCreateTensorDescriptor")) {
    goto done;
  }
  memset(image, 0, plan->weight_bytes);

  for (uint32_t k = 0; k < g->num_layers; ++k) {
    const uint32_t       l     = g->first_layer + k;
    const SwLayer* const layer = &c->model->layers[l];
    /* cuDNN's ids: 0..G-1 the input matrices W of each gate, G..2G-1 the
       recurrent R; the bias given with W is bW, with R it is bR. Gate
       order is cuDNN's, as in the canonical model. */
    for (uint32_t id = 0; id < 2U * G; ++id) {
      const bool          recurrent = id >= G;
      const uint32_t      gate      = id % G;
      const uint32_t      cols      = recurrent ? U : layer->input_width;
      void*               m_addr    = NULL;
      void*               b_addr    = NULL;
      const cudnnStatus_t st        = api->cudnnGetRNNWeightParams(
        c->handle, plan->rnn, (int32_t)k, plan->weight_bytes, plan->weights,
        (int32_t)id, m_desc, &m_addr, b_desc, &b_addr);
      if (st != CUDNN_STATUS_SUCCESS) {
        snprintf(reason, reason_size, "cudnnGetRNNWeightParams: %s",
                 api->cudnnGetErrorString(st));
        outcome = TRIAL_SKIP;
        goto done;
      }
      size_t m_offset = 0;
      size_t b_offset = 0;
      if (!check_slot(c, plan, m_desc, m_addr, U, cols,
                      recurrent ? "recurrent matrix" : "input matrix", l, id,
                      &m_offset) ||
          !check_slot(c, plan, b_desc, b_addr, U, 1U,
                      recurrent ? "recurrent bias" : "input bias", l, id,
                      &b_offset)) {
        goto done;
      }
      const float* const matrix =
        recurrent ? layer->recurrent_kernel : layer->kernel;
      const float* const bias = recurrent ? layer->recurrent_bias : layer->bias;
      memcpy(image + m_offset, matrix + (size_t)gate * U * cols,
             (size_t)U * cols * sizeof(float));
      memcpy(image + b_offset, bias + (size_t)gate * U, U * sizeof(float));
    }
  }
  if (cuda_ok(c,
              cudaMemcpyAsync(plan->weights, image, plan->weight_bytes,
                              cudaMemcpyHostToDevice, c->stream),
              "cudaMemcpyAsync (cuDNN weights)") &&
      cuda_ok(c, cudaStreamSynchronize(c->stream), "cudaStreamSynchronize")) {
    outcome = TRIAL_OK;
  }

done:
  if (m_desc) {
    api->cudnnDestroyTensorDescriptor(m_desc);
  }
  if (b_desc) {
    api->cudnnDestroyTensorDescriptor(b_desc);
  }
  if (image) {
    cudaFreeHost(image);
  }
  return outcome;
}

/* An RNN descriptor for group g with plan->algo, and its filled weights. */
static TrialOutcome
build_plan(CudnnContext* const c, const Group* const g, RnnPlan* const plan,
           char* const reason, const size_t reason_size)
{
  const SwCudnnApi* const api = c->api;
  cudnnRNNDescriptor_t    rnn = NULL;
  if (!cudnn_ok(c, api->cudnnCreateRNNDescriptor(&rnn),
                "cudnnCreateRNNDescriptor")) {
    return TRIAL_FATAL;
  }
  plan->rnn              = rnn;
  const cudnnStatus_t st = api->cudnnSetRNNDescriptor_v8(
    plan->rnn, plan->algo, g->mode, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL,
    CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH,
    (int32_t)g->input_size, (int32_t)g->units, (int32_t)g->units,
    (int32_t)g->num_layers, c->dropout, CUDNN_RNN_PADDED_IO_ENABLED);
  if (st != CUDNN_STATUS_SUCCESS) {
    snprintf(reason, reason_size, "cudnnSetRNNDescriptor_v8: %s",
             api->cudnnGetErrorString(st));
    return TRIAL_SKIP;
  }
  size_t              bytes = 0;
  const cudnnStatus_t size_st =
    api->cudnnGetRNNWeightSpaceSize(c->handle, plan->rnn, &bytes);
  if (size_st != CUDNN_STATUS_SUCCESS) {
    snprintf(reason, reason_size, "cudnnGetRNNWeightSpaceSize: %s",
             api->cudnnGetErrorString(size_st));
    return TRIAL_SKIP;
  }
  if (!device_alloc(c, &plan->weights, bytes, "cuDNN weights")) {
    return TRIAL_FATAL;
  }
  plan->weight_bytes = bytes;
  return fill_weights(c, g, plan, reason, reason_size);
}

/* ------------------------------------------------------------------------ */
/* Running cuDNN                                                            */
/* ------------------------------------------------------------------------ */

/* Group g over the frames the descriptors are set for: state from state
   set `from` into the other one. */
static cudnnStatus_t
rnn_forward(const CudnnContext* const c, const Group* const g,
            const RnnPlan* const plan, const float* const x, float* const y,
            const uint32_t from)
{
  const float* const hx   = state_set(c, from) + g->h_offset;
  float* const       hy   = state_set(c, 1U - from) + g->h_offset;
  const bool         lstm = g->mode == CUDNN_LSTM;
  const float* const cx   = lstm ? state_set(c, from) + g->c_offset : NULL;
  float* const       cy   = lstm ? state_set(c, 1U - from) + g->c_offset : NULL;
  return c->api->cudnnRNNForward(c->handle, plan->rnn, CUDNN_FWD_MODE_INFERENCE,
                                 c->seq_lengths_dev, g->x_desc, x, g->y_desc, y,
                                 g->state_desc, hx, hy, g->state_desc, cx, cy,
                                 plan->weight_bytes, plan->weights,
                                 c->workspace_bytes, c->workspace_dev, 0, NULL);
}

static bool
grow_workspace(CudnnContext* const c, const size_t bytes)
{
  if (bytes <= c->workspace_bytes && c->workspace_dev) {
    return true;
  }
  cudaFree(c->workspace_dev);
  c->workspace_dev   = NULL;
  c->workspace_bytes = 0;
  if (!device_alloc(c, &c->workspace_dev, bytes, "the cuDNN workspace")) {
    return false;
  }
  c->workspace_bytes = bytes;
  return true;
}

/* Largest relative difference of two algorithms' results, NaN-blind: a
   value the first algorithm could not keep finite proves nothing. */
static float
largest_difference(const float* const reference, const float* const trial,
                   const size_t count)
{
  float worst = 0.0f;
  for (size_t i = 0; i < count; ++i) {
    if (!isfinite(reference[i])) {
      continue;
    }
    const float d =
      fabsf(trial[i] - reference[i]) / (1.0f + fabsf(reference[i]));
    worst = d > worst || !isfinite(d) ? d : worst;
  }
  return worst;
}

/* The results of the forward just run into trial->results. */
static bool
download_results(CudnnContext* const c, const Group* const g,
                 const Trial* const trial)
{
  const size_t floats = (size_t)g->num_layers * c->streams * g->units;
  float* const dst    = trial->results;
  bool         ok =
    cuda_ok(c,
            cudaMemcpyAsync(dst, state_set(c, 1U) + g->h_offset,
                            floats * sizeof(float), cudaMemcpyDeviceToHost,
                            c->stream),
            "cudaMemcpyAsync (trial state)");
  if (ok && g->mode == CUDNN_LSTM) {
    ok = cuda_ok(c,
                 cudaMemcpyAsync(dst + floats, state_set(c, 1U) + g->c_offset,
                                 floats * sizeof(float), cudaMemcpyDeviceToHost,
                                 c->stream),
                 "cudaMemcpyAsync (trial state)");
  }
  /* Batch-major: the first streams' outputs are the start of y. */
  ok = ok && cuda_ok(c,
                     cudaMemcpyAsync(dst + trial->state_floats, trial->y,
                                     trial->output_floats * sizeof(float),
                                     cudaMemcpyDeviceToHost, c->stream),
                     "cudaMemcpyAsync (trial outputs)");
  return ok && cuda_ok(c, cudaStreamSynchronize(c->stream),
                       "cudaStreamSynchronize (trial)");
}

/* Run plan on the trial input: check its results against the reference
   (or make them the reference) and time TRIAL_RUNS forwards. */
static TrialOutcome
run_trial(CudnnContext* const c, const Group* const g,
          const RnnPlan* const plan, Trial* const trial, double* const micros,
          char* const reason, const size_t reason_size)
{
  const SwCudnnApi* const api   = c->api;
  size_t                  need  = 0;
  size_t                  spare = 0;
  const cudnnStatus_t     st    =
    api->cudnnGetRNNTempSpaceSizes(c->handle, plan->rnn,
                                   CUDNN_FWD_MODE_INFERENCE, g->x_desc, &need,
                                   &spare);
  if (st != CUDNN_STATUS_SUCCESS) {
    snprintf(reason, reason_size, "cudnnGetRNNTempSpaceSizes: %s",
             api->cudnnGetErrorString(st));
    return TRIAL_SKIP;
  }
  if (!grow_workspace(c, need)) {
    return TRIAL_FATAL;
  }
  for (int i = 0; i < TRIAL_WARMUP; ++i) {
    const cudnnStatus_t run = rnn_forward(c, g, plan, trial->x, trial->y, 0);
    if (run != CUDNN_STATUS_SUCCESS) {
      snprintf(reason, reason_size, "cudnnRNNForward: %s",
               api->cudnnGetErrorString(run));
      return TRIAL_SKIP;
    }
  }

  if (!download_results(c, g, trial)) {
    return TRIAL_FATAL;
  }
  const size_t count = trial->state_floats + trial->output_floats;
  if (trial->reference_algo) {
    const float diff =
      largest_difference(trial->reference, trial->results, count);
    if (!(diff <= TRIAL_TOLERANCE)) {
      snprintf(reason, reason_size, "results differ from %s's by %g",
               trial->reference_algo, (double)diff);
      return TRIAL_SKIP;
    }
  } else {
    memcpy(trial->reference, trial->results, count * sizeof(float));
    trial->reference_algo = algo_name(plan->algo);
  }

  if (!cuda_ok(c, cudaEventRecord(c->trial_start, c->stream),
               "cudaEventRecord")) {
    return TRIAL_FATAL;
  }
  for (int i = 0; i < TRIAL_RUNS; ++i) {
    const cudnnStatus_t run = rnn_forward(c, g, plan, trial->x, trial->y, 0);
    if (run != CUDNN_STATUS_SUCCESS) {
      snprintf(reason, reason_size, "cudnnRNNForward: %s",
               api->cudnnGetErrorString(run));
      return cuda_ok(c, cudaStreamSynchronize(c->stream),
                     "cudaStreamSynchronize (trial)")
               ? TRIAL_SKIP
               : TRIAL_FATAL;
    }
  }
  float ms = 0.0f;
  if (!cuda_ok(c, cudaEventRecord(c->trial_stop, c->stream),
               "cudaEventRecord") ||
      !cuda_ok(c, cudaEventSynchronize(c->trial_stop),
               "cudaEventSynchronize (trial)") ||
      !cuda_ok(c, cudaEventElapsedTime(&ms, c->trial_start, c->trial_stop),
               "cudaEventElapsedTime")) {
    return TRIAL_FATAL;
  }
  *micros = (double)ms * 1000.0 / TRIAL_RUNS;
  return TRIAL_OK;
}

/* Try every algorithm that may run group `index`, keep the fastest one
   whose result agrees with the first that ran. */
static bool
choose_algorithm(CudnnContext* const c, const uint32_t index,
                 const uint32_t frames)
{
  Group* const   g          = &c->groups[index];
  const uint32_t last_layer = g->first_layer + g->num_layers - 1U;

  if (!cudnn_ok(c, set_data_descriptors(c, g, frames),
                "cudnnSetRNNDataDescriptor")) {
    return false;
  }
  float* const x      = index ? c->act_dev[(index - 1U) & 1U] : c->in_dev;
  const size_t floats = (size_t)g->num_layers * c->streams * g->units;
  Trial        trial  = { 0 };
  trial.x             = x;
  trial.y             = c->act_dev[index & 1U];
  trial.state_floats  = g->mode == CUDNN_LSTM ? 2U * floats : floats;
  trial.output_floats =
    (size_t)(c->streams < TRIAL_STREAMS_COMPARED ? c->streams
                                                 : TRIAL_STREAMS_COMPARED) *
    frames * g->units;
  if (!cuda_ok(c,
               sw_cudnn_fill_pattern(
                 x, (size_t)c->streams * frames * g->input_size, c->stream),
               "fill_pattern_kernel")) {
    return false;
  }

  /* SMALL_H exists for hidden sizes up to 192 (LSTM, GRU) or 384. */
  const uint32_t small_h_max =
    g->mode == CUDNN_LSTM || g->mode == CUDNN_GRU ? 192U : 384U;
  cudnnRNNAlgo_t algos[3];
  int            num_algos = 0;
  algos[num_algos++]       = CUDNN_RNN_ALGO_STANDARD;
  if (g->units <= small_h_max) {
    algos[num_algos++] = CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H;
  }
  algos[num_algos++] = CUDNN_RNN_ALGO_PERSIST_STATIC;

  const size_t count = trial.state_floats + trial.output_floats;
  trial.reference    = (float*)malloc(count * sizeof(float));
  trial.results      = (float*)malloc(count * sizeof(float));
  if (!trial.reference || !trial.results) {
    free(trial.reference);
    free(trial.results);
    set_failure(c, "malloc", "out of memory");
    return false;
  }
  RnnPlan best        = { CUDNN_RNN_ALGO_STANDARD, NULL, NULL, 0 };
  double  best_micros = 0.0;
  char    notes[320]  = "";
  size_t  notes_used  = 0;
  bool    fatal       = false;

  for (int a = 0; a < num_algos && !fatal; ++a) {
    RnnPlan      plan        = { algos[a], NULL, NULL, 0 };
    char         reason[192] = "";
    double       micros      = 0.0;
    TrialOutcome outcome     = build_plan(c, g, &plan, reason, sizeof(reason));
    if (outcome == TRIAL_OK) {
      outcome = run_trial(c, g, &plan, &trial, &micros, reason, sizeof(reason));
    }
    notes_used =
      append(notes, notes_used, sizeof(notes), notes_used ? ", " : "");
    notes_used = append(notes, notes_used, sizeof(notes), algo_name(plan.algo));
    if (outcome == TRIAL_OK) {
      char time[32];
      snprintf(time, sizeof(time), " %.4g us", micros);
      notes_used = append(notes, notes_used, sizeof(notes), time);
    } else {
      notes_used = append(notes, notes_used, sizeof(notes), ": ");
      notes_used = append(notes, notes_used, sizeof(notes),
                          outcome == TRIAL_FATAL ? c->failure_text : reason);
    }
    fatal = outcome == TRIAL_FATAL;
    if (outcome == TRIAL_OK && (!best.rnn || micros < best_micros)) {
      destroy_plan(c, &best);
      best        = plan;
      best_micros = micros;
    } else {
      destroy_plan(c, &plan);
    }
  }
  free(trial.reference);
  free(trial.results);
  if (fatal || !best.rnn) {
    destroy_plan(c, &best);
    if (!fatal) {
      snprintf(c->failure_text, sizeof(c->failure_text),
               "layers %u..%u (%s, %u units): no cuDNN algorithm runs them "
               "(%s)",
               g->first_layer, last_layer, mode_name(g->mode), g->units, notes);
      c->failure = c->failure_text;
    }
    return false;
  }
  g->plan = best;
  sw_log(SW_LOG_DEBUG,
         "cudnn: layers %u..%u (%s, %u units, %u streams) run %s; one "
         "forward of %u frames: %s",
         g->first_layer, last_layer, mode_name(g->mode), g->units, c->streams,
         algo_name(best.algo), frames, notes);
  return true;
}

/* Workspace for every block length: cuDNN sizes it per sequence length, so
   take the largest over lengths 1, 2, 4, ... and max_block. (set_frames
   checks each new length again.) */
static bool
size_workspace(CudnnContext* const c)
{
  size_t   need   = 0;
  uint32_t frames = 1U;
  for (;;) {
    fill_seq_lengths_host(c, frames);
    for (uint32_t i = 0; i < c->num_groups; ++i) {
      const Group* const g     = &c->groups[i];
      size_t             bytes = 0;
      size_t             spare = 0;
      if (!cudnn_ok(c, set_data_descriptors(c, g, frames),
                    "cudnnSetRNNDataDescriptor") ||
          !cudnn_ok(c,
                    c->api->cudnnGetRNNTempSpaceSizes(
                      c->handle, g->plan.rnn, CUDNN_FWD_MODE_INFERENCE,
                      g->x_desc, &bytes, &spare),
                    "cudnnGetRNNTempSpaceSizes")) {
        return false;
      }
      need = bytes > need ? bytes : need;
    }
    if (frames == c->max_block) {
      break;
    }
    frames = frames * 2U < c->max_block ? frames * 2U : c->max_block;
  }
  cudaFree(c->workspace_dev);
  c->workspace_dev   = NULL;
  c->workspace_bytes = 0;
  if (!device_alloc(c, &c->workspace_dev, need, "the cuDNN workspace")) {
    return false;
  }
  c->workspace_bytes = need;
  /* The descriptors now hold max_block and the device lengths the trial
     frames: the first block sets both. */
  c->frames = 0;
  return true;
}

/* ------------------------------------------------------------------------ */
/* The interface                                                            */
/* ------------------------------------------------------------------------ */

static void
cudnn_destroy(void* const context)
{
  CudnnContext* const c = (CudnnContext*)context;
  if (!c) {
    return;
  }
  const SwCudnnApi* const api = c->api;
  if (c->stream) {
    cudaStreamSynchronize(c->stream);
  }
  for (uint32_t i = 0; c->groups && i < c->num_groups; ++i) {
    Group* const g = &c->groups[i];
    destroy_plan(c, &g->plan);
    if (g->x_desc) {
      api->cudnnDestroyRNNDataDescriptor(g->x_desc);
    }
    if (g->y_desc) {
      api->cudnnDestroyRNNDataDescriptor(g->y_desc);
    }
    if (g->state_desc) {
      api->cudnnDestroyTensorDescriptor(g->state_desc);
    }
  }
  if (c->dropout) {
    api->cudnnDestroyDropoutDescriptor(c->dropout);
  }
  if (c->handle) {
    api->cudnnDestroy(c->handle);
  }
  cudaFree(c->in_dev);
  cudaFree(c->act_dev[0]);
  cudaFree(c->act_dev[1]);
  cudaFree(c->region_dev[0]);
  cudaFree(c->region_dev[1]);
  cudaFree(c->head_dev);
  cudaFree(c->seq_lengths_dev);
  cudaFree(c->workspace_dev);
  if (c->in_host) {
    cudaFreeHost(c->in_host);
  }
  if (c->download) {
    cudaFreeHost(c->download);
  }
  if (c->mirror) {
    cudaFreeHost(c->mirror);
  }
  if (c->trial_start) {
    cudaEventDestroy(c->trial_start);
  }
  if (c->trial_stop) {
    cudaEventDestroy(c->trial_stop);
  }
  if (c->stream) {
    cudaStreamDestroy(c->stream);
  }
  if (c->cpu) {
    sw_cpu_backend.destroy(c->cpu);
  }
  free(c->seq_lengths_host);
  free(c->layer_state);
  free(c->groups);
  free(c->head);
  free(c->layer_group);
  free(c);
}

static void
cudnn_reset(void* const context, const uint32_t stream)
{
  CudnnContext* const c = (CudnnContext*)context;
  for (uint32_t i = 0; i < c->num_groups; ++i) {
    const Group* const g = &c->groups[i];
    const size_t       U = g->units;
    for (uint32_t k = 0; k < g->num_layers; ++k) {
      const SwLayer* const layer = &c->model->layers[g->first_layer + k];
      const size_t         at    = state_index(c, g, k, stream);
      float* const         h     = c->mirror + g->h_offset + at;
      if (layer->initial_h) {
        memcpy(h, layer->initial_h, U * sizeof(float));
      } else {
        memset(h, 0, U * sizeof(float));
      }
      if (g->mode != CUDNN_LSTM) {
        continue;
      }
      float* const cell = c->mirror + g->c_offset + at;
      if (layer->initial_c) {
        memcpy(cell, layer->initial_c, U * sizeof(float));
      } else {
        memset(cell, 0, U * sizeof(float));
      }
    }
  }
  c->dirty = true;
}

static void
cudnn_get_state(void* const context, const uint32_t stream,
                const uint32_t layer, float* const dst)
{
  const CudnnContext* const c     = (const CudnnContext*)context;
  const int32_t             index = c->layer_group[layer];
  if (index < 0) {
    return; /* Dense: no state */
  }
  const Group* const g  = &c->groups[index];
  const size_t       at = state_index(c, g, layer - g->first_layer, stream);
  memcpy(dst, c->mirror + g->h_offset + at, g->units * sizeof(float));
  if (g->mode == CUDNN_LSTM) {
    memcpy(dst + g->units, c->mirror + g->c_offset + at,
           g->units * sizeof(float));
  }
}

static void
cudnn_set_state(void* const context, const uint32_t stream,
                const uint32_t layer, const float* const src)
{
  CudnnContext* const c     = (CudnnContext*)context;
  const int32_t       index = c->layer_group[layer];
  if (index < 0) {
    return;
  }
  const Group* const g  = &c->groups[index];
  const size_t       at = state_index(c, g, layer - g->first_layer, stream);
  memcpy(c->mirror + g->h_offset + at, src, g->units * sizeof(float));
  if (g->mode == CUDNN_LSTM) {
    memcpy(c->mirror + g->c_offset + at, src + g->units,
           g->units * sizeof(float));
  }
  c->dirty = true;
}

static SwStatus
cudnn_create(const SwModel* const model, const uint32_t streams,
             const uint32_t max_block, void** const context, SwError* const err)
{
  const SwStatus supported = check_model(model, max_block, err);
  if (supported) {
    return supported;
  }
  const char*             why = "";
  const SwCudnnApi* const api = sw_cudnn_api(&why);
  if (!api) {
    return sw_error_set(err, SW_ERR_BACKEND, "%s", why);
  }

  CudnnContext* const c = (CudnnContext*)calloc(1, sizeof(CudnnContext));
  if (!c) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  c->model     = model;
  c->api       = api;
  c->streams   = streams;
  c->max_block = max_block;
  sw_gpu_fault_init(&c->fault);
  if (!plan_layers(c)) {
    cudnn_destroy(c);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }

  bool ok = open_device(c) && allocate_buffers(c) && upload_head(c);
  if (ok) {
    /* The trials start from the model's initial state in state set 0. */
    for (uint32_t s = 0; s < streams; ++s) {
      cudnn_reset(c, s);
    }
    const uint32_t frames = max_block < TRIAL_FRAMES ? max_block : TRIAL_FRAMES;
    fill_seq_lengths_host(c, frames);
    ok = cuda_ok(c,
                 cudaMemcpyAsync(state_set(c, 0), c->mirror,
                                 c->state_floats * sizeof(float),
                                 cudaMemcpyHostToDevice, c->stream),
                 "cudaMemcpyAsync (initial state)") &&
         cuda_ok(c,
                 sw_cudnn_fill_int(c->seq_lengths_dev, streams, (int32_t)frames,
                                   c->stream),
                 "fill_int_kernel");
    for (uint32_t i = 0; ok && i < c->num_groups; ++i) {
      ok = choose_algorithm(c, i, frames);
    }
    ok = ok && size_workspace(c) &&
         cuda_ok(c, cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
  }
  if (!ok) {
    const SwStatus st = sw_error_set(err, SW_ERR_BACKEND, "%s",
                                     c->failure ? c->failure : "unknown");
    cudnn_destroy(c);
    return st;
  }

  const SwStatus cpu_st =
    sw_cpu_backend.create(model, streams, max_block, &c->cpu, err);
  if (cpu_st) {
    cudnn_destroy(c);
    return cpu_st;
  }
  c->dirty   = true;
  c->failure = NULL;
  *context   = c;
  return SW_SUCCESS;
}

/* Point the data descriptors and the device sequence lengths at blocks of
   `frames`, checking the workspace still suffices. */
static bool
set_frames(CudnnContext* const c, const uint32_t frames)
{
  c->frames = 0;
  fill_seq_lengths_host(c, frames);
  for (uint32_t i = 0; i < c->num_groups; ++i) {
    const Group* const g     = &c->groups[i];
    size_t             need  = 0;
    size_t             spare = 0;
    if (!cudnn_ok(c, set_data_descriptors(c, g, frames),
                  "cudnnSetRNNDataDescriptor") ||
        !cudnn_ok(c,
                  c->api->cudnnGetRNNTempSpaceSizes(c->handle, g->plan.rnn,
                                                    CUDNN_FWD_MODE_INFERENCE,
                                                    g->x_desc, &need, &spare),
                  "cudnnGetRNNTempSpaceSizes")) {
      return false;
    }
    if (need > c->workspace_bytes) {
      set_failure(c, "cudnnGetRNNTempSpaceSizes",
                  "this block length needs more workspace than was sized "
                  "at creation");
      return false;
    }
  }
  if (!cuda_ok(c,
               sw_cudnn_fill_int(c->seq_lengths_dev, c->streams,
                                 (int32_t)frames, c->stream),
               "fill_int_kernel")) {
    return false;
  }
  c->frames = frames;
  return true;
}

/* Queue the block in in_host: state upload when the mirror changed, input
   upload, every group, the head, one download. */
static bool
start_block(CudnnContext* const c, const uint32_t frames)
{
  const SwModel* const model = c->model;
  const uint32_t       from  = c->parity;
  const uint32_t       to    = 1U - from;
  const size_t         rows  = (size_t)c->streams * frames;

  if (frames != c->frames && !set_frames(c, frames)) {
    return false;
  }
  if (c->dirty) {
    if (!cuda_ok(c,
                 cudaMemcpyAsync(state_set(c, from), c->mirror,
                                 c->state_floats * sizeof(float),
                                 cudaMemcpyHostToDevice, c->stream),
                 "cudaMemcpyAsync (state upload)")) {
      return false;
    }
    c->dirty = false;
  }
  if (!cuda_ok(c,
               cudaMemcpyAsync(c->in_dev, c->in_host,
                               rows * model->input_width * sizeof(float),
                               cudaMemcpyHostToDevice, c->stream),
               "cudaMemcpyAsync (input upload)")) {
    return false;
  }

  /* A non-finite output of a relu layer (which later frames may hide) or
     of the last recurrent layer writes this block's tag into the flag:
     the CPU resets the stream at that frame. The first Dense layer reads
     every output of the last recurrent layer, so it checks those. */
  c->tag               = c->tag + 1U ? c->tag + 1U : 1U;
  uint32_t* const flag = (uint32_t*)c->region_dev[to];
  const float*    x    = c->in_dev;
  for (uint32_t i = 0; i < c->num_groups; ++i) {
    const Group* const g    = &c->groups[i];
    const bool         last = i + 1U == c->num_groups;
    float* const       y =
      last && !c->num_head ? output_dev(c, to) : c->act_dev[i & 1U];
    if (!cudnn_ok(c, rnn_forward(c, g, &g->plan, x, y, from),
                  "cudnnRNNForward")) {
      return false;
    }
    if (g->mode == CUDNN_RNN_RELU && !last &&
        !cuda_ok(
          c,
          sw_cudnn_flag_nonfinite(y, rows * g->units, flag, c->tag, c->stream),
          "flag_nonfinite_kernel")) {
      return false;
    }
    x = y;
  }

  for (uint32_t k = 0; k < c->num_head; ++k) {
    const HeadLayer* const h = &c->head[k];
    float* const           y = k + 1U == c->num_head
                                 ? output_dev(c, to)
                                 : c->act_dev[(c->num_groups + k) & 1U];
    if (!cuda_ok(c,
                 sw_cudnn_dense(x, y, c->head_dev + h->weights_offset,
                                c->head_dev + h->bias_offset, h->in_width,
                                h->out_width, rows, h->act, k ? NULL : flag,
                                c->tag, c->stream),
                 "dense_kernel")) {
      return false;
    }
    x = y;
  }

  return cuda_ok(
    c,
    cudaMemcpyAsync(c->download, c->region_dev[to],
                    c->out_offset + rows * model->output_width * sizeof(float),
                    cudaMemcpyDeviceToHost, c->stream),
    "cudaMemcpyAsync (download)");
}

/* After a device error: let nothing queued touch the staging buffers any
   more, and upload the mirror and set the descriptors again next time. */
static void
abandon_block(CudnnContext* const c)
{
  cudaStreamSynchronize(c->stream);
  c->dirty   = true;
  c->frames  = 0;
  c->pending = BLOCK_NONE;
}

static SwStatus
cudnn_submit(void* const context, const float* const in, const uint32_t frames)
{
  CudnnContext* const c = (CudnnContext*)context;
  if (sw_gpu_fault_now(&c->fault)) {
    c->failure = SW_GPU_FAULT_MESSAGE;
    return SW_ERR_BACKEND;
  }
  if (c->pending != BLOCK_NONE || frames < 1U || frames > c->max_block) {
    set_failure(c, "cudnn submit",
                "a block is in flight or its length is not 1..max_block");
    return SW_ERR_BAD_ARG;
  }
  const size_t count = (size_t)c->streams * frames * c->model->input_width;
  memcpy(c->in_host, in, count * sizeof(float));
  c->pending_frames = frames;
  if (!sw_all_finite(c->in_host, count)) {
    c->pending = BLOCK_ON_CPU;
    return SW_SUCCESS;
  }
  if (!start_block(c, frames)) {
    abandon_block(c);
    return SW_ERR_BACKEND;
  }
  c->pending = BLOCK_ON_GPU;
  return SW_SUCCESS;
}

/* The block in in_host on the private CPU context, from the mirror and
   back into it. */
static SwStatus
run_on_cpu(CudnnContext* const c, float* const out, const uint32_t frames,
           uint64_t* const nonfinite_resets)
{
  const SwBackendIface* const cpu    = &sw_cpu_backend;
  const uint32_t              layers = c->model->num_layers;
  for (uint32_t s = 0; s < c->streams; ++s) {
    for (uint32_t l = 0; l < layers; ++l) {
      if (c->layer_group[l] >= 0) {
        cudnn_get_state(c, s, l, c->layer_state);
        cpu->set_state(c->cpu, s, l, c->layer_state);
      }
    }
  }
  const SwStatus st =
    cpu->process(c->cpu, c->in_host, out, frames, nonfinite_resets);
  if (st) {
    return st;
  }
  for (uint32_t s = 0; s < c->streams; ++s) {
    for (uint32_t l = 0; l < layers; ++l) {
      if (c->layer_group[l] >= 0) {
        cpu->get_state(c->cpu, s, l, c->layer_state);
        cudnn_set_state(c, s, l, c->layer_state);
      }
    }
  }
  return SW_SUCCESS;
}

/* Whether the downloaded block is one the CPU would have computed without
   a reset: finite new state, no flag, finite last recurrent outputs. */
static bool
download_finite(const CudnnContext* const c, const uint32_t frames)
{
  const float* const state = (const float*)(c->download + REGION_STATE_OFFSET);
  if (!sw_all_finite(state, c->state_floats)) {
    return false;
  }
  uint32_t flag = 0;
  memcpy(&flag, c->download, sizeof(flag));
  if (flag == c->tag) {
    return false;
  }
  /* Without a head the output is the last recurrent layer's. */
  return c->num_head ||
         sw_all_finite((const float*)(c->download + c->out_offset),
                    (size_t)c->streams * frames * c->model->output_width);
}

static SwStatus
cudnn_collect(void* const context, float* const out,
              uint64_t* const nonfinite_resets)
{
  CudnnContext* const c      = (CudnnContext*)context;
  const BlockPlace    place  = c->pending;
  const uint32_t      frames = c->pending_frames;
  c->pending                 = BLOCK_NONE;
  if (place == BLOCK_ON_CPU) {
    return run_on_cpu(c, out, frames, nonfinite_resets);
  }
  if (place != BLOCK_ON_GPU) {
    set_failure(c, "cudnn collect", "no block was submitted");
    return SW_ERR_BAD_ARG;
  }
  if (!cuda_ok(c, cudaStreamSynchronize(c->stream), "cudaStreamSynchronize")) {
    abandon_block(c);
    return SW_ERR_BACKEND;
  }
  if (!download_finite(c, frames)) {
    return run_on_cpu(c, out, frames, nonfinite_resets);
  }
  memcpy(out, c->download + c->out_offset,
         (size_t)c->streams * frames * c->model->output_width * sizeof(float));
  memcpy(c->mirror, c->download + REGION_STATE_OFFSET,
         c->state_floats * sizeof(float));
  c->parity = 1U - c->parity;
  return SW_SUCCESS;
}

static SwStatus
cudnn_process(void* const context, const float* const in, float* const out,
              const uint32_t frames, uint64_t* const nonfinite_resets)
{
  const SwStatus st = cudnn_submit(context, in, frames);
  return st ? st : cudnn_collect(context, out, nonfinite_resets);
}

static const char*
cudnn_failure(void* const context)
{
  return ((const CudnnContext*)context)->failure;
}

static bool
cudnn_probe(char* const detail, const size_t detail_size)
{
  char gpu[256];
  if (!sw_gpu_probe(gpu, sizeof(gpu))) {
    snprintf(detail, detail_size, "%s", gpu);
    return false;
  }
  const char*             why = "";
  const SwCudnnApi* const api = sw_cudnn_api(&why);
  if (!api) {
    snprintf(detail, detail_size, "%s", why);
    return false;
  }
  cudnnHandle_t       handle = NULL;
  const cudnnStatus_t st     = api->cudnnCreate(&handle);
  if (st != CUDNN_STATUS_SUCCESS) {
    snprintf(detail, detail_size, "cudnnCreate: %s (cuDNN %s)",
             api->cudnnGetErrorString(st), api->version_text);
    return false;
  }
  api->cudnnDestroy(handle);
  snprintf(detail, detail_size, "%s cuDNN %s", gpu, api->version_text);
  return true;
}

const SwBackendIface sw_cudnn_backend = {
  .name      = "cudnn",
  .kind      = SW_BACKEND_CUDNN,
  .probe     = cudnn_probe,
  .create    = cudnn_create,
  .destroy   = cudnn_destroy,
  .reset     = cudnn_reset,
  .process   = cudnn_process,
  .submit    = cudnn_submit,
  .collect   = cudnn_collect,
  .failure   = cudnn_failure,
  .get_state = cudnn_get_state,
  .set_state = cudnn_set_state,
};
