/* The canonical model in memory (private to libstatewave). */

#ifndef SW_MODEL_IMPL_H
#define SW_MODEL_IMPL_H

#include "statewave/statewave.h"

#include <stddef.h>

/* Largest accepted dimensions: far beyond any real-time model, small enough
   that sizes cannot overflow. */
#define SW_MAX_UNITS 4096U
#define SW_MAX_INPUT_WIDTH 4096U
#define SW_MAX_LAYERS 64U
#define SW_MAX_KERNEL_SIZE 1024U
#define SW_MAX_DILATION 4096U
/* Longest Conv1D input history, in frames. */
#define SW_MAX_CONV_HISTORY 65536U
#define SW_MAX_STRIDE 65536U
/* Most multiply-adds one output frame of a windowed model may cost: about
   a quarter of a second per frame on one core, far past real time at any
   audio rate, so only a mistake (a window in the wrong unit) reaches it. */
#define SW_MAX_WINDOW_MACS (1ULL << 30)

/* One layer, weights in the canonical (cuDNN) layout described in
   statewave.h. Biases are always present (zeros when !use_bias). */
typedef struct {
  SwLayerType  type;
  uint32_t     input_width;
  uint32_t     units;
  uint32_t     gates;
  SwActivation activation;           /* resolved, never SW_ACT_DEFAULT */
  SwActivation recurrent_activation; /* resolved, never SW_ACT_DEFAULT */
  SwGruReset   gru_reset;
  bool         use_bias;
  uint32_t     kernel_size; /* Conv1D taps K; 1 otherwise */
  uint32_t     dilation;    /* Conv1D dilation; 1 otherwise */
  uint32_t     stride;      /* Conv1D stride; 1 otherwise */
  SwPadding    padding;     /* Conv1D padding; causal otherwise */
  /* Windowed models: steps of the input and output sequence in one window,
     and the zeros before the input a Conv1D reads (its padding). Streaming
     models: 1, 1, 0. */
  uint32_t     in_steps;
  uint32_t     out_steps;
  uint32_t     pad_before;
  size_t       state_size; /* floats per stream, see sw_layer_state_size */
  float*       kernel;           /* [G*U x I], Conv1D [U x K*I] */
  float*       recurrent_kernel; /* [G*U x U] or NULL (Dense) */
  float*       bias;             /* [G*U] */
  float*       recurrent_bias;   /* [G*U] or NULL (Dense) */
  float*       initial_h;        /* [U] or NULL */
  float*       initial_c;        /* [U] or NULL */
} SwLayer;

struct SwModelImpl {
  char*        format;
  char*        path;
  uint32_t     input_width;
  uint32_t     output_width;
  uint32_t     num_layers;
  SwLayer*     layers;
  bool         skip;
  float        input_gain_db;
  float        output_gain_db;
  double       sample_rate;
  uint32_t     num_knobs; /* always input_width - 1 */
  SwKnobSpec*  knobs;     /* names owned by the model */
  uint32_t     num_metadata;
  SwMetaEntry* metadata; /* strings owned by the model */
  uint32_t     window; /* W frames of a windowed model; 0: streaming */
  size_t       state_size;
  size_t       num_params;
  uint64_t     macs_per_frame; /* multiply-adds of one output frame */
  float*       reference_in;  /* [reference_frames][input_width] or NULL */
  float*       reference_out; /* [reference_frames][output_width] */
  size_t       reference_frames;
};

/* State floats a layer keeps per stream. Streaming: [h, c] for LSTM, [h]
   for GRU and SimpleRNN, none for Dense, the last (K-1)*d input frames for
   Conv1D. Windowed: the last W model input frames on layer 0, none on the
   others. Set by sw_model_build. */
size_t
sw_layer_state_size(const SwLayer* layer);

/* Set the format name and source path of a freshly built model. */
SwStatus
sw_model_set_origin(SwModel* model, const char* format, const char* path,
                    SwError* err);

/* Attach the input/output pair a file recorded about itself (copied). */
SwStatus
sw_model_set_reference(SwModel* model, const float* in, const float* out,
                       size_t frames, SwError* err);

#endif
