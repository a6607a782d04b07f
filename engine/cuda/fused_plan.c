#include "fused_plan.h"

#include "error.h"
#include "model_impl.h"

#include <string.h>

/* Copy a row-major [rows][cols] matrix to `dst` as [cols][rows]. */
static void
pack_transposed(float* const dst, const float* const src, const size_t rows,
                const size_t cols)
{
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      dst[c * rows + r] = src[r * cols + c];
    }
  }
}

/* Reserve `count` floats of the weight array; copy `src` there when packing. */
static uint32_t
reserve(SwFusedPlan* const plan, float* const weights, const float* const src,
        const size_t count)
{
  const uint32_t offset = plan->weight_count;
  if (weights && src) {
    memcpy(weights + offset, src, count * sizeof(float));
  }
  plan->weight_count += (uint32_t)count;
  return offset;
}

static uint32_t
max_u32(const uint32_t a, const uint32_t b)
{
  return a > b ? a : b;
}

static bool
is_recurrent(const SwLayerType type)
{
  return type == SW_LAYER_LSTM || type == SW_LAYER_GRU ||
         type == SW_LAYER_SIMPLE_RNN;
}

SwStatus
sw_fused_plan_build(const SwModel* const model, SwFusedPlan* const plan,
                    float* const weights, SwError* const err)
{
  memset(plan, 0, sizeof(*plan));
  if (model->window) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "a windowed model (a whole %u-frame window per "
                        "output frame) runs on the cpu backend only",
                        model->window);
  }
  if (model->num_layers > SW_FUSED_MAX_LAYERS) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "the model has %u layers; the fused kernel takes at "
                        "most %u",
                        model->num_layers, SW_FUSED_MAX_LAYERS);
  }
  /* Offsets are 32-bit on the device. */
  if (model->num_params > (1U << 30)) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "the model has %zu parameters; the fused kernel "
                        "takes at most 2^30",
                        model->num_params);
  }

  plan->num_layers   = model->num_layers;
  plan->input_width  = model->input_width;
  plan->output_width = model->output_width;
  plan->state_size   = (uint32_t)model->state_size;
  plan->max_rows     = max_u32(model->input_width, model->output_width);

  uint32_t src        = SW_FUSED_SRC_INPUT;
  uint32_t src_offset = 0;
  uint32_t next_dense = 0;
  uint32_t state      = 0;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const in  = &model->layers[l];
    SwFusedLayer* const  out = &plan->layers[l];
    const uint32_t       U   = in->units;
    const uint32_t       I   = in->input_width;
    const uint32_t       K   = in->kernel_size;
    out->type                 = (uint32_t)in->type;
    out->input_width          = I;
    out->units                = U;
    out->rows                 = in->gates * U;
    out->activation           = (uint32_t)in->activation;
    out->recurrent_activation = (uint32_t)in->recurrent_activation;
    out->reset_after          = in->gru_reset == SW_GRU_RESET_AFTER;
    out->kernel_size          = K;
    out->dilation             = in->dilation;
    out->history   = in->type == SW_LAYER_CONV1D ? (K - 1U) * in->dilation * I
                                                 : 0U;
    out->state     = state;
    out->src       = src;
    out->src_offset = src_offset;
    out->initial_h = SW_FUSED_NONE;
    out->initial_c = SW_FUSED_NONE;
    state += (uint32_t)in->state_size;

    const uint32_t cols = in->type == SW_LAYER_CONV1D ? K * I : I;
    out->w = reserve(plan, weights, NULL, (size_t)cols * out->rows);
    if (weights) {
      pack_transposed(weights + out->w, in->kernel, out->rows, cols);
    }
    out->bias = reserve(plan, weights, in->bias, out->rows);
    out->r     = SW_FUSED_NONE;
    out->rbias = SW_FUSED_NONE;
    if (is_recurrent(in->type)) {
      out->r = reserve(plan, weights, NULL, (size_t)U * out->rows);
      if (weights) {
        pack_transposed(weights + out->r, in->recurrent_kernel, out->rows, U);
      }
      out->rbias = reserve(plan, weights, in->recurrent_bias, out->rows);
      if (in->initial_h) {
        out->initial_h = reserve(plan, weights, in->initial_h, U);
      }
      if (in->initial_c) {
        out->initial_c = reserve(plan, weights, in->initial_c, U);
      }
      /* GRU: W x and R h kept apart, plus r*h; the others: the gates. */
      plan->scratch_size = max_u32(plan->scratch_size, 2U * out->rows + U);
      src        = SW_FUSED_SRC_STATE;
      src_offset = out->state;
    } else {
      /* Dense and Conv1D write one of two buffers, never the one they
         read. Conv1D keeps its shifted history in scratch meanwhile. */
      out->dst   = next_dense;
      src        = next_dense ? SW_FUSED_SRC_DENSE1 : SW_FUSED_SRC_DENSE0;
      next_dense = 1U - next_dense;
      plan->dense_size   = max_u32(plan->dense_size, U);
      plan->scratch_size = max_u32(plan->scratch_size, out->history);
      src_offset         = 0;
    }
    plan->max_rows = max_u32(plan->max_rows, max_u32(out->rows, out->history));
  }
  plan->out_src    = src;
  plan->out_offset = src_offset;
  plan->scratch_size = max_u32(plan->scratch_size, 1U);
  plan->dense_size   = max_u32(plan->dense_size, 1U);
  return SW_SUCCESS;
}
