/* State: the model file's path, saved through state:mapPath (so a moved
   session finds its model) and restored on the worker when the host allows
   it (state:threadSafeRestore), else at once. */

#define _DEFAULT_SOURCE /* realpath */

#include "plugin.h"

#include <lv2/core/lv2_util.h>
#include <lv2/state/state.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Free a path the host's mapPath made, the way the host asks. */
static void
free_mapped(LV2_State_Free_Path* const free_path, char* const path)
{
  if (path && free_path) {
    free_path->free_path(free_path->handle, path);
  } else {
    free(path);
  }
}

static LV2_State_Status
save(LV2_Handle instance, LV2_State_Store_Function store,
     LV2_State_Handle handle, uint32_t flags,
     const LV2_Feature* const* features)
{
  (void)flags;
  Plugin* const self = (Plugin*)instance;
  if (!self->map) {
    return LV2_STATE_ERR_NO_FEATURE;
  }
  char          path[SW_LV2_PATH_MAX];
  plugin_copy_model_path(self, path, sizeof(path));
  if (!path[0]) {
    return LV2_STATE_SUCCESS;
  }
  LV2_State_Map_Path*  map_path  = NULL;
  LV2_State_Free_Path* free_path = NULL;
  lv2_features_query(features, LV2_STATE__mapPath, &map_path, false,
                     LV2_STATE__freePath, &free_path, false, NULL);
  char* const abstract =
    map_path ? map_path->abstract_path(map_path->handle, path) : NULL;
  const char* const stored = abstract ? abstract : path;
  const LV2_State_Status status =
    store(handle, self->uris.sw_model, stored, strlen(stored) + 1U,
          self->uris.atom_Path, LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
  free_mapped(free_path, abstract);
  return status;
}

/* Whether two paths name the same file. */
static bool
same_file(const char* const a, const char* const b)
{
  char ra[PATH_MAX];
  char rb[PATH_MAX];
  return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

static LV2_State_Status
restore(LV2_Handle instance, LV2_State_Retrieve_Function retrieve,
        LV2_State_Handle handle, uint32_t flags,
        const LV2_Feature* const* features)
{
  (void)flags;
  Plugin* const self = (Plugin*)instance;
  if (!self->map) {
    return LV2_STATE_ERR_NO_FEATURE;
  }
  size_t        size  = 0;
  uint32_t      type  = 0;
  uint32_t      vflags = 0;
  const char* const value =
    (const char*)retrieve(handle, self->uris.sw_model, &size, &type, &vflags);
  if (!value) {
    return LV2_STATE_SUCCESS; /* no model saved: keep the one playing */
  }
  if ((type != self->uris.atom_Path && type != self->uris.atom_String) ||
      size < 2 || value[size - 1] != '\0') {
    lv2_log_error(&self->logger,
                  "statewave: saved state: the model is not an atom:Path\n");
    return LV2_STATE_ERR_BAD_TYPE;
  }
  LV2_State_Map_Path*  map_path  = NULL;
  LV2_State_Free_Path* free_path = NULL;
  LV2_Worker_Schedule* schedule  = NULL;
  lv2_features_query(features, LV2_STATE__mapPath, &map_path, false,
                     LV2_STATE__freePath, &free_path, false,
                     LV2_WORKER__schedule, &schedule, false, NULL);
  char* const absolute =
    map_path ? map_path->absolute_path(map_path->handle, value) : NULL;
  const char* const chosen = absolute ? absolute : value;
  const size_t      length = strlen(chosen);
  char              path[SW_LV2_PATH_MAX];
  if (length < sizeof(path)) {
    memcpy(path, chosen, length + 1U);
  }
  free_mapped(free_path, absolute);
  if (length >= sizeof(path)) {
    lv2_log_error(&self->logger,
                  "statewave: saved state: the model path is %zu bytes long; "
                  "the plugin takes paths of up to %u bytes (the running "
                  "model is kept)\n",
                  length, SW_LV2_PATH_MAX - 1U);
    return LV2_STATE_ERR_UNKNOWN;
  }

  const LoadRequest request = plugin_load_request(self);
  char              playing[SW_LV2_PATH_MAX];
  plugin_copy_model_path(self, playing, sizeof(playing));
  if (request.backend == atomic_load_explicit(&self->backend_asked,
                                              memory_order_relaxed) &&
      same_file(path, playing)) {
    return LV2_STATE_SUCCESS; /* already playing (the default state) */
  }
  if (self->activated && schedule) {
    /* run() may be running: load on the worker, swap in work_response. */
    return plugin_schedule_load(self, schedule, path, (uint32_t)length)
             ? LV2_STATE_SUCCESS
             : LV2_STATE_ERR_NO_SPACE;
  }
  /* Without threadSafeRestore the host does not run the plugin now. */
  char               message[SW_LV2_STATUS_MAX];
  LoadedModel* const loaded =
    loaded_model_load(path, &request, &self->logger, message, sizeof(message));
  if (!loaded) {
    lv2_log_error(&self->logger,
                  "statewave: saved state: %s (the running model is kept)\n",
                  message);
    return LV2_STATE_ERR_UNKNOWN;
  }
  plugin_install_now(self, loaded);
  return LV2_STATE_SUCCESS;
}

const void*
plugin_state_interface(void)
{
  static const LV2_State_Interface state = {save, restore};
  return &state;
}
