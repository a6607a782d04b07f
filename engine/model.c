/* The canonical model: accessors and lifetime. Construction and validation
   are in model_build.c. */

#include "error.h"
#include "model_impl.h"

#include <stdlib.h>
#include <string.h>

size_t
sw_layer_state_size(const SwLayer* const layer)
{
  return layer->state_size;
}

static char*
copy_string(const char* const s)
{
  const size_t n    = strlen(s) + 1U;
  char* const  copy = (char*)malloc(n);
  if (copy) {
    memcpy(copy, s, n);
  }
  return copy;
}

SwStatus
sw_model_set_origin(SwModel* const model, const char* const format,
                    const char* const path, SwError* const err)
{
  char* const new_format = copy_string(format);
  char* const new_path   = copy_string(path ? path : "");
  if (!new_format || !new_path) {
    free(new_format);
    free(new_path);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  free(model->format);
  free(model->path);
  model->format = new_format;
  model->path   = new_path;
  return SW_SUCCESS;
}

void
sw_model_free(SwModel* const model)
{
  if (!model) {
    return;
  }
  if (model->layers) {
    for (uint32_t i = 0; i < model->num_layers; ++i) {
      SwLayer* const layer = &model->layers[i];
      free(layer->kernel);
      free(layer->recurrent_kernel);
      free(layer->bias);
      free(layer->recurrent_bias);
      free(layer->initial_h);
      free(layer->initial_c);
    }
  }
  if (model->knobs) {
    for (uint32_t i = 0; i < model->num_knobs; ++i) {
      free((char*)model->knobs[i].name);
    }
  }
  if (model->metadata) {
    for (uint32_t i = 0; i < model->num_metadata; ++i) {
      free((char*)model->metadata[i].key);
      free((char*)model->metadata[i].value);
    }
  }
  free(model->reference_in);
  free(model->reference_out);
  free(model->layers);
  free(model->knobs);
  free(model->metadata);
  free(model->format);
  free(model->path);
  free(model);
}

void
sw_model_info(const SwModel* const model, SwModelInfo* const info)
{
  info->format         = model->format;
  info->path           = model->path;
  info->input_width    = model->input_width;
  info->output_width   = model->output_width;
  info->num_layers     = model->num_layers;
  info->num_knobs      = model->num_knobs;
  info->skip           = model->skip;
  info->input_gain_db  = model->input_gain_db;
  info->output_gain_db = model->output_gain_db;
  info->sample_rate    = model->sample_rate;
  info->state_size     = model->state_size;
  info->num_params     = model->num_params;
  info->num_metadata   = model->num_metadata;
  info->window         = model->window;
  info->macs_per_frame = model->macs_per_frame;
}

SwStatus
sw_model_layer(const SwModel* const model, const uint32_t index,
               SwLayerInfo* const info)
{
  if (!model || !info || index >= model->num_layers) {
    return SW_ERR_BAD_ARG;
  }
  const SwLayer* const layer  = &model->layers[index];
  info->type                 = layer->type;
  info->input_width          = layer->input_width;
  info->units                = layer->units;
  info->gates                = layer->gates;
  info->activation           = layer->activation;
  info->recurrent_activation = layer->recurrent_activation;
  info->gru_reset            = layer->gru_reset;
  info->use_bias             = layer->use_bias;
  info->kernel_size          = layer->kernel_size;
  info->dilation             = layer->dilation;
  info->stride               = layer->stride;
  info->padding              = layer->padding;
  info->steps                = layer->out_steps;
  info->state_size           = sw_layer_state_size(layer);
  info->kernel               = layer->kernel;
  info->recurrent_kernel     = layer->recurrent_kernel;
  info->bias                 = layer->bias;
  info->recurrent_bias       = layer->recurrent_bias;
  info->initial_h            = layer->initial_h;
  info->initial_c            = layer->initial_c;
  return SW_SUCCESS;
}

SwStatus
sw_model_knob(const SwModel* const model, const uint32_t index,
              SwKnobSpec* const knob)
{
  if (!model || !knob || index >= model->num_knobs) {
    return SW_ERR_BAD_ARG;
  }
  *knob = model->knobs[index];
  return SW_SUCCESS;
}

SwStatus
sw_model_metadata(const SwModel* const model, const uint32_t index,
                  SwMetaEntry* const entry)
{
  if (!model || !entry || index >= model->num_metadata) {
    return SW_ERR_BAD_ARG;
  }
  *entry = model->metadata[index];
  return SW_SUCCESS;
}

const char*
sw_model_meta_get(const SwModel* const model, const char* const key)
{
  if (!model || !key) {
    return NULL;
  }
  for (uint32_t i = 0; i < model->num_metadata; ++i) {
    if (!strcmp(model->metadata[i].key, key)) {
      return model->metadata[i].value;
    }
  }
  return NULL;
}

SwStatus
sw_model_set_reference(SwModel* const model, const float* const in,
                       const float* const out, const size_t frames,
                       SwError* const err)
{
  const size_t in_count  = frames * model->input_width;
  const size_t out_count = frames * model->output_width;
  float* const new_in    = (float*)malloc((in_count ? in_count : 1U) *
                                          sizeof(float));
  float* const new_out   = (float*)malloc((out_count ? out_count : 1U) *
                                          sizeof(float));
  if (!new_in || !new_out) {
    free(new_in);
    free(new_out);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  memcpy(new_in, in, in_count * sizeof(float));
  memcpy(new_out, out, out_count * sizeof(float));
  free(model->reference_in);
  free(model->reference_out);
  model->reference_in     = new_in;
  model->reference_out    = new_out;
  model->reference_frames = frames;
  return SW_SUCCESS;
}

SwStatus
sw_model_reference(const SwModel* const model, const float** const in,
                   const float** const out, size_t* const frames)
{
  if (!model || !in || !out || !frames) {
    return SW_ERR_BAD_ARG;
  }
  if (!model->reference_in) {
    return SW_ERR_UNSUPPORTED;
  }
  *in     = model->reference_in;
  *out    = model->reference_out;
  *frames = model->reference_frames;
  return SW_SUCCESS;
}
