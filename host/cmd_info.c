/*
  statewave info: what a model file contains, as text or as one JSON object.
*/

#include "cli.h"

#include <cjson/cJSON.h>

#include <getopt.h>
#include <math.h>
#include <stdlib.h>

/* --verify passes when the model's output stays this close to the
   reference the file recorded (AIDA-X's own pairs match within ~2e-7;
   1e-4 leaves room for references made on other hardware, e.g. TF32). */
#define VERIFY_TOLERANCE 1e-4

void
cmd_info_usage(FILE* stream)
{
  fputs(
    "Usage: statewave info [OPTION]... FILE\n"
    "\n"
    "Describe the model in FILE: its format, input width (the audio in\n"
    "column 0, then the knobs with names, ranges and defaults), output\n"
    "width, each layer (type, input width, units, activations, GRU reset\n"
    "variant, parameters, state size), skip, gains, training sample rate,\n"
    "total parameters, state floats per stream and metadata.\n"
    "\n"
    "Options:\n"
    "  -j, --json      print one JSON object instead of text; its keys are\n"
    "                  format, path, input_width, output_width, knobs,\n"
    "                  layers, skip, input_gain_db, output_gain_db,\n"
    "                  sample_rate (null when unknown), params, state_size,\n"
    "                  metadata\n"
    "  -V, --verify    run the input/output pair the file recorded about\n"
    "                  itself (RTNeural/AIDA-X input_batch/output_batch)\n"
    "                  through a fresh CPU engine (one stream, knob\n"
    "                  columns as given) and print the max abs error and\n"
    "                  the frames compared (with --json: a \"verify\"\n"
    "                  object: frames, max_abs_error, tolerance, passed);\n"
    "                  fails when the file has no such pair or the error\n"
    "                  exceeds 1e-4\n"
    "      --arch FILE the architecture of a Keras weights-only .h5 FILE\n"
    "                  (model.save_weights): a JSON spec, see README\n"
    "  -v, --verbose   also print library information\n"
    "  -h, --help      print this help and exit\n"
    "\n"
    "Exit status: 0 on success, 1 on a bad file (or, with --verify, no\n"
    "reference pair or an error above 1e-4), 2 on bad usage.\n",
    stream);
}

static bool
is_recurrent(SwLayerType type)
{
  return type == SW_LAYER_LSTM || type == SW_LAYER_GRU ||
         type == SW_LAYER_SIMPLE_RNN;
}

static bool
has_gates(SwLayerType type)
{
  return type == SW_LAYER_LSTM || type == SW_LAYER_GRU;
}

static const char*
padding_name(SwPadding padding)
{
  switch (padding) {
  case SW_PADDING_CAUSAL:
    return "causal";
  case SW_PADDING_VALID:
    return "valid";
  case SW_PADDING_SAME:
    return "same";
  }
  return "unknown";
}

static const char*
gru_reset_name(SwGruReset reset)
{
  return (reset == SW_GRU_RESET_BEFORE) ? "before" : "after";
}

/* ------------------------------------------------------------------------ */
/* Text                                                                     */
/* ------------------------------------------------------------------------ */

