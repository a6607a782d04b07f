/* The audio backend on PortAudio (see audio_backend.h): ALSA, OSS and JACK
   on Debian. The JACK client is named before Pa_Initialize opens it. */

#define _GNU_SOURCE /* strcasestr */

#include "audio_backend.h"

#include <portaudio.h>
#include <pa_jack.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define NOISE_BYTES 16384U

struct AudioBackend {
  char          client_name[64];
  bool          initialized;
  PaStream*     stream;
  bool          started;
  /* The stream ended by itself (the JACK server went away): PortAudio
     19.6's JACK host would then wait 10 minutes in Pa_StopStream,
     Pa_CloseStream and Pa_Terminate for a callback that never comes, so
     they are left to the process's exit. */
  bool          abandoned;
  AudioHostApi* apis;
  uint32_t      num_apis;
  AudioDevice*  devices; /* all of them, grouped by host API */
  char          noise[NOISE_BYTES];

  AudioProcessFunc process;
  void*            user;
  uint32_t         channels;
};

/* ------------------------------------------------------------------------ */
/* What the libraries print                                                 */
/* ------------------------------------------------------------------------ */

/* ALSA and libjack print to stderr while PortAudio probes them ("ALSA lib
   ... cannot find card", "Cannot connect to server socket"): caught in a
   temporary file around those calls, kept for -v and error messages. */
typedef struct {
  FILE* file;
  int   saved_fd;
} Quiet;

static Quiet
quiet_begin(void)
{
  Quiet quiet = {NULL, -1};
  fflush(stderr);
  quiet.file = tmpfile();
  if (quiet.file) {
    quiet.saved_fd = dup(STDERR_FILENO);
    if (quiet.saved_fd < 0 || dup2(fileno(quiet.file), STDERR_FILENO) < 0) {
      if (quiet.saved_fd >= 0) {
        close(quiet.saved_fd);
      }
      fclose(quiet.file);
      quiet.file     = NULL;
      quiet.saved_fd = -1;
    }
  }
  return quiet;
}

static void
quiet_end(Quiet* const quiet, char* const noise, const size_t size)
{
  if (!quiet->file) {
    return;
  }
  fflush(stderr);
  dup2(quiet->saved_fd, STDERR_FILENO);
  close(quiet->saved_fd);
  rewind(quiet->file);
  const size_t used = strlen(noise);
  if (used + 1U < size) {
    const size_t n = fread(noise + used, 1, size - used - 1U, quiet->file);
    noise[used + n] = '\0';
  }
  fclose(quiet->file);
  quiet->file = NULL;
}

/* ------------------------------------------------------------------------ */
/* Host APIs and devices                                                    */
/* ------------------------------------------------------------------------ */

static const char*
host_api_id(const PaHostApiTypeId type)
{
  switch (type) {
  case paALSA: return "alsa";
  case paOSS: return "oss";
  case paJACK: return "jack";
  case paCoreAudio: return "coreaudio";
  case paDirectSound: return "directsound";
  case paMME: return "mme";
  case paASIO: return "asio";
  case paWASAPI: return "wasapi";
  case paWDMKS: return "wdmks";
  case paAudioScienceHPI: return "asihpi";
  default: return "other";
  }
}

