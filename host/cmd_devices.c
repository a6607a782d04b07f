/*
  statewave devices: the audio backend's host APIs and their devices, with
  channels and default rates: what `statewave run --host-api --device`
  takes.
*/

#include "cli.h"
#include "live/audio_backend.h"

#include <cjson/cJSON.h>

#include <getopt.h>
#include <string.h>

void
cmd_devices_usage(FILE* stream)
{
  fputs(
    "Usage: statewave devices [OPTION]...\n"
    "\n"
    "List the audio host APIs PortAudio reaches here (ALSA, OSS, and JACK\n"
    "while a JACK server runs) and their devices: index, name, input and\n"
    "output channels, default sample rate and latencies, and which are the\n"
    "defaults. 'statewave run --host-api ID --device NAME|INDEX' takes\n"
    "them.\n"
    "\n"
    "Options:\n"
    "  -j, --json      print one JSON object {\"backend\", \"host_apis\": [{name,\n"
    "                  id, default, devices: [{index, name, inputs, outputs,\n"
    "                  default_sample_rate, low_input_latency,\n"
    "                  low_output_latency, default_input, default_output}]}]}\n"
    "  -v, --verbose   also print what the audio library said while looking\n"
    "  -h, --help      print this help and exit\n"
    "\n"
    "Exit status: 0 on success (also when no device is found), 1 when the\n"
    "audio library fails, 2 on bad usage.\n",
    stream);
}

static int
parse_options(int argc, char** argv, bool* json)
{
  static const struct option long_options[] = {
    {"json", no_argument, NULL, 'j'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const CliCommand* const command = cli_command("devices");
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":jvh", long_options, NULL)) != -1) {
    switch (opt) {
    case 'j':
      *json = true;
      break;
    case 'v':
      cli_set_verbose(true);
      break;
    case 'h':
      cmd_devices_usage(stdout);
      return -1;
    default:
      return cli_option_error(command, opt, argv);
    }
  }
  if (optind < argc) {
    return cli_usage_error(command, "unexpected argument '%s'", argv[optind]);
  }
  return CLI_EXIT_SUCCESS;
}

static cJSON*
describe(const AudioHostApi* const apis, const uint32_t num_apis)
{
  cJSON* const root = cJSON_CreateObject();
  cJSON* const list = cJSON_CreateArray();
  bool         ok   = root && list &&
             cJSON_AddStringToObject(root, "backend", audio_backend_version()) &&
             cJSON_AddItemToObject(root, "host_apis", list);
  if (!ok) {
    cJSON_Delete(list);
  }
  for (uint32_t a = 0; ok && a < num_apis; ++a) {
    const AudioHostApi* const api     = &apis[a];
    cJSON* const              item    = cJSON_CreateObject();
    cJSON* const              devices = cJSON_CreateArray();
    ok = item && devices && cJSON_AddItemToArray(list, item);
    if (!ok) {
      cJSON_Delete(item);
      cJSON_Delete(devices);
      break;
    }
    ok = cJSON_AddStringToObject(item, "name", api->name) &&
         cJSON_AddStringToObject(item, "id", api->id) &&
         cJSON_AddBoolToObject(item, "default", api->is_default) &&
         cJSON_AddItemToObject(item, "devices", devices);
    if (!ok) {
      cJSON_Delete(devices);
    }
    for (uint32_t d = 0; ok && d < api->num_devices; ++d) {
      const AudioDevice* const dev = &api->devices[d];
      cJSON* const             obj = cJSON_CreateObject();
      ok = obj && cJSON_AddItemToArray(devices, obj);
      if (!ok) {
        cJSON_Delete(obj);
        break;
      }
      ok = cJSON_AddNumberToObject(obj, "index", dev->index) &&
           cJSON_AddStringToObject(obj, "name", dev->name) &&
           cJSON_AddNumberToObject(obj, "inputs", dev->inputs) &&
           cJSON_AddNumberToObject(obj, "outputs", dev->outputs) &&
           cJSON_AddNumberToObject(obj, "default_sample_rate",
                                   dev->default_rate) &&
           cJSON_AddNumberToObject(obj, "low_input_latency",
                                   dev->low_input_latency) &&
           cJSON_AddNumberToObject(obj, "low_output_latency",
                                   dev->low_output_latency) &&
           cJSON_AddBoolToObject(obj, "default_input", dev->default_input) &&
           cJSON_AddBoolToObject(obj, "default_output", dev->default_output);
    }
  }
  if (!ok) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

static void
print_text(const AudioHostApi* const apis, const uint32_t num_apis)
{
  printf("%s\n", audio_backend_version());
  for (uint32_t a = 0; a < num_apis; ++a) {
    const AudioHostApi* const api = &apis[a];
    printf("%s (%s)%s: %u device%s\n", api->name, api->id,
           api->is_default ? ", the default" : "", api->num_devices,
           api->num_devices == 1 ? "" : "s");
    for (uint32_t d = 0; d < api->num_devices; ++d) {
      const AudioDevice* const dev = &api->devices[d];
      char defaults[64]            = "";
      if (dev->default_input || dev->default_output) {
        snprintf(defaults, sizeof(defaults), "  (default %s%s%s)",
                 dev->default_input ? "input" : "",
                 dev->default_input && dev->default_output ? " and " : "",
                 dev->default_output ? "output" : "");
      }
      printf("  %3d  %-32s %3d in %3d out  %6.0f Hz  latency %.1f/%.1f ms%s\n",
             dev->index, dev->name, dev->inputs, dev->outputs,
             dev->default_rate, 1000.0 * dev->low_input_latency,
             1000.0 * dev->low_output_latency, defaults);
    }
  }
}

int
cmd_devices(int argc, char** argv)
{
  bool json   = false;
  int  result = parse_options(argc, argv, &json);
  if (result) {
    return result < 0 ? CLI_EXIT_SUCCESS : result;
  }
  char                err[1024];
  AudioBackend* const audio = audio_backend_new("statewave", err, sizeof(err));
  if (!audio) {
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }
  if (cli_verbose() && audio_backend_noise(audio)[0]) {
    fprintf(stderr, "statewave: the audio library said:\n%s",
            audio_backend_noise(audio));
  }
  uint32_t                  num_apis = 0;
  const AudioHostApi* const apis     = audio_backend_host_apis(audio, &num_apis);
  uint32_t                  devices  = 0;
  bool                      jack     = false;
  for (uint32_t a = 0; a < num_apis; ++a) {
    devices += apis[a].num_devices;
    jack = jack || !strcmp(apis[a].id, "jack");
  }
  result = CLI_EXIT_SUCCESS;
  if (json) {
    cJSON* const root = describe(apis, num_apis);
    char* const  text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (text) {
      puts(text);
      cJSON_free(text);
    } else {
      cli_error("out of memory describing the devices");
      result = CLI_EXIT_FAILURE;
    }
  } else {
    print_text(apis, num_apis);
  }
  if (!devices) {
    cli_warning("no audio device found%s", jack ? "" : "; JACK shows up only "
                "while a JACK server runs: start one, e.g. 'jackd -d dummy "
                "-r 48000 -p 128' without a sound card");
  }
  audio_backend_free(audio);
  return result;
}
