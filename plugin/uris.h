/* The URIDs the plugin uses, mapped once at instantiate. */

#ifndef SW_LV2_URIS_H
#define SW_LV2_URIS_H

#include "ports.h"

#include <lv2/atom/atom.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/time/time.h>
#include <lv2/urid/urid.h>

typedef struct {
  LV2_URID atom_Path;
  LV2_URID atom_String;
  LV2_URID atom_URID;
  LV2_URID atom_Object;
  LV2_URID atom_Blank;
  LV2_URID atom_Float;
  LV2_URID atom_Double;
  LV2_URID atom_Int;
  LV2_URID atom_Long;
  LV2_URID atom_Sequence;
  LV2_URID atom_eventTransfer;
  LV2_URID patch_Get;
  LV2_URID patch_Set;
  LV2_URID patch_property;
  LV2_URID patch_value;
  LV2_URID time_Position;
  LV2_URID time_frame;
  LV2_URID time_speed;
  LV2_URID sw_model;
  LV2_URID sw_status;
} SwLv2Uris;

static inline void
sw_lv2_map_uris(LV2_URID_Map* const map, SwLv2Uris* const uris)
{
  uris->atom_Path          = map->map(map->handle, LV2_ATOM__Path);
  uris->atom_String        = map->map(map->handle, LV2_ATOM__String);
  uris->atom_URID          = map->map(map->handle, LV2_ATOM__URID);
  uris->atom_Object        = map->map(map->handle, LV2_ATOM__Object);
  uris->atom_Blank         = map->map(map->handle, LV2_ATOM__Blank);
  uris->atom_Float         = map->map(map->handle, LV2_ATOM__Float);
  uris->atom_Double        = map->map(map->handle, LV2_ATOM__Double);
  uris->atom_Int           = map->map(map->handle, LV2_ATOM__Int);
  uris->atom_Long          = map->map(map->handle, LV2_ATOM__Long);
  uris->atom_Sequence      = map->map(map->handle, LV2_ATOM__Sequence);
  uris->atom_eventTransfer = map->map(map->handle, LV2_ATOM__eventTransfer);
  uris->patch_Get          = map->map(map->handle, LV2_PATCH__Get);
  uris->patch_Set          = map->map(map->handle, LV2_PATCH__Set);
  uris->patch_property     = map->map(map->handle, LV2_PATCH__property);
  uris->patch_value        = map->map(map->handle, LV2_PATCH__value);
  uris->time_Position      = map->map(map->handle, LV2_TIME__Position);
  uris->time_frame         = map->map(map->handle, LV2_TIME__frame);
  uris->time_speed         = map->map(map->handle, LV2_TIME__speed);
  uris->sw_model           = map->map(map->handle, SW_LV2_MODEL_URI);
  uris->sw_status          = map->map(map->handle, SW_LV2_STATUS_URI);
}

#endif