static bool
collect(AudioBackend* const backend)
{
  const PaHostApiIndex num_apis = Pa_GetHostApiCount();
  const PaDeviceIndex  num_devs = Pa_GetDeviceCount();
  if (num_apis < 0 || num_devs < 0) {
    return false;
  }
  backend->apis = (AudioHostApi*)calloc((size_t)num_apis + 1U,
                                        sizeof(AudioHostApi));
  backend->devices = (AudioDevice*)calloc((size_t)num_devs + 1U,
                                          sizeof(AudioDevice));
  if (!backend->apis || !backend->devices) {
    return false;
  }
  const PaHostApiIndex default_api = Pa_GetDefaultHostApi();
  uint32_t             placed      = 0;
  for (PaHostApiIndex a = 0; a < num_apis; ++a) {
    const PaHostApiInfo* const info = Pa_GetHostApiInfo(a);
    AudioHostApi* const        api  = &backend->apis[a];
    snprintf(api->name, sizeof(api->name), "%s", info ? info->name : "?");
    snprintf(api->id, sizeof(api->id), "%s",
             info ? host_api_id(info->type) : "other");
    api->is_default = a == default_api;
    api->devices    = backend->devices + placed;
    for (PaDeviceIndex d = 0; d < num_devs; ++d) {
      const PaDeviceInfo* const dev = Pa_GetDeviceInfo(d);
      if (!dev || dev->hostApi != a) {
        continue;
      }
      AudioDevice* const out = &backend->devices[placed++];
      out->index             = d;
      snprintf(out->name, sizeof(out->name), "%s", dev->name);
      out->inputs             = dev->maxInputChannels;
      out->outputs            = dev->maxOutputChannels;
      out->default_rate       = dev->defaultSampleRate;
      out->low_input_latency  = dev->defaultLowInputLatency;
      out->low_output_latency = dev->defaultLowOutputLatency;
      out->default_input      = info && info->defaultInputDevice == d;
      out->default_output     = info && info->defaultOutputDevice == d;
      ++api->num_devices;
    }
  }
  backend->num_apis = (uint32_t)num_apis;
  return true;
}

AudioBackend*
audio_backend_new(const char* const client_name, char* const err,
                  const size_t err_size)
{
  AudioBackend* const backend = (AudioBackend*)calloc(1, sizeof(AudioBackend));
  if (!backend) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  /* PortAudio keeps the pointer: it must outlive Pa_Initialize. */
  snprintf(backend->client_name, sizeof(backend->client_name), "%s",
           client_name);
  PaJack_SetClientName(backend->client_name);

  Quiet         quiet  = quiet_begin();
  const PaError status = Pa_Initialize();
  quiet_end(&quiet, backend->noise, sizeof(backend->noise));
  if (status != paNoError) {
    snprintf(err, err_size, "PortAudio failed to start: %s",
             Pa_GetErrorText(status));
    free(backend);
    return NULL;
  }
  backend->initialized = true;
  if (!collect(backend)) {
    snprintf(err, err_size, "PortAudio failed to list its devices");
    audio_backend_free(backend);
    return NULL;
  }
  return backend;
}

void
audio_backend_free(AudioBackend* const backend)
{
  if (!backend) {
    return;
  }
  audio_backend_stop(backend);
  if (backend->stream && !backend->abandoned) {
    Pa_CloseStream(backend->stream);
  }
  if (backend->initialized && !backend->abandoned) {
    Quiet quiet = quiet_begin();
    Pa_Terminate();
    quiet_end(&quiet, backend->noise, sizeof(backend->noise));
  }
  free(backend->apis);
  free(backend->devices);
  free(backend);
}

const char*
audio_backend_version(void)
{
  const PaVersionInfo* const info = Pa_GetVersionInfo();
  return info && info->versionText ? info->versionText : Pa_GetVersionText();
}

const char*
audio_backend_noise(const AudioBackend* const backend)
{
  return backend->noise;
}

const AudioHostApi*
audio_backend_host_apis(const AudioBackend* const backend,
                        uint32_t* const count)
{
  *count = backend->num_apis;
  return backend->apis;
}

/* ------------------------------------------------------------------------ */
/* Choosing                                                                 */
/* ------------------------------------------------------------------------ */

/* "ALSA (alsa): no device; JACK Audio Connection Kit (jack): system" */
static void
describe_found(const AudioBackend* const backend, char* const out,
               const size_t size)
{
  size_t used = 0;
  out[0]      = '\0';
  if (!backend->num_apis) {
    snprintf(out, size, "PortAudio found no host API");
    return;
  }
  used += (size_t)snprintf(out, size, "PortAudio found ");
  for (uint32_t a = 0; a < backend->num_apis && used < size; ++a) {
    const AudioHostApi* const api = &backend->apis[a];
    used += (size_t)snprintf(out + used, size - used, "%s%s (%s): ",
                             a ? "; " : "", api->name, api->id);
    if (!api->num_devices && used < size) {
      used += (size_t)snprintf(out + used, size - used, "no device");
    }
    for (uint32_t d = 0; d < api->num_devices && used < size; ++d) {
      used += (size_t)snprintf(out + used, size - used, "%s%d \"%s\"",
                               d ? ", " : "", api->devices[d].index,
                               api->devices[d].name);
    }
  }
}

