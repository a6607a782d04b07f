/*
  The loader: one worker thread that turns model requests into LiveModels
  (file read, engine made, warmed on silence), in the order asked, so no
  load ever runs on the audio thread or holds up the program's main loop.
  Results wait in a queue; a byte on loader_wake_fd() says one is there.
*/

#ifndef STATEWAVE_LIVE_LOADER_H
#define STATEWAVE_LIVE_LOADER_H

#include "live_model.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct Loader Loader;

typedef struct {
  uint64_t         id;      /* as given to loader_request() */
  LiveModel*       model;   /* NULL on failure */
  LiveModelRequest request; /* what was asked */
  char             error[1024]; /* why it failed */
} LoadResult;

/* Start the worker thread; NULL (with `err`) on failure. [non-RT] */
Loader*
loader_new(const LiveEngineConfig* config, char* err, size_t err_size);

/* Stop the thread (after the load under way, if any) and free every
   result not taken. NULL is a no-op. [non-RT] */
void
loader_free(Loader* loader);

/* Queue a load; its result carries `id`. False when out of memory.
   [non-RT] */
bool
loader_request(Loader* loader, uint64_t id, const LiveModelRequest* request);

/* Take the next finished load, false when none. [non-RT] */
bool
loader_take_result(Loader* loader, LoadResult* result);

/* Readable when a result is waiting (poll() it; loader_take_result()
   drains it). [non-RT] */
int
loader_wake_fd(const Loader* loader);

/* Loads queued or under way. [non-RT] */
uint32_t
loader_busy(Loader* loader);

#endif
