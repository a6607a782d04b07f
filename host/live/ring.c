/* The single-writer, single-reader message ring (see ring.h). Positions
   run freely modulo 2^32 (unsigned wrap-around) and are masked into the
   buffer; the writer publishes with a release store after copying, the
   reader acquires before copying, and vice versa for freed space. */

#include "ring.h"

#include <stdlib.h>
#include <string.h>

bool
ring_init(Ring* const ring, const uint32_t capacity)
{
  uint32_t size = 64U;
  while (size < capacity && size < (1U << 30U)) {
    size <<= 1U;
  }
  ring->bytes = (uint8_t*)calloc(size, 1U);
  ring->size  = ring->bytes ? size : 0U;
  atomic_init(&ring->write_pos, 0U);
  atomic_init(&ring->read_pos, 0U);
  return ring->bytes != NULL;
}

void
ring_destroy(Ring* const ring)
{
  free(ring->bytes);
  ring->bytes = NULL;
  ring->size  = 0U;
}

uint32_t
ring_write_space(const Ring* const ring)
{
  const uint32_t w = (uint32_t)atomic_load_explicit(&ring->write_pos,
                                                    memory_order_relaxed);
  const uint32_t r = (uint32_t)atomic_load_explicit(&ring->read_pos,
                                                    memory_order_acquire);
  return ring->size - (w - r);
}

uint32_t
ring_read_space(const Ring* const ring)
{
  const uint32_t r = (uint32_t)atomic_load_explicit(&ring->read_pos,
                                                    memory_order_relaxed);
  const uint32_t w = (uint32_t)atomic_load_explicit(&ring->write_pos,
                                                    memory_order_acquire);
  return w - r;
}

/* Copy `n` bytes into the ring at free-running position `pos`. */
static void
copy_in(Ring* const ring, const uint32_t pos, const void* const data,
        const uint32_t n)
{
  const uint32_t at    = pos & (ring->size - 1U);
  const uint32_t first = (n < ring->size - at) ? n : ring->size - at;
  memcpy(ring->bytes + at, data, first);
  memcpy(ring->bytes, (const uint8_t*)data + first, n - first);
}

/* Copy `n` bytes out of the ring from free-running position `pos`. */
static void
copy_out(const Ring* const ring, const uint32_t pos, void* const data,
         const uint32_t n)
{
  const uint32_t at    = pos & (ring->size - 1U);
  const uint32_t first = (n < ring->size - at) ? n : ring->size - at;
  memcpy(data, ring->bytes + at, first);
  memcpy((uint8_t*)data + first, ring->bytes, n - first);
}

bool
ring_write_message(Ring* const ring, const uint32_t type,
                   const void* const payload, const uint32_t size)
{
  const uint32_t total = (uint32_t)sizeof(RingMessageHeader) + size;
  if (size > ring->size || ring_write_space(ring) < total) {
    return false;
  }
  const uint32_t          w      = (uint32_t)atomic_load_explicit(
    &ring->write_pos, memory_order_relaxed);
  const RingMessageHeader header = {type, size};
  copy_in(ring, w, &header, (uint32_t)sizeof(header));
  if (size) {
    copy_in(ring, w + (uint32_t)sizeof(header), payload, size);
  }
  atomic_store_explicit(&ring->write_pos, w + total, memory_order_release);
  return true;
}

bool
ring_peek_header(const Ring* const ring, RingMessageHeader* const header)
{
  if (ring_read_space(ring) < sizeof(RingMessageHeader)) {
    return false;
  }
  const uint32_t r =
    (uint32_t)atomic_load_explicit(&ring->read_pos, memory_order_relaxed);
  copy_out(ring, r, header, (uint32_t)sizeof(*header));
  /* The writer publishes header and payload together. */
  return true;
}

bool
ring_read_message(Ring* const ring, RingMessageHeader* const header,
                  void* const payload, const uint32_t capacity)
{
  if (!ring_peek_header(ring, header)) {
    return false;
  }
  const uint32_t r =
    (uint32_t)atomic_load_explicit(&ring->read_pos, memory_order_relaxed);
  const uint32_t n = header->size < capacity ? header->size : capacity;
  if (n) {
    copy_out(ring, r + (uint32_t)sizeof(*header), payload, n);
  }
  atomic_store_explicit(&ring->read_pos,
                        r + (uint32_t)sizeof(*header) + header->size,
                        memory_order_release);
  return true;
}