static const char* const START_SERVER_HINT =
  "JACK shows up only while a JACK server runs: start one, e.g. "
  "'jackd -d dummy -r 48000 -p 128' on a machine without a sound card, or "
  "'jackd -d alsa -r 48000 -p 128' with one (JACK_DEFAULT_SERVER names a "
  "server other than 'default')";

static int
find_api(const AudioBackend* const backend, const char* const name)
{
  for (uint32_t a = 0; a < backend->num_apis; ++a) {
    if (!strcasecmp(backend->apis[a].id, name) ||
        !strcasecmp(backend->apis[a].name, name)) {
      return (int)a;
    }
  }
  /* A leading part of the name: "JACK" for "JACK Audio Connection Kit". */
  const size_t n = strlen(name);
  for (uint32_t a = 0; a < backend->num_apis; ++a) {
    if (n && !strncasecmp(backend->apis[a].name, name, n)) {
      return (int)a;
    }
  }
  return -1;
}

static bool
is_number(const char* const text)
{
  if (!*text) {
    return false;
  }
  for (const char* c = text; *c; ++c) {
    if (!isdigit((unsigned char)*c)) {
      return false;
    }
  }
  return true;
}

/* The device named `name` (an index, an exact name, or a part of exactly
   one name) in host API `api` (-1: any); NULL with `err` otherwise. */
static const AudioDevice*
find_device(const AudioBackend* const backend, const int api,
            const char* const name, char* const err, const size_t err_size)
{
  const uint32_t first = api < 0 ? 0U : (uint32_t)api;
  const uint32_t last  = api < 0 ? backend->num_apis : (uint32_t)api + 1U;
  if (is_number(name)) {
    const long index = strtol(name, NULL, 10);
    for (uint32_t a = first; a < last; ++a) {
      for (uint32_t d = 0; d < backend->apis[a].num_devices; ++d) {
        if (backend->apis[a].devices[d].index == index) {
          return &backend->apis[a].devices[d];
        }
      }
    }
  } else {
    for (uint32_t a = first; a < last; ++a) {
      for (uint32_t d = 0; d < backend->apis[a].num_devices; ++d) {
        if (!strcasecmp(backend->apis[a].devices[d].name, name)) {
          return &backend->apis[a].devices[d];
        }
      }
    }
    const AudioDevice* found   = NULL;
    uint32_t           matches = 0;
    for (uint32_t a = first; a < last; ++a) {
      for (uint32_t d = 0; d < backend->apis[a].num_devices; ++d) {
        if (strcasestr(backend->apis[a].devices[d].name, name)) {
          found = &backend->apis[a].devices[d];
          ++matches;
        }
      }
    }
    if (matches == 1) {
      return found;
    }
    if (matches > 1) {
      char found_text[2048];
      describe_found(backend, found_text, sizeof(found_text));
      snprintf(err, err_size,
               "--device '%s' names %u devices; give a whole name or an "
               "index ('statewave devices' lists them). %s",
               name, matches, found_text);
      return NULL;
    }
  }
  char found_text[2048];
  describe_found(backend, found_text, sizeof(found_text));
  snprintf(err, err_size, "no audio device '%s'%s%s. %s", name,
           api < 0 ? "" : " in ", api < 0 ? "" : backend->apis[api].name,
           found_text);
  return NULL;
}

