/*
  The audio backend: the one interface the live host uses to reach audio
  devices (as jalv's backend.h), implemented by portaudio_backend.c and
  chosen at build time. It lists host APIs and devices, opens one duplex
  stream of float channels (non-interleaved, so device buffers go straight
  to the processor) and calls AudioProcessFunc on its audio thread.
*/

#ifndef STATEWAVE_LIVE_AUDIO_BACKEND_H
#define STATEWAVE_LIVE_AUDIO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct AudioBackend AudioBackend;

/* Called on the audio thread for every block: in[c] -> out[c], `frames`
   frames, `status` LIVE_STATUS_* bits (an xrun the device reported). */
typedef void (*AudioProcessFunc)(void* user, const float* const* in,
                                 float* const* out, uint32_t frames,
                                 uint32_t status);

typedef struct {
  int    index; /* what --device INDEX takes */
  char   name[256];
  int    inputs;
  int    outputs;
  double default_rate;
  double low_input_latency; /* seconds */
  double low_output_latency;
  bool   default_input; /* its host API's default input device */
  bool   default_output;
} AudioDevice;

typedef struct {
  char         name[128]; /* "JACK Audio Connection Kit" */
  char         id[16];    /* "jack", "alsa", "oss", ... */
  bool         is_default;
  uint32_t     num_devices;
  AudioDevice* devices;
} AudioHostApi;

typedef struct {
  const char* host_api;   /* NULL: JACK when a server runs, else the default */
  const char* device;     /* NULL: the host API's defaults; a name or index */
  double      rate;       /* 0: choose: preferred_rate, else the device's */
  double      preferred_rate; /* the model's training rate, or 0 */
  uint32_t    block;      /* frames per callback; 0: the device's own */
  uint32_t    channels;   /* in and out */
} AudioOpenOptions;

typedef struct {
  char     host_api[128];
  char     host_api_id[16];
  char     input_device[256];
  char     output_device[256];
  double   rate;
  double   device_rate;   /* the device's default rate */
  bool     rate_fallback; /* preferred_rate was refused: device_rate runs */
  uint32_t block;         /* 0: the device's own */
  double   input_latency; /* seconds, as the device reports */
  double   output_latency;
} AudioOpened;

typedef enum {
  AUDIO_OK = 0,
  AUDIO_ERR_NOT_FOUND, /* no such host API or device, or none at all */
  AUDIO_ERR_FAILED,    /* it is there but cannot do what was asked */
} AudioStatus;

/* Initialise the audio library; `client_name` names this program where
   the host API has names (the JACK client: ports CLIENT:in_1...). What the
   library prints while it looks for devices is kept (audio_backend_noise)
   instead of cluttering stderr. NULL (with `err`) on failure. [non-RT] */
AudioBackend*
audio_backend_new(const char* client_name, char* err, size_t err_size);

/* Close the stream if open, terminate the library. NULL is a no-op. */
void
audio_backend_free(AudioBackend* backend);

/* The library and its version ("PortAudio V19.6.0-devel, revision ..."). */
const char*
audio_backend_version(void);

/* What the audio library printed while starting, or "". */
const char*
audio_backend_noise(const AudioBackend* backend);

/* Every host API with its devices; the arrays live as long as `backend`. */
const AudioHostApi*
audio_backend_host_apis(const AudioBackend* backend, uint32_t* count);

/* Open the duplex stream. On failure writes a message saying what was
   found and what to do into `err`. */
AudioStatus
audio_backend_open(AudioBackend* backend, const AudioOpenOptions* options,
                   AudioOpened* opened, char* err, size_t err_size);

/* Start calling `process` with `user` on the audio thread. */
AudioStatus
audio_backend_start(AudioBackend* backend, AudioProcessFunc process,
                    void* user, char* err, size_t err_size);

/* Stop calling `process` (returns once no callback runs). A stream that
   ended by itself (the device or server went away) cannot be stopped: it
   is abandoned, and nothing says when its last callback has returned. */
void
audio_backend_stop(AudioBackend* backend);

/* Whether the stream was abandoned (see audio_backend_stop): what its
   callback uses must then be left to the process's exit. */
bool
audio_backend_abandoned(const AudioBackend* backend);

/* Whether the stream still runs (false after the device or server went). */
bool
audio_backend_running(AudioBackend* backend);

#endif