static void
print_text(const SwModel* model, const char* path)
{
  SwModelInfo info;
  sw_model_info(model, &info);

  printf("path:          %s\n", info.path[0] ? info.path : path);
  printf("format:        %s\n", info.format);
  printf("input width:   %u (audio in column 0, %u knob%s)\n",
         info.input_width,
         info.num_knobs,
         (info.num_knobs == 1) ? "" : "s");
  for (uint32_t k = 0; k < info.num_knobs; ++k) {
    SwKnobSpec knob;
    if (sw_model_knob(model, k, &knob) == SW_SUCCESS) {
      char label[32];
      snprintf(label, sizeof(label), "  knob %u:", k + 1U);
      printf("%-15s%s, range %g..%g, default %g\n",
             label,
             knob.name ? knob.name : "(unnamed)",
             (double)knob.min,
             (double)knob.max,
             (double)knob.default_value);
    }
  }
  printf("output width:  %u\n", info.output_width);

  printf("layers:        %u\n", info.num_layers);
  for (uint32_t l = 0; l < info.num_layers; ++l) {
    SwLayerInfo layer;
    if (sw_model_layer(model, l, &layer) != SW_SUCCESS) {
      continue;
    }
    char label[32];
    snprintf(label, sizeof(label), "  layer %u:", l);
    printf("%-15s%s, input %u, %u unit%s, activation %s",
           label,
           sw_layer_type_name(layer.type),
           layer.input_width,
           layer.units,
           (layer.units == 1) ? "" : "s",
           sw_activation_name(layer.activation));
    if (has_gates(layer.type)) {
      printf(", recurrent activation %s",
             sw_activation_name(layer.recurrent_activation));
    }
    if (layer.type == SW_LAYER_GRU) {
      printf(", reset %s", gru_reset_name(layer.gru_reset));
    }
    if (layer.type == SW_LAYER_CONV1D) {
      printf(", kernel %u, dilation %u, stride %u, padding %s",
             layer.kernel_size, layer.dilation, layer.stride,
             padding_name(layer.padding));
    }
    if (info.window && layer.steps) {
      printf(", %u step%s per window", layer.steps,
             layer.steps == 1 ? "" : "s");
    }
    if (!layer.use_bias) {
      printf(", no bias");
    }
    printf(
      ", %zu params, state %zu\n", cli_layer_params(&layer), layer.state_size);
  }

  printf("skip:          %s\n",
         info.skip ? "yes (input column 0 is added to output column 0)" : "no");
  printf("input gain:    %g dB\n", (double)info.input_gain_db);
  printf("output gain:   %g dB\n", (double)info.output_gain_db);
  if (info.sample_rate > 0.0) {
    printf("sample rate:   %g Hz\n", info.sample_rate);
  } else {
    printf("sample rate:   unknown\n");
  }
  printf("params:        %zu\n", info.num_params);
  printf("state size:    %zu floats per stream\n", info.state_size);
  if (info.window) {
    printf("window:        %u frames (each output runs the whole model over the "
           "last %u input frames)\n",
           info.window, info.window);
  }
  printf("cost:          %llu multiply-adds per frame and stream\n",
         (unsigned long long)info.macs_per_frame);

  printf("metadata:      %u entr%s\n",
         info.num_metadata,
         (info.num_metadata == 1) ? "y" : "ies");
  for (uint32_t m = 0; m < info.num_metadata; ++m) {
    SwMetaEntry entry;
    if (sw_model_metadata(model, m, &entry) == SW_SUCCESS) {
      printf("  %s: %s\n", entry.key, entry.value);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Verify                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t frames;
  double max_abs_error;
  bool   passed;
} VerifyResult;

/* Run the file's reference input through a fresh one-stream CPU engine and
   compare with its reference output. False (with a message) when there is
   no pair or the engine cannot run it. */
static bool
verify_model(const SwModel* model, const char* path, VerifyResult* result)
{
  const float* in     = NULL;
  const float* want   = NULL;
  size_t       frames = 0;
  if (sw_model_reference(model, &in, &want, &frames) != SW_SUCCESS) {
    cli_error("%s: the model has no reference input/output pair (such as "
              "RTNeural/AIDA-X input_batch/output_batch); nothing to verify",
              path);
    return false;
  }
  if (frames > UINT32_MAX) {
    cli_error("%s: the reference pair has %zu frames; at most %u can be "
              "verified", path, frames, (unsigned)UINT32_MAX);
    return false;
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = SW_BACKEND_CPU;
  config.streams        = 1;
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    cli_error("%s: %s", path, err.message);
    return false;
  }
  const size_t count = frames * info.output_width;
  float* const got   = (float*)calloc(count ? count : 1U, sizeof(float));
  SwStatus     st    = got ? sw_engine_process_frames(engine, in, got,
                                                      (uint32_t)frames)
                           : SW_ERR_NO_MEMORY;
  sw_engine_free(engine);
  if (st != SW_SUCCESS) {
    free(got);
    cli_error("%s: running the reference input: %s", path, sw_strerror(st));
    return false;
  }
  double worst = 0.0;
  for (size_t i = 0; i < count; ++i) {
    const double error = fabs((double)got[i] - (double)want[i]);
    if (!(error <= worst)) {
      worst = error; /* a NaN is the worst error */
    }
  }
  free(got);
  result->frames        = frames;
  result->max_abs_error = worst;
  result->passed        = worst <= VERIFY_TOLERANCE;
  return true;
}

static bool
add_verify(cJSON* root, const VerifyResult* result)
{
  cJSON* const verify = cJSON_AddObjectToObject(root, "verify");
  return verify &&
         cJSON_AddNumberToObject(verify, "frames", (double)result->frames) &&
         cJSON_AddNumberToObject(
           verify, "max_abs_error", result->max_abs_error) &&
         cJSON_AddNumberToObject(verify, "tolerance", VERIFY_TOLERANCE) &&
         cJSON_AddBoolToObject(verify, "passed", result->passed);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

static bool
add_knobs(cJSON* root, const SwModel* model, uint32_t num_knobs)
{
  cJSON* const knobs = cJSON_AddArrayToObject(root, "knobs");
  if (!knobs) {
    return false;
  }

  for (uint32_t k = 0; k < num_knobs; ++k) {
    SwKnobSpec knob;
    if (sw_model_knob(model, k, &knob) != SW_SUCCESS) {
      continue;
    }

    cJSON* const item = cJSON_CreateObject();
    if (!item || !cJSON_AddItemToArray(knobs, item)) {
      cJSON_Delete(item);
      return false;
    }

    // The index --param takes, and the input column it feeds.
    if (!cJSON_AddNumberToObject(item, "index", k + 1.0) ||
        !cJSON_AddNumberToObject(item, "column", k + 1.0) ||
        !(knob.name ? cJSON_AddStringToObject(item, "name", knob.name)
                    : cJSON_AddNullToObject(item, "name")) ||
        !cJSON_AddNumberToObject(item, "min", (double)knob.min) ||
        !cJSON_AddNumberToObject(item, "max", (double)knob.max) ||
        !cJSON_AddNumberToObject(item, "default", (double)knob.default_value)) {
      return false;
    }
  }
  return true;
}

static bool
add_layer(cJSON* layers, const SwLayerInfo* layer)
{
  cJSON* const item = cJSON_CreateObject();
  if (!item || !cJSON_AddItemToArray(layers, item)) {
    cJSON_Delete(item);
    return false;
  }

  if (!cJSON_AddStringToObject(
        item, "type", sw_layer_type_name(layer->type)) ||
      !cJSON_AddNumberToObject(item, "input_width", layer->input_width) ||
      !cJSON_AddNumberToObject(item, "units", layer->units) ||
      !cJSON_AddNumberToObject(item, "gates", layer->gates) ||
      !cJSON_AddStringToObject(
        item, "activation", sw_activation_name(layer->activation))) {
    return false;
  }

  if (has_gates(layer->type) &&
      !cJSON_AddStringToObject(
        item,
        "recurrent_activation",
        sw_activation_name(layer->recurrent_activation))) {
    return false;
  }

  if (layer->type == SW_LAYER_GRU &&
      !cJSON_AddStringToObject(
        item, "gru_reset", gru_reset_name(layer->gru_reset))) {
    return false;
  }

  if (layer->type == SW_LAYER_CONV1D &&
      (!cJSON_AddNumberToObject(item, "kernel_size", layer->kernel_size) ||
       !cJSON_AddNumberToObject(item, "dilation", layer->dilation) ||
       !cJSON_AddNumberToObject(item, "stride", layer->stride) ||
       !cJSON_AddStringToObject(item, "padding", padding_name(layer->padding)))) {
    return false;
  }

  return cJSON_AddBoolToObject(item, "recurrent", is_recurrent(layer->type)) &&
         cJSON_AddBoolToObject(item, "use_bias", layer->use_bias) &&
         cJSON_AddNumberToObject(
           item, "params", (double)cli_layer_params(layer)) &&
         cJSON_AddNumberToObject(item, "state_size", (double)layer->state_size);
}

static bool
add_metadata(cJSON* root, const SwModel* model, uint32_t num_metadata)
{
  cJSON* const metadata = cJSON_AddObjectToObject(root, "metadata");
  if (!metadata) {
    return false;
  }

  for (uint32_t m = 0; m < num_metadata; ++m) {
    SwMetaEntry entry;
    if (sw_model_metadata(model, m, &entry) == SW_SUCCESS &&
        !cJSON_AddStringToObject(metadata, entry.key, entry.value)) {
      return false;
    }
  }
  return true;
}

/** The whole description, or NULL when out of memory. */
static cJSON*
describe(const SwModel* model, const char* path)
{
  SwModelInfo info;
  sw_model_info(model, &info);

  cJSON* const root = cJSON_CreateObject();
  if (!root) {
    return NULL;
  }

  bool ok =
    cJSON_AddStringToObject(root, "format", info.format) &&
    cJSON_AddStringToObject(root, "path", info.path[0] ? info.path : path) &&
    cJSON_AddNumberToObject(root, "input_width", info.input_width) &&
    cJSON_AddNumberToObject(root, "output_width", info.output_width) &&
    add_knobs(root, model, info.num_knobs);

  cJSON* const layers = ok ? cJSON_AddArrayToObject(root, "layers") : NULL;
  ok                  = ok && layers;
  for (uint32_t l = 0; ok && l < info.num_layers; ++l) {
    SwLayerInfo layer;
    ok = sw_model_layer(model, l, &layer) == SW_SUCCESS &&
         add_layer(layers, &layer);
  }

  ok = ok && cJSON_AddBoolToObject(root, "skip", info.skip) &&
       cJSON_AddNumberToObject(
         root, "input_gain_db", (double)info.input_gain_db) &&
       cJSON_AddNumberToObject(
         root, "output_gain_db", (double)info.output_gain_db) &&
       ((info.sample_rate > 0.0)
          ? cJSON_AddNumberToObject(root, "sample_rate", info.sample_rate)
          : cJSON_AddNullToObject(root, "sample_rate")) &&
       cJSON_AddNumberToObject(root, "params", (double)info.num_params) &&
       cJSON_AddNumberToObject(root, "state_size", (double)info.state_size) &&
       cJSON_AddNumberToObject(root, "window", info.window) &&
       cJSON_AddNumberToObject(
         root, "macs_per_frame", (double)info.macs_per_frame) &&
       add_metadata(root, model, info.num_metadata);

  if (!ok) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

static int
print_json(const SwModel* model, const char* path, const VerifyResult* verify)
{
  cJSON* root = describe(model, path);
  if (root && verify && !add_verify(root, verify)) {
    cJSON_Delete(root);
    root = NULL;
  }
  char* const text = root ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!text) {
    cli_error("%s: out of memory describing the model", path);
    return CLI_EXIT_FAILURE;
  }

  puts(text);
  cJSON_free(text);
  return CLI_EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Command                                                                  */
/* ------------------------------------------------------------------------ */

int
cmd_info(int argc, char** argv)
{
  static const struct option long_options[] = {
    {"json", no_argument, NULL, 'j'},
    {"arch", required_argument, NULL, CLI_OPT_ARCH},
    {"verbose", no_argument, NULL, 'v'},
    {"verify", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };

  const CliCommand* const command = cli_command("info");
  bool                    json    = false;
  bool                    verify  = false;
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":jvVh", long_options, NULL)) != -1) {
    switch (opt) {
    case 'j':
      json = true;
      break;
    case CLI_OPT_ARCH:
      cli_set_arch(optarg);
      break;
    case 'v':
      cli_set_verbose(true);
      break;
    case 'V':
      verify = true;
      break;
    case 'h':
      cmd_info_usage(stdout);
      return CLI_EXIT_SUCCESS;
    default:
      return cli_option_error(command, opt, argv);
    }
  }

  if (optind >= argc) {
    return cli_usage_error(command, "missing FILE");
  }
  if (argc - optind > 1) {
    return cli_usage_error(
      command, "unexpected argument '%s'", argv[optind + 1]);
  }

  const char* const path  = argv[optind];
  SwModel* const    model = cli_load_model(path);
  if (!model) {
    return CLI_EXIT_FAILURE;
  }

  VerifyResult checked  = {0, 0.0, false};
  const bool   verified = verify && verify_model(model, path, &checked);
  int          result   = CLI_EXIT_SUCCESS;
  if (json) {
    result = print_json(model, path, verified ? &checked : NULL);
  } else {
    print_text(model, path);
    if (verified) {
      printf("verify:        max abs error %.3g over %zu frames of the "
             "file's reference (tolerance %g): %s\n",
             checked.max_abs_error, checked.frames, VERIFY_TOLERANCE,
             checked.passed ? "ok" : "FAILED");
    }
  }
  if (verify && (!verified || !checked.passed)) {
    if (verified) {
      cli_error("%s: the output differs from the file's reference by %g, "
                "more than %g", path, checked.max_abs_error,
                VERIFY_TOLERANCE);
    }
    result = CLI_EXIT_FAILURE;
  }

  if (fflush(stdout) || ferror(stdout)) {
    cli_error("cannot write to stdout");
    result = CLI_EXIT_FAILURE;
  }

  sw_model_free(model);
  return result;
}
