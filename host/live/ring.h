/*
  A lock-free ring of bytes between exactly one writer thread and one
  reader thread (C11 atomics), carrying typed messages: a header (type,
  payload size) followed by the payload, written and published as one.
  Sized once at creation; reading and writing never allocate, lock or make
  system calls, so the audio thread may use either end.
*/

#ifndef STATEWAVE_LIVE_RING_H
#define STATEWAVE_LIVE_RING_H

#include <statewave/statewave.h> /* SW_REALTIME */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint8_t*         bytes;
  uint32_t         size; /* a power of two */
  atomic_uint_fast32_t write_pos; /* advanced by the writer only */
  atomic_uint_fast32_t read_pos;  /* advanced by the reader only */
} Ring;

/* The header in front of every message's payload. */
typedef struct {
  uint32_t type;
  uint32_t size; /* payload bytes that follow */
} RingMessageHeader;

/* Allocate a ring holding at least `capacity` bytes. [non-RT] */
bool
ring_init(Ring* ring, uint32_t capacity);

/* Free the ring's memory (no thread may use it any more). [non-RT] */
void
ring_destroy(Ring* ring);

/* Bytes the writer can write now. [RT-safe] */
SW_REALTIME uint32_t
ring_write_space(const Ring* ring);

/* Bytes the reader can read now. [RT-safe] */
SW_REALTIME uint32_t
ring_read_space(const Ring* ring);

/* Write one message of `size` payload bytes, all of it or (false, when the
   ring has not room for it) nothing. Writer only. [RT-safe] */
SW_REALTIME bool
ring_write_message(Ring* ring, uint32_t type, const void* payload,
                   uint32_t size);

/* Look at the next message's header without taking it; false when no
   whole message is waiting. Reader only. [RT-safe] */
SW_REALTIME bool
ring_peek_header(const Ring* ring, RingMessageHeader* header);

/* Take the next message: its header into `header` and up to `capacity`
   bytes of its payload into `payload` (a longer payload is cut and the
   rest skipped). False when no whole message is waiting. Reader only.
   [RT-safe] */
SW_REALTIME bool
ring_read_message(Ring* ring, RingMessageHeader* header, void* payload,
                  uint32_t capacity);

#endif
