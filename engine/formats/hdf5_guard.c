/* A check of an HDF5 file image's global heap references before libhdf5
   follows them.

   Variable-length strings (tf.keras writes model_config, keras_version and
   the weight names that way) are stored as heap IDs {length u32, collection
   address u64, object index u32} pointing into "GCOL" global heap
   collections. libhdf5 1.10 (Debian's) trusts both: H5HG_read indexes the
   collection's object table with the index unchecked (only an assert) and
   copies the object's whole size into a buffer sized by the ID's length. A
   damaged file therefore crashes the process inside the library. This pass
   parses every collection the way H5HG__cache_heap_deserialize does and
   refuses the file when any 16-byte sequence that names a collection's
   address is not a heap ID libhdf5 can follow safely. Weights never look
   like collection addresses (those are small integers: denormal floats).
   This covers damage to files as h5py writes them (version-1 object
   headers); a file crafted with unaligned version-2 headers, or aimed at
   other known libhdf5 1.10 defects, can still crash libhdf5. */

#include "keras_h5.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* H5HG_SIZEOF_HDR and H5HG_SIZEOF_OBJHDR for 8-byte lengths, H5HG_MINSIZE. */
#define HEADER_SIZE 16U
#define OBJECT_HEADER_SIZE 16U
#define MIN_COLLECTION_SIZE 4096U
#define MAX_COLLECTIONS 4096U
/* Longest string a heap ID may announce (libhdf5 allocates it). */
#define MAX_STRING_BYTES (16U * 1024U * 1024U)

static uint64_t
le(const unsigned char* const p, const unsigned bytes)
{
  uint64_t value = 0;
  for (unsigned i = bytes; i-- > 0;) {
    value = (value << 8U) | p[i];
  }
  return value;
}

/* Whether object `target` of the collection at `at` can be read into a
   buffer of `length` bytes, following libhdf5's parse of the collection. */
static bool
object_readable(const unsigned char* const data, const size_t size,
                const size_t at, const uint64_t target, const uint64_t length)
{
  if (data[at + 4U] != 1U) {
    return false; /* libhdf5 refuses it cleanly, but so may we */
  }
  const uint64_t heap_size = le(data + at + 8U, 8);
  if (heap_size < MIN_COLLECTION_SIZE || heap_size > size - at) {
    return false;
  }
  const unsigned char* const chunk = data + at;
  uint64_t p = HEADER_SIZE, max_index = 0, begin = 0, object_size = 0;
  bool     present = false;
  while (p < heap_size) {
    if (p + OBJECT_HEADER_SIZE > heap_size) {
      break; /* libhdf5: trailing free space */
    }
    const uint64_t index = le(chunk + p, 2);
    const uint64_t bytes = le(chunk + p + 8U, 8);
    if (index == target) {
      present     = true; /* libhdf5 keeps the last one seen */
      begin       = p;
      object_size = bytes;
    }
    if (bytes > heap_size) {
      break; /* libhdf5 steps past the end: the parse stops */
    }
    const uint64_t need =
      index > 0 ? OBJECT_HEADER_SIZE + ((bytes + 7U) & ~(uint64_t)7U) : bytes;
    if (need == 0) {
      return false; /* libhdf5 would loop forever on this collection */
    }
    if (index > max_index) {
      max_index = index;
    }
    p += need;
  }
  return target >= 1U && target <= max_index && present &&
         object_size <= length && length <= MAX_STRING_BYTES &&
         begin + OBJECT_HEADER_SIZE + object_size <= heap_size;
}

bool
sw_hdf5_heap_ids_safe(const char* const bytes, const size_t size,
                      size_t* const bad_offset)
{
  const unsigned char* const data = (const unsigned char*)bytes;
  size_t                     collections[MAX_COLLECTIONS];
  size_t                     count = 0;
  *bad_offset                      = 0;
  for (size_t at = 0; at + HEADER_SIZE <= size; ++at) {
    if (data[at] == 'G' && !memcmp(data + at, "GCOL", 4)) {
      if (count == MAX_COLLECTIONS) {
        *bad_offset = at;
        return false;
      }
      collections[count++] = at; /* ascending */
    }
  }
  if (count == 0) {
    return true;
  }
  size_t inside = 0; /* the collection whose bytes `at` may be in */
  /* Heap IDs sit in attribute data, which h5py's (and Keras's) version-1
     object headers keep 8-byte aligned: the address at 4 mod 8. Unaligned
     reads would see the address in unrelated bytes ("00 08 00 .." is 2048
     read one byte early). */
  for (size_t at = 4; at + 12U <= size; at += 8U) {
    /* The collections hold the strings themselves, not heap IDs: skip
       them (their object headers hold sizes that may equal an address). */
    while (inside + 1U < count && collections[inside + 1U] <= at) {
      ++inside;
    }
    const uint64_t start = collections[inside];
    const uint64_t end   = start + le(data + start + 8U, 8);
    if (at >= start && at < end && end >= start) {
      while (at < end && at + 12U <= size) {
        at += 8U;
      }
      at -= 8U;
      continue;
    }
    const uint64_t address = le(data + at, 8);
    if (address < collections[0] || address > collections[count - 1U]) {
      continue;
    }
    size_t low = 0, high = count;
    while (low < high) {
      const size_t middle = low + (high - low) / 2U;
      if (collections[middle] < address) {
        low = middle + 1U;
      } else {
        high = middle;
      }
    }
    /* libhdf5 reads nothing for a zero length (and sizes elsewhere in the
       metadata may equal an address: those come with zeros around). */
    if (low < count && collections[low] == address &&
        le(data + at - 4U, 4) > 0 &&
        !object_readable(data, size, (size_t)address, le(data + at + 8U, 4),
                         le(data + at - 4U, 4))) {
      *bad_offset = at;
      return false;
    }
  }
  return true;
}