static const AudioDevice*
device_by_index(const AudioHostApi* const api, const PaDeviceIndex index)
{
  for (uint32_t d = 0; d < api->num_devices; ++d) {
    if (api->devices[d].index == index) {
      return &api->devices[d];
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The stream                                                               */
/* ------------------------------------------------------------------------ */

static int
callback(const void* const input, void* const output,
         const unsigned long frames, const PaStreamCallbackTimeInfo* const time,
         const PaStreamCallbackFlags flags, void* const user)
{
  (void)time;
  AudioBackend* const backend = (AudioBackend*)user;
  const uint32_t      status =
    (flags & (paInputUnderflow | paInputOverflow | paOutputUnderflow |
              paOutputOverflow))
      ? 1U
      : 0U;
  backend->process(backend->user, (const float* const*)input,
                   (float* const*)output, (uint32_t)frames, status);
  return paContinue;
}

static bool
rate_works(const PaStreamParameters* const in,
           const PaStreamParameters* const out, const double rate)
{
  return Pa_IsFormatSupported(in, out, rate) == paFormatIsSupported;
}

AudioStatus
audio_backend_open(AudioBackend* const backend,
                   const AudioOpenOptions* const options,
                   AudioOpened* const opened, char* const err,
                   const size_t err_size)
{
  char found[2048];
  describe_found(backend, found, sizeof(found));
  memset(opened, 0, sizeof(*opened));

  /* The host API: asked for, the device's, JACK when a server runs, else
     PortAudio's default. */
  int api = -1;
  if (options->host_api) {
    api = find_api(backend, options->host_api);
    if (api < 0) {
      const bool jack = !strncasecmp(options->host_api, "jack", 4);
      snprintf(err, err_size, "no host API '%s'. %s%s%s", options->host_api,
               found, jack ? ". " : "", jack ? START_SERVER_HINT : "");
      return AUDIO_ERR_NOT_FOUND;
    }
  }
  const AudioDevice* in_dev  = NULL;
  const AudioDevice* out_dev = NULL;
  if (options->device) {
    in_dev = find_device(backend, api, options->device, err, err_size);
    if (!in_dev) {
      return AUDIO_ERR_NOT_FOUND;
    }
    out_dev = in_dev;
    api     = Pa_GetDeviceInfo(in_dev->index)->hostApi;
  } else {
    if (api < 0) {
      api = find_api(backend, "jack");
    }
    if (api < 0) {
      for (uint32_t a = 0; a < backend->num_apis; ++a) {
        if (backend->apis[a].is_default) {
          api = (int)a;
        }
      }
    }
    if (api < 0) {
      snprintf(err, err_size, "no audio device. %s. %s, or connect a sound "
               "card", found, START_SERVER_HINT);
      return AUDIO_ERR_NOT_FOUND;
    }
    const PaHostApiInfo* const info = Pa_GetHostApiInfo(api);
    in_dev  = device_by_index(&backend->apis[api], info->defaultInputDevice);
    out_dev = device_by_index(&backend->apis[api], info->defaultOutputDevice);
    if (!in_dev || !out_dev) {
      snprintf(err, err_size, "no audio device: %s has no default %s "
               "device. %s. %s, or connect a sound card",
               backend->apis[api].name, in_dev ? "output" : "input", found,
               START_SERVER_HINT);
      return AUDIO_ERR_NOT_FOUND;
    }
  }
  const AudioHostApi* const host = &backend->apis[api];
  snprintf(opened->host_api, sizeof(opened->host_api), "%s", host->name);
  snprintf(opened->host_api_id, sizeof(opened->host_api_id), "%s", host->id);
  snprintf(opened->input_device, sizeof(opened->input_device), "%s",
           in_dev->name);
  snprintf(opened->output_device, sizeof(opened->output_device), "%s",
           out_dev->name);

  if ((uint32_t)in_dev->inputs < options->channels ||
      (uint32_t)out_dev->outputs < options->channels) {
    snprintf(err, err_size,
             "%s has %d input%s and %s has %d output%s; --channels %u "
             "needs %u of each",
             in_dev->name, in_dev->inputs, in_dev->inputs == 1 ? "" : "s",
             out_dev->name, out_dev->outputs, out_dev->outputs == 1 ? "" : "s",
             options->channels, options->channels);
    return AUDIO_ERR_FAILED;
  }

  PaStreamParameters in;
  PaStreamParameters out;
  memset(&in, 0, sizeof(in));
  memset(&out, 0, sizeof(out));
  in.device                 = in_dev->index;
  in.channelCount           = (int)options->channels;
  in.sampleFormat           = paFloat32 | paNonInterleaved;
  in.suggestedLatency       = in_dev->low_input_latency;
  out.device                = out_dev->index;
  out.channelCount          = (int)options->channels;
  out.sampleFormat          = paFloat32 | paNonInterleaved;
  out.suggestedLatency      = out_dev->low_output_latency;
  opened->device_rate       = out_dev->default_rate;

  /* The rate: asked for, else the model's, else the device's. */
  Quiet quiet = quiet_begin();
  double rate = options->rate;
  bool   ok   = true;
  if (rate > 0.0) {
    ok = rate_works(&in, &out, rate);
  } else if (options->preferred_rate > 0.0 &&
             rate_works(&in, &out, options->preferred_rate)) {
    rate = options->preferred_rate;
  } else {
    opened->rate_fallback = options->preferred_rate > 0.0 &&
                            options->preferred_rate != opened->device_rate;
    rate = opened->device_rate;
  }
  PaError status = paNoError;
  if (ok) {
    backend->channels = options->channels;
    status            = Pa_OpenStream(&backend->stream, &in, &out, rate,
                                      options->block
                                        ? options->block
                                        : paFramesPerBufferUnspecified,
                                      paNoFlag, callback, backend);
  }
  quiet_end(&quiet, backend->noise, sizeof(backend->noise));
  if (!ok) {
    snprintf(err, err_size,
             "%s (%s) cannot run at %g Hz; it runs at %g Hz (leave out "
             "--rate, or ask for a rate it takes)",
             out_dev->name, host->name, rate, opened->device_rate);
    return AUDIO_ERR_FAILED;
  }
  if (status != paNoError) {
    backend->stream = NULL;
    snprintf(err, err_size, "cannot open %s (%s) at %g Hz, %u channel%s: %s",
             out_dev->name, host->name, rate, options->channels,
             options->channels == 1 ? "" : "s", Pa_GetErrorText(status));
    return AUDIO_ERR_FAILED;
  }
  const PaStreamInfo* const info = Pa_GetStreamInfo(backend->stream);
  opened->rate           = info ? info->sampleRate : rate;
  opened->block          = options->block;
  opened->input_latency  = info ? info->inputLatency : 0.0;
  opened->output_latency = info ? info->outputLatency : 0.0;
  return AUDIO_OK;
}

AudioStatus
audio_backend_start(AudioBackend* const backend,
                    const AudioProcessFunc process, void* const user,
                    char* const err, const size_t err_size)
{
  /* Set before the stream starts: the audio thread only reads them. */
  backend->process = process;
  backend->user    = user;
  Quiet         quiet  = quiet_begin();
  const PaError status = Pa_StartStream(backend->stream);
  quiet_end(&quiet, backend->noise, sizeof(backend->noise));
  if (status != paNoError) {
    snprintf(err, err_size, "cannot start the audio stream: %s",
             Pa_GetErrorText(status));
    return AUDIO_ERR_FAILED;
  }
  backend->started = true;
  return AUDIO_OK;
}

void
audio_backend_stop(AudioBackend* const backend)
{
  if (!backend->stream || !backend->started || backend->abandoned) {
    return;
  }
  if (Pa_IsStreamActive(backend->stream) != 1) {
    backend->abandoned = true; /* it ended without being stopped */
    return;
  }
  Pa_StopStream(backend->stream);
  backend->started = false;
}

bool
audio_backend_abandoned(const AudioBackend* const backend)
{
  return backend->abandoned;
}

bool
audio_backend_running(AudioBackend* const backend)
{
  return backend->stream && Pa_IsStreamActive(backend->stream) == 1;
}
