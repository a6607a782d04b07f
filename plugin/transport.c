#include "transport.h"

#include <math.h>

/* Hosts report integer frames; allow one frame for their rounding at a
   non-unity speed. */
#define JUMP_TOLERANCE_FRAMES 1.0

void
transport_clear(Transport* const transport)
{
  transport->known   = false;
  transport->rolling = false;
  transport->speed   = 0.0;
  transport->frame   = 0.0;
}

bool
transport_position(Transport* const transport, const bool has_speed,
                   const double speed, const bool has_frame,
                   const int64_t frame, const uint32_t offset)
{
  const double expected =
    transport->frame + (transport->rolling ? transport->speed * offset : 0.0);
  const double new_speed = has_speed ? speed : transport->speed;
  const bool   rolling   = new_speed != 0.0;
  bool         reset     = false;

  if (transport->known) {
    if (rolling != transport->rolling) {
      reset = true;
    } else if (has_frame &&
               fabs((double)frame - expected) > JUMP_TOLERANCE_FRAMES) {
      reset = true;
    }
  }
  transport->known   = true;
  transport->rolling = rolling;
  transport->speed   = new_speed;
  /* Re-anchor so that the block's start maps to the reported frame. */
  const double at = has_frame ? (double)frame : expected;
  transport->frame = at - (rolling ? new_speed * offset : 0.0);
  return reset;
}

void
transport_advance(Transport* const transport, const uint32_t frames)
{
  if (transport->rolling) {
    transport->frame += transport->speed * frames;
  }
}
