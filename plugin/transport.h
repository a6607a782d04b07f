/* Transport tracking from time:Position: the state resets when the host's
   transport starts, stops or jumps. */

#ifndef SW_LV2_TRANSPORT_H
#define SW_LV2_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  bool   known;   /* a position has been seen since activate */
  bool   rolling; /* speed != 0 */
  double speed;
  double frame; /* the host frame at the start of the current block */
} Transport;

/* Forget the position (activate). */
void
transport_clear(Transport* transport);

/* A time:Position at sample `offset` of the block. has_speed / has_frame say
   which of its fields it carried. True when the state must reset: the
   transport started or stopped, or time:frame is not where the previous
   position and the frames run since put it (a locate, a loop, a jump). */
bool
transport_position(Transport* transport, bool has_speed, double speed,
                   bool has_frame, int64_t frame, uint32_t offset);

/* The block of `frames` frames has been run. */
void
transport_advance(Transport* transport, uint32_t frames);

#endif
