/* A structural check of an HDF5 file image before libhdf5 parses it.

   Debian 12's libhdf5 (1.10.8) trusts the file in many places: its
   message decoders are not told how long a message is and read as far as
   the sizes inside it say (past the object header chunk they were copied
   into: heap-buffer-overflow / use-after-free in H5Aexists), it allocates
   continuation chunks, local heaps and fill values from 32- or 64-bit sizes
   in the file before checking them against the file's end (a ~488 GiB
   malloc in H5Fopen), it walks symbol-table nodes, B-trees and heap free
   lists without bounds on counts, depth or cycles, and it leaks memory on
   many of the error paths it does take (56 bytes per failed H5Fopen, 424
   per failed H5Dopen2). Fixing those is libhdf5's business; this file makes
   sure libhdf5 is only ever handed images it parses safely.

   It walks the file from the superblock the way libhdf5 does, for the
   structures h5py writes by default (and so Keras 2 .h5 files and Keras 3
   model.weights.h5): superblock version 0 or 1 with 8-byte addresses and
   lengths, version-1 object headers and their continuation chunks, old-style
   groups (symbol-table message -> group B-tree -> symbol-table nodes ->
   child object headers, names in the group's local heap), attribute,
   datatype, dataspace, layout (compact or contiguous), fill-value and
   modification-time messages. Every address and length must lie inside the
   image (and inside the end-of-file address the superblock records: libhdf5
   reads nothing past it), every structure must occupy its own bytes (no
   overlap: libhdf5's metadata cache keys entries by address and trips over
   two kinds of entry at one address), every size inside a message must fit
   that message, and every object header is reached once. Anything else is
   refused: as damage when the file contradicts itself, as a layout
   Statewave does not verify when it is legal HDF5 that h5py does not write
   (version-2 object headers, chunked storage, shared messages, ...).

   Variable-length attribute elements (tf.keras's strings) are global heap
   IDs: each is followed into its collection, parsed as libhdf5 parses it,
   since libhdf5 allocates the length an ID states before reading it.
   hdf5_guard.c, which runs next, still scans the whole image for heap IDs
   (it predates this walk).

   The limits of this walk: it checks structure, not meaning (a weight may
   be NaN; keras_h5.c checks values), it follows only what h5py writes,
   and it stands in front of one libhdf5 version: what a later libhdf5
   parses differently is not covered. */

#include "keras_h5.h"

#include "error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "Undefined address" in HDF5: all bits set. */
#define UNDEF UINT64_MAX

/* Limits on what a Keras file needs; beyond them the walk would only let
   a crafted file make libhdf5 recurse or loop for a long time. */
#define MAX_GROUP_DEPTH 32U     /* groups inside groups */
#define MAX_BTREE_LEVEL 16U     /* levels of one group B-tree */
#define MAX_OBJECTS 65536U      /* object headers in the file */
#define MAX_CHUNKS 1024U        /* continuation chunks of one header */
#define MAX_DATATYPE_NESTING 4U /* vlen of vlen of ... */
/* libhdf5's H5S_MAX_RANK. */
#define MAX_RANK 32U

/* Sizes with 8-byte addresses and lengths (the only ones accepted). */
#define SUPERBLOCK_V0_SIZE 96U /* up to and including the root entry */
#define SUPERBLOCK_V1_EXTRA 4U /* indexed-storage K and 2 reserved */
#define ENTRY_SIZE 40U         /* H5G_SIZEOF_ENTRY_FILE */
#define OHDR_V1_PREFIX 16U     /* 12 bytes, aligned to 8 */
#define MSG_HEADER_SIZE 8U     /* type 2, size 2, flags 1, reserved 3 */
#define HEAP_PREFIX_SIZE 32U   /* "HEAP", version, 3 reserved, 3 x 8 */
#define HEAP_FREE_NULL 1U      /* H5HL_FREE_NULL */
#define MIN_COLLECTION_SIZE 4096U /* H5HG_MINSIZE */

/* Object header message types (H5Oprivate.h). */
enum {
  MSG_NIL        = 0x00,
  MSG_DATASPACE  = 0x01,
  MSG_DATATYPE   = 0x03,
  MSG_FILL_OLD   = 0x04,
  MSG_FILL       = 0x05,
  MSG_LAYOUT     = 0x08,
  MSG_ATTRIBUTE  = 0x0C,
  MSG_COMMENT    = 0x0D,
  MSG_MTIME_OLD  = 0x0E,
  MSG_CONTINUE   = 0x10,
  MSG_SYMBOL_TAB = 0x11,
  MSG_MTIME      = 0x12
};

/* Message flags (H5O_MSG_FLAG_*) libhdf5 acts on when reading: shared
   messages are followed into other headers or the shared-message heap,
   and the "unknown" flags change how a header is loaded. h5py sets none of
   them; constant (0x01), don't-share (0x04) and shareable (0x40) are only
   hints to writers. */
#define MSG_FLAG_SHARED 0x02U
#define MSG_FLAGS_UNKNOWN 0xB8U /* 0x08 | 0x10 | 0x20 | 0x80 */

/* A byte range some structure occupies. */
typedef struct {
  uint64_t begin, end;
} Range;

typedef struct {
  const unsigned char* data;
  uint64_t             size; /* bytes libhdf5 may read: min(image, EOF) */
  unsigned             leaf_k, internal_k; /* group node ranks */
  Range*               ranges; /* claimed so far, sorted by begin */
  size_t               range_count, range_capacity;
  unsigned             objects;
  /* the first problem found */
  bool     unverified; /* legal HDF5 this file does not check */
  uint64_t offset;
  char     what[192];
} Walk;

/* A datatype as far as sizes go. */
typedef struct {
  unsigned klass;     /* 0 integer, 1 float, 3 string, 9 variable length */
  uint64_t size;      /* bytes per element in the file */
  uint64_t base_size; /* variable length: bytes per element of a sequence */
  uint64_t used;      /* bytes of the encoding */
} Type;

/* What a group's local heap holds: link names. */
typedef struct {
  uint64_t data; /* address of the data block */
  uint64_t size;
} Heap;

/* What an object header said, gathered over all its chunks. */
typedef struct {
  bool     group, dataset;
  uint64_t btree, heap, stab_at;             /* symbol-table message */
  bool     has_type, has_space, has_layout;
  Type     type;
  bool     extendible; /* a maximum dimension above the current one */
  uint64_t elements, layout_at;
  int      layout_class; /* 0 compact, 1 contiguous */
  uint64_t data_addr, data_size;
} Object;

static uint64_t
le(const unsigned char* const p, const unsigned bytes)
{
  uint64_t value = 0;
  for (unsigned i = bytes; i-- > 0;) {
    value = (value << 8U) | p[i];
  }
  return value;
}

static bool
fail(Walk* const walk, const uint64_t offset, const char* const fmt, ...)
  SW_PRINTF(3, 4);

static bool
fail(Walk* const walk, const uint64_t offset, const char* const fmt, ...)
{
  if (walk->what[0] == '\0') {
    va_list args;
    va_start(args, fmt);
    vsnprintf(walk->what, sizeof(walk->what), fmt, args);
    va_end(args);
    walk->offset = offset;
  }
  return false;
}

/* Legal HDF5 that h5py does not write: refused, but not called damage. */
static bool
unverified(Walk* const walk, const uint64_t offset, const char* const fmt,
           ...) SW_PRINTF(3, 4);

static bool
unverified(Walk* const walk, const uint64_t offset, const char* const fmt,
           ...)
{
  if (walk->what[0] == '\0') {
    va_list args;
    va_start(args, fmt);
    vsnprintf(walk->what, sizeof(walk->what), fmt, args);
    va_end(args);
    walk->offset     = offset;
    walk->unverified = true;
  }
  return false;
}

/* Whether [addr, addr + length) lies inside what libhdf5 may read. */
static bool
inside(const Walk* const walk, const uint64_t addr, const uint64_t length)
{
  return addr != UNDEF && addr <= walk->size && length <= walk->size - addr;
}

/* `a * b`, false when it overflows. */
static bool
multiply(const uint64_t a, const uint64_t b, uint64_t* const product)
{
  if (a != 0 && b > UINT64_MAX / a) {
    return false;
  }
  *product = a * b;
  return true;
}

/* 8-byte alignment (H5O_ALIGN_OLD, H5HG_ALIGN). */
static uint64_t
align8(const uint64_t n)
{
  return (n + 7U) & ~(uint64_t)7U;
}

/* Reserve [addr, addr + length) for one structure: inside the file and
   overlapping nothing claimed before. Overlaps are how a damaged file
   makes libhdf5 parse one structure as another, or a header chunk as part
   of itself; h5py never writes them. */
static bool
claim(Walk* const walk, const uint64_t addr, const uint64_t length,
      const char* const what)
{
  if (!inside(walk, addr, length)) {
    return fail(walk, addr, "%s of %llu bytes outside the file (%llu bytes)",
                what, (unsigned long long)length,
                (unsigned long long)walk->size);
  }
  if (length == 0) {
    return true;
  }
  const uint64_t end = addr + length;
  /* first range that begins at or after addr */
  size_t lo = 0, hi = walk->range_count;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2U;
    if (walk->ranges[mid].begin < addr) {
      lo = mid + 1U;
    } else {
      hi = mid;
    }
  }
  if ((lo < walk->range_count && walk->ranges[lo].begin < end) ||
      (lo > 0 && walk->ranges[lo - 1U].end > addr)) {
    return fail(walk, addr, "%s overlaps another structure", what);
  }
  if (walk->range_count == walk->range_capacity) {
    const size_t capacity =
      walk->range_capacity ? 2U * walk->range_capacity : 256U;
    Range* const grown = realloc(walk->ranges, capacity * sizeof(Range));
    if (!grown) {
      return fail(walk, addr, "out of memory checking the file");
    }
    walk->ranges         = grown;
    walk->range_capacity = capacity;
  }
  memmove(walk->ranges + lo + 1U, walk->ranges + lo,
          (walk->range_count - lo) * sizeof(Range));
  walk->ranges[lo] = (Range){addr, end};
  walk->range_count++;
  return true;
}

/* ---- messages ---------------------------------------------------------- */

/* A datatype encoded at p[0..length) (H5O__dtype_decode_helper) into
   *type. libhdf5 decodes
   it without knowing `length`, and converts data with the fields it reads,
   so the classes h5py writes for Keras files are checked field by field
   and the rest refused. */
static bool
check_datatype(Walk* const walk, const unsigned char* const p,
               const uint64_t length, const uint64_t at,
               const unsigned nesting, Type* const type)
{
  uint64_t* const size = &type->size;
  uint64_t* const used = &type->used;
  if (length < 8U) {
    return fail(walk, at, "datatype of %llu bytes; needs 8",
                (unsigned long long)length);
  }
  const unsigned version = p[0] >> 4U;
  const unsigned klass   = p[0] & 0x0FU;
  const uint64_t bits    = le(p + 1, 3);
  *size                  = le(p + 4, 4);
  type->klass            = klass;
  type->base_size        = 0;
  if (version < 1U || version > 3U) {
    return fail(walk, at, "datatype version %u", version);
  }
  switch (klass) {
  case 0: { /* integer: bit offset, precision */
    if (length < 12U) {
      return fail(walk, at, "integer datatype cut short");
    }
    const uint64_t offset = le(p + 8, 2), precision = le(p + 10, 2);
    if ((*size != 1U && *size != 2U && *size != 4U && *size != 8U) ||
        precision == 0 || offset + precision > 8U * *size || bits > 0x0FU) {
      return fail(walk, at, "integer datatype with inconsistent fields");
    }
    *used = 12U;
    return true;
  }
  case 1: { /* floating point: only IEEE layouts, which libhdf5 converts
               by its hard-coded paths (bogus bit fields drive its soft
               conversion out of range) */
    if (length < 20U) {
      return fail(walk, at, "floating-point datatype cut short");
    }
    const uint64_t offset = le(p + 8, 2), precision = le(p + 10, 2);
    const unsigned epos = p[12], esize = p[13], mpos = p[14], msize = p[15];
    const uint64_t bias = le(p + 16, 4);
    const unsigned sign = (unsigned)(bits >> 8U) & 0xFFU;
    bool           ieee = false;
    if (*size == 4U) {
      ieee = precision == 32U && epos == 23U && esize == 8U && msize == 23U &&
             bias == 127U;
    } else if (*size == 8U) {
      ieee = precision == 64U && epos == 52U && esize == 11U &&
             msize == 52U && bias == 1023U;
    } else if (*size == 2U) {
      ieee = precision == 16U && epos == 10U && esize == 5U && msize == 10U &&
             bias == 15U;
    }
    /* byte order bit 0 (bit 6 would be VAX order), padding bits 1-3
       clear, normalization "implied" (bits 4-5 = 2), sign at the top */
    if (!ieee || offset != 0 || mpos != 0 || (bits & 0xFEU) != 0x20U ||
        sign != precision - 1U || (bits >> 16U) != 0) {
      return unverified(walk, at,
                        "floating-point datatype other than IEEE 754");
    }
    *used = 20U;
    return true;
  }
  case 3: /* fixed-length string: padding (bits 0-3), charset (4-7) */
    if (*size == 0 || (bits & 0x0FU) > 2U || ((bits >> 4U) & 0x0FU) > 1U ||
        (bits >> 8U) != 0) {
      return fail(walk, at, "string datatype with inconsistent fields");
    }
    *used = 8U;
    return true;
  case 9: { /* variable length: a heap ID on disk, then the base type */
    if (nesting >= MAX_DATATYPE_NESTING) {
      return fail(walk, at, "variable-length datatypes nested too deep");
    }
    /* type (bits 0-3: sequence or string), padding (4-7), charset (8-11) */
    if ((bits & 0x0FU) > 1U || ((bits >> 4U) & 0x0FU) > 2U ||
        ((bits >> 8U) & 0x0FU) > 1U || (bits >> 12U) != 0 || *size != 16U) {
      return fail(walk, at,
                  "variable-length datatype with inconsistent fields");
    }
    Type base = {0, 0, 0, 0};
    if (!check_datatype(walk, p + 8, length - 8U, at + 8U, nesting + 1U,
                        &base)) {
      return false;
    }
    if (base.klass == 9U) {
      return unverified(walk, at, "variable-length data of variable-length "
                                  "data");
    }
    *used           = 8U + base.used;
    type->base_size = base.size;
    return true;
  }
  default:
    return unverified(walk, at, "datatype class %u", klass);
  }
}

/* A dataspace encoded at p[0..length) (H5O__sdspace_decode): its encoded
   length in *used, its element count in *elements. */
static bool
check_dataspace(Walk* const walk, const unsigned char* const p,
                const uint64_t length, const uint64_t at,
                uint64_t* const used, uint64_t* const elements,
                bool* const extendible)
{
  *extendible = false;
  if (length < 4U) {
    return fail(walk, at, "dataspace cut short");
  }
  const unsigned version = p[0], rank = p[1], flags = p[2];
  if (version != 1U && version != 2U) {
    return fail(walk, at, "dataspace version %u", version);
  }
  if (rank > MAX_RANK) {
    return fail(walk, at, "dataspace of rank %u", rank);
  }
  /* bit 0: maximum dimensions follow; bit 1 (version 1): a permutation
     index, which libhdf5 never implemented */
  if (flags & ~1U) {
    return fail(walk, at, "dataspace flags 0x%02x", flags);
  }
  uint64_t header = version == 1U ? 8U : 4U;
  bool     null   = false;
  if (version == 2U) {
    if (p[3] > 2U || (p[3] != 1U && rank != 0)) {
      return fail(walk, at, "dataspace type %u of rank %u", p[3], rank);
    }
    null = p[3] == 2U;
  }
  const uint64_t arrays = (flags & 1U) ? 2U : 1U;
  *used                 = header + arrays * rank * 8U;
  if (*used > length) {
    return fail(walk, at, "dataspace of rank %u longer than its %llu bytes",
                rank, (unsigned long long)length);
  }
  uint64_t count = null ? 0 : 1;
  for (unsigned i = 0; i < rank; ++i) {
    const uint64_t dim = le(p + header + 8U * i, 8);
    if (flags & 1U) {
      const uint64_t max = le(p + header + 8U * (rank + i), 8);
      if (max != UNDEF && max < dim) {
        return fail(walk, at, "dataspace dimension above its maximum");
      }
      *extendible = *extendible || max != dim;
    }
    if (!multiply(count, dim, &count)) {
      return fail(walk, at, "dataspace with more elements than fit 64 bits");
    }
  }
  *elements = count;
  return true;
}

/* A global heap collection at `addr` (H5HG__cache_heap_deserialize): the
   size of object `index`, or false when libhdf5 would not find it. */
static bool
heap_object(const Walk* const walk, const uint64_t addr, const uint64_t index,
            uint64_t* const object_size)
{
  if (!inside(walk, addr, 16U)) {
    return false;
  }
  const unsigned char* const chunk = walk->data + addr;
  const uint64_t             size  = le(chunk + 8, 8);
  /* libhdf5 mallocs and reads the collection's size */
  if (memcmp(chunk, "GCOL", 4) != 0 || chunk[4] != 1U ||
      size < MIN_COLLECTION_SIZE || !inside(walk, addr, size)) {
    return false;
  }
  uint64_t pos = 16U, max_index = 0;
  bool     found = false;
  while (pos < size && size - pos >= 16U) { /* less: trailing free space */
    const uint64_t id = le(chunk + pos, 2), bytes = le(chunk + pos + 8, 8);
    if (bytes > size) {
      return false; /* libhdf5 steps past the end and its parse stops */
    }
    if (id == index) { /* libhdf5 keeps the last one seen */
      found        = bytes <= size - pos - 16U;
      *object_size = bytes;
    }
    const uint64_t need = id > 0 ? 16U + align8(bytes) : bytes;
    if (need == 0) {
      return false; /* libhdf5 would parse this spot forever */
    }
    max_index = id > max_index ? id : max_index;
    pos += need;
  }
  /* H5HG_read only asserts index < used and a present object */
  return found && index >= 1U && index <= max_index;
}

/* A variable-length element: a global heap ID {length u32, collection
   address, object index u32}. H5T__conv_vlen mallocs length x base size
   before reading anything (the 1.6 GiB allocations and timeouts), then
   H5HG_read copies the object's whole size into that buffer. Address 0 is
   a null element, which libhdf5 reads as nothing. */
static bool
check_heap_id(Walk* const walk, const unsigned char* const p,
              const uint64_t at, const uint64_t base_size,
              uint64_t* const total)
{
  const uint64_t length = le(p, 4), addr = le(p + 4, 8), index = le(p + 12, 4);
  uint64_t       bytes = 0, object = 0;
  if (addr == 0) {
    return true;
  }
  /* libhdf5 writes each element as one object of exactly its bytes; the
     bytes of all elements of one attribute (each allocated) are bounded by
     the file, as no two elements share an object in what h5py writes */
  if (!multiply(length, base_size, &bytes) || bytes > walk->size ||
      *total > walk->size - bytes ||
      !heap_object(walk, addr, index, &object) || object != bytes) {
    return fail(walk, at,
                "variable-length data of %llu elements at global heap "
                "%llu object %llu, which does not hold them",
                (unsigned long long)length, (unsigned long long)addr,
                (unsigned long long)index);
  }
  *total += bytes;
  return true;
}


/* An attribute message (H5O_attr_decode). libhdf5 strdup()s the name, then
   decodes the datatype and dataspace and copies elements x type size bytes
   of data, all on the message's own say-so: each part must fit. (The
   H5Aexists use-after-free: an attribute whose parts ran past the end of
   its chunk.) */
static bool
check_attribute(Walk* const walk, const unsigned char* const p,
                const uint64_t length, const uint64_t at)
{
  if (length < 8U) {
    return fail(walk, at, "attribute message cut short");
  }
  const unsigned version = p[0];
  if (version < 1U || version > 3U) {
    return fail(walk, at, "attribute message version %u", version);
  }
  if (version >= 2U && p[1] != 0) {
    return unverified(walk, at, "attribute with shared datatype or space");
  }
  const uint64_t name_size = le(p + 2, 2), type_size = le(p + 4, 2),
                 space_size = le(p + 6, 2);
  uint64_t pos = version == 3U ? 9U : 8U; /* version 3: + charset */
  if (version == 3U && (length < 9U || p[8] > 1U)) {
    return fail(walk, at, "attribute name encoding");
  }
  /* the name: NUL-terminated inside its own size */
  if (name_size == 0 || name_size > length - pos ||
      memchr(p + pos, '\0', name_size) != p + pos + name_size - 1U) {
    return fail(walk, at + pos, "attribute name not terminated inside its "
                                "%llu bytes",
                (unsigned long long)name_size);
  }
  pos += version == 1U ? align8(name_size) : name_size;
  if (type_size > length || pos > length - type_size) {
    return fail(walk, at, "attribute datatype past the message end");
  }
  Type type = {0, 0, 0, 0};
  if (!check_datatype(walk, p + pos, type_size, at + pos, 0, &type)) {
    return false;
  }
  const uint64_t element = type.size;
  pos += version == 1U ? align8(type_size) : type_size;
  if (space_size > length || pos > length - space_size) {
    return fail(walk, at, "attribute dataspace past the message end");
  }
  uint64_t elements = 0, used = 0;
  bool     extendible = false;
  if (!check_dataspace(walk, p + pos, space_size, at + pos, &used,
                       &elements, &extendible)) {
    return false;
  }
  pos += version == 1U ? align8(space_size) : space_size;
  uint64_t data = 0;
  if (pos > length || !multiply(elements, element, &data) ||
      data > length - pos) {
    return fail(walk, at, "attribute data (%llu elements of %llu bytes) "
                          "longer than its message",
                (unsigned long long)elements, (unsigned long long)element);
  }
  uint64_t total = 0;
  for (uint64_t i = 0; type.klass == 9U && i < elements; ++i) {
    if (!check_heap_id(walk, p + pos + 16U * i, at + pos + 16U * i,
                       type.base_size, &total)) {
      return false;
    }
  }
  return true;
}

/* A data layout message (H5O__layout_decode), version 3 as libhdf5 writes
   it for h5py: compact data inside the message or a contiguous block; the
   block is checked against the dataset's size once the whole header is
   read. */
static bool
check_layout(Walk* const walk, const unsigned char* const p,
             const uint64_t length, const uint64_t at, Object* const object)
{
  if (length < 2U) {
    return fail(walk, at, "layout message cut short");
  }
  if (p[0] != 3U) {
    return unverified(walk, at, "data layout version %u", p[0]);
  }
  object->layout_at = at;
  switch (p[1]) {
  case 0: /* compact: size, then the data */
    if (length < 4U || le(p + 2, 2) > length - 4U) {
      return fail(walk, at, "compact data longer than its message");
    }
    object->layout_class = 0;
    object->data_size    = le(p + 2, 2);
    return true;
  case 1: /* contiguous: address, size */
    if (length < 18U) {
      return fail(walk, at, "contiguous layout message cut short");
    }
    object->layout_class = 1;
    object->data_addr    = le(p + 2, 8);
    object->data_size    = le(p + 10, 8);
    return true;
  case 2:
    return unverified(walk, at, "chunked dataset storage");
  default:
    return fail(walk, at, "data layout class %u", p[1]);
  }
}

/* Fill values (H5O__fill_new_decode, H5O__fill_old_decode): libhdf5
   mallocs and copies the size the message states. */
static bool
check_fill(Walk* const walk, const unsigned char* const p,
           const uint64_t length, const uint64_t at, const bool old)
{
  uint64_t pos = 0;
  bool     defined = true;
  if (!old) {
    if (length < 1U) {
      return fail(walk, at, "fill value message cut short");
    }
    const unsigned version = p[0];
    if (version == 1U || version == 2U) {
      if (length < 4U || p[1] > 3U || p[2] > 2U) {
        return fail(walk, at, "fill value message fields");
      }
      /* the size and value follow only when one is defined */
      defined = p[3] != 0;
      pos     = 4U;
    } else if (version == 3U) {
      if (length < 2U || (p[1] & 0xC0U) != 0) {
        return fail(walk, at, "fill value message flags");
      }
      defined = (p[1] & 0x20U) != 0;
      pos     = 2U;
    } else {
      return fail(walk, at, "fill value message version %u", version);
    }
  }
  if (!defined) {
    return true;
  }
  if (length < pos + 4U || le(p + pos, 4) > length - pos - 4U) {
    return fail(walk, at, "fill value longer than its message");
  }
  return true;
}

/* ---- object headers ----------------------------------------------------- */

static bool
visit_object(Walk* walk, uint64_t addr, unsigned depth, uint64_t stab[2]);

/* One message of an object header (the parts libhdf5 decodes when Keras
   files are read). Continuations are queued in chunks[]. */
static bool
check_message(Walk* const walk, const unsigned type, const unsigned flags,
              const unsigned char* const p, const uint64_t length,
              const uint64_t at, Object* const object, Range* const chunks,
              unsigned* const chunk_count)
{
  if (flags & MSG_FLAG_SHARED) {
    return unverified(walk, at, "shared object header message");
  }
  if (flags & MSG_FLAGS_UNKNOWN) {
    return fail(walk, at, "object header message flags 0x%02x", flags);
  }
  uint64_t used = 0;
  switch (type) {
  case MSG_NIL:
    return true;
  case MSG_DATASPACE:
    if (object->has_space) {
      return fail(walk, at, "second dataspace message");
    }
    object->has_space = true;
    return check_dataspace(walk, p, length, at, &used, &object->elements,
                           &object->extendible);
  case MSG_DATATYPE:
    if (object->has_type) {
      return fail(walk, at, "second datatype message");
    }
    object->has_type = true;
    if (!check_datatype(walk, p, length, at, 0, &object->type)) {
      return false;
    }
    /* Keras weights are numbers: the heap IDs of variable-length data
       sets are not checked */
    if (object->type.klass == 9U) {
      return unverified(walk, at, "variable-length data set");
    }
    return true;
  case MSG_FILL_OLD:
  case MSG_FILL:
    return check_fill(walk, p, length, at, type == MSG_FILL_OLD);
  case MSG_LAYOUT:
    if (object->has_layout) {
      return fail(walk, at, "second layout message");
    }
    object->has_layout = true;
    return check_layout(walk, p, length, at, object);
  case MSG_ATTRIBUTE:
    return check_attribute(walk, p, length, at);
  case MSG_COMMENT: /* strdup()ed */
    if (!memchr(p, '\0', length)) {
      return fail(walk, at, "comment not terminated inside its message");
    }
    return true;
  case MSG_MTIME_OLD: /* 14 digits read in place */
  case MSG_MTIME:     /* version, 3 reserved, seconds */
    if (length < (type == MSG_MTIME ? 8U : 14U)) {
      return fail(walk, at, "modification time message cut short");
    }
    return true;
  case MSG_CONTINUE: {
    if (length < 16U) {
      return fail(walk, at, "continuation message cut short");
    }
    if (*chunk_count >= MAX_CHUNKS) {
      return fail(walk, at, "more than %u header continuation chunks",
                  MAX_CHUNKS);
    }
    const uint64_t chunk = le(p, 8), chunk_size = le(p + 8, 8);
    /* libhdf5 mallocs chunk_size before reading the chunk: the
       488 GiB allocation in H5Fopen */
    if (chunk_size < MSG_HEADER_SIZE || !inside(walk, chunk, chunk_size)) {
      return fail(walk, at,
                  "header continuation of %llu bytes at %llu outside the "
                  "file (%llu bytes)",
                  (unsigned long long)chunk_size, (unsigned long long)chunk,
                  (unsigned long long)walk->size);
    }
    chunks[(*chunk_count)++] = (Range){chunk, chunk + chunk_size};
    return true;
  }
  case MSG_SYMBOL_TAB:
    if (object->group) {
      return fail(walk, at, "second symbol table message");
    }
    if (length < 16U) {
      return fail(walk, at, "symbol table message cut short");
    }
    object->group   = true;
    object->btree   = le(p, 8);
    object->heap    = le(p + 8, 8);
    object->stab_at = at;
    return true;
  default:
    return unverified(walk, at, "object header message type 0x%04x", type);
  }
}

/* The messages of one chunk (H5O__chunk_deserialize for version 1): they
   must tile the chunk exactly, each 8-aligned (libhdf5 reads a message
   header wherever the previous message ends, even in the last 7 bytes). */
static bool
check_chunk(Walk* const walk, const uint64_t begin, const uint64_t end,
            Object* const object, Range* const chunks,
            unsigned* const chunk_count, uint64_t* const messages)
{
  uint64_t at = begin;
  while (at < end) {
    if (end - at < MSG_HEADER_SIZE) {
      return fail(walk, at, "object header message header cut short");
    }
    const unsigned char* const h = walk->data + at;
    const unsigned type = (unsigned)le(h, 2), flags = h[4];
    const uint64_t length = le(h + 2, 2);
    if (length != align8(length)) {
      return fail(walk, at, "object header message size %llu not a "
                            "multiple of 8",
                  (unsigned long long)length);
    }
    if (length > end - at - MSG_HEADER_SIZE) {
      return fail(walk, at, "object header message of %llu bytes past its "
                            "chunk",
                  (unsigned long long)length);
    }
    if (!check_message(walk, type, flags, h + MSG_HEADER_SIZE, length,
                       at + MSG_HEADER_SIZE, object, chunks, chunk_count)) {
      return false;
    }
    ++*messages;
    at += MSG_HEADER_SIZE + length;
  }
  return true;
}

static bool
visit_group(Walk* walk, const Object* object, uint64_t header,
            unsigned depth);

/* A version-1 object header at `addr` (H5O__cache_deserialize and the
   continuation loop of H5O_protect), then what it describes. A group's
   B-tree and heap addresses go to stab[] (UNDEF for other objects). */
static bool
visit_object(Walk* const walk, const uint64_t addr, const unsigned depth,
             uint64_t stab[2])
{
  stab[0] = stab[1] = UNDEF;
  if (++walk->objects > MAX_OBJECTS) {
    return fail(walk, addr, "more than %u objects", MAX_OBJECTS);
  }
  if (!inside(walk, addr, OHDR_V1_PREFIX)) {
    return fail(walk, addr, "object header outside the file");
  }
  const unsigned char* const p = walk->data + addr;
  if (memcmp(p, "OHDR", 4) == 0) {
    return unverified(walk, addr, "version-2 object header");
  }
  if (p[0] != 1U) {
    return fail(walk, addr, "object header version %u", p[0]);
  }
  const uint64_t declared = le(p + 2, 2);
  const uint64_t chunk0   = le(p + 8, 4);
  if (declared == 0 || chunk0 < MSG_HEADER_SIZE) {
    return fail(walk, addr, "object header with %llu messages in %llu bytes",
                (unsigned long long)declared, (unsigned long long)chunk0);
  }
  /* the prefix and chunk 0 are one cache entry: reached twice (a cycle,
     or two links to one object, which h5py never writes) it overlaps */
  if (!claim(walk, addr, OHDR_V1_PREFIX + chunk0, "object header")) {
    return false;
  }
  Range* const chunks = malloc(MAX_CHUNKS * sizeof(Range));
  if (!chunks) {
    return fail(walk, addr, "out of memory checking the file");
  }
  Object   object      = {0};
  unsigned chunk_count = 0;
  uint64_t messages    = 0;
  bool     ok          = check_chunk(walk, addr + OHDR_V1_PREFIX,
                                     addr + OHDR_V1_PREFIX + chunk0, &object,
                                     chunks, &chunk_count, &messages);
  /* continuation chunks, in the order libhdf5 loads them; each is claimed,
     so none overlaps the header, another chunk or itself */
  for (unsigned i = 0; ok && i < chunk_count; ++i) {
    ok = claim(walk, chunks[i].begin, chunks[i].end - chunks[i].begin,
               "object header continuation") &&
         check_chunk(walk, chunks[i].begin, chunks[i].end, &object, chunks,
                     &chunk_count, &messages);
  }
  free(chunks);
  if (!ok) {
    return false;
  }
  if (messages != declared) {
    return fail(walk, addr, "object header declares %llu messages, holds "
                            "%llu",
                (unsigned long long)declared, (unsigned long long)messages);
  }
  object.dataset = object.has_layout;
  if (object.group && (object.dataset || object.has_type ||
                       object.has_space)) {
    return fail(walk, addr, "object header both group and dataset");
  }
  if (object.dataset) {
    /* libhdf5 reads elements x type size bytes from the layout */
    uint64_t bytes = 0;
    if (!object.has_type || !object.has_space) {
      return fail(walk, addr, "dataset without datatype or dataspace");
    }
    /* libhdf5 refuses (and leaks on) extendible compact or contiguous
       data sets; h5py makes them chunked, which is refused above */
    if (object.extendible) {
      return fail(walk, object.layout_at,
                  "extendible dataset without chunked storage");
    }
    if (!multiply(object.elements, object.type.size, &bytes) ||
        bytes != object.data_size) {
      return fail(walk, object.layout_at,
                  "dataset storage of %llu bytes for %llu elements of %llu "
                  "bytes",
                  (unsigned long long)object.data_size,
                  (unsigned long long)object.elements,
                  (unsigned long long)object.type.size);
    }
    if (object.layout_class == 1 && object.data_addr != UNDEF &&
        !claim(walk, object.data_addr, object.data_size, "dataset data")) {
      return false;
    }
  }
  if (object.group) {
    stab[0] = object.btree;
    stab[1] = object.heap;
    return visit_group(walk, &object, addr, depth);
  }
  return true;
}

/* A symbol table entry's cached B-tree and heap addresses (cache type 1,
   which h5py writes for groups) must be the group's own: libhdf5 uses
   either, and H5G_mkroot "repairs" a root entry that differs by writing to
   the read-only file. */
static bool
check_cached(Walk* const walk, const uint64_t entry, const uint64_t cache,
             const uint64_t stab[2])
{
  if (cache == 1U && (stab[0] == UNDEF ||
                      le(walk->data + entry + 24U, 8) != stab[0] ||
                      le(walk->data + entry + 32U, 8) != stab[1])) {
    return fail(walk, entry, "cached symbol table differs from the group's");
  }
  return true;
}

/* ---- groups ------------------------------------------------------------- */

/* A link name at `offset` of the heap: H5HL_offset_into checks only the
   offset, and libhdf5 then strcmp()s / strdup()s the name. */
static bool
check_name(Walk* const walk, const Heap* const heap, const uint64_t offset,
           const uint64_t at)
{
  if (offset >= heap->size ||
      !memchr(walk->data + heap->data + offset, '\0', heap->size - offset)) {
    return fail(walk, at, "link name at heap offset %llu outside its heap",
                (unsigned long long)offset);
  }
  return true;
}

/* A local heap (H5HL__hdr_deserialize, H5HL__fl_deserialize). */
static bool
check_heap(Walk* const walk, const uint64_t addr, Heap* const heap)
{
  if (!claim(walk, addr, HEAP_PREFIX_SIZE, "local heap")) {
    return false;
  }
  const unsigned char* const p = walk->data + addr;
  if (memcmp(p, "HEAP", 4) != 0 || p[4] != 0) {
    return fail(walk, addr, "local heap signature or version");
  }
  heap->size         = le(p + 8, 8);
  uint64_t free_next = le(p + 16, 8);
  heap->data         = le(p + 24, 8);
  /* libhdf5 mallocs the data block's size, then reads it */
  if (heap->size == 0 ||
      !claim(walk, heap->data, heap->size, "local heap data")) {
    return fail(walk, addr, "local heap data block of %llu bytes",
                (unsigned long long)heap->size);
  }
  /* The free list: libhdf5 reads two lengths at each offset without
     checking they fit, and follows the list without a bound (a cycle
     loops forever, allocating). Blocks are at least 16 bytes apart. */
  uint64_t steps = heap->size / 16U + 1U;
  while (free_next != HEAP_FREE_NULL) {
    if (steps-- == 0 || free_next >= heap->size ||
        heap->size - free_next < 16U) {
      return fail(walk, addr, "local heap free list");
    }
    const unsigned char* const block = walk->data + heap->data + free_next;
    const uint64_t             size  = le(block + 8, 8);
    if (size > heap->size - free_next) {
      return fail(walk, heap->data + free_next, "local heap free block");
    }
    free_next = le(block, 8);
    if (free_next == 0) {
      return fail(walk, heap->data + free_next, "local heap free list");
    }
  }
  return true;
}

/* A symbol-table node (H5G__cache_node_deserialize): libhdf5 decodes
   `count` entries into an array of 2K without checking count <= 2K. */
static bool
visit_symbol_node(Walk* const walk, const Heap* const heap,
                  const uint64_t addr, const unsigned depth)
{
  const uint64_t size = 8U + 2U * (uint64_t)walk->leaf_k * ENTRY_SIZE;
  if (!claim(walk, addr, size, "symbol table node")) {
    return false;
  }
  const unsigned char* const p = walk->data + addr;
  if (memcmp(p, "SNOD", 4) != 0 || p[4] != 1U) {
    return fail(walk, addr, "symbol table node signature or version");
  }
  const uint64_t count = le(p + 6, 2);
  if (count > 2U * (uint64_t)walk->leaf_k) {
    return fail(walk, addr, "symbol table node with %llu entries; holds %u",
                (unsigned long long)count, 2U * walk->leaf_k);
  }
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t             at = addr + 8U + i * ENTRY_SIZE;
    const unsigned char* const e  = walk->data + at;
    const uint64_t             header = le(e + 8, 8);
    const uint64_t             cache  = le(e + 16, 4);
    if (!check_name(walk, heap, le(e, 8), at)) {
      return false;
    }
    if (cache == 2U) {
      return unverified(walk, at, "soft link");
    }
    if (cache > 2U) {
      return fail(walk, at, "symbol table entry cache type %llu",
                  (unsigned long long)cache);
    }
    uint64_t stab[2];
    if (!visit_object(walk, header, depth + 1U, stab) ||
        !check_cached(walk, at, cache, stab)) {
      return false;
    }
  }
  return true;
}

/* A group B-tree node (H5B__cache_deserialize, H5B__iterate_helper):
   libhdf5 recurses down `level` without a depth bound or cycle check and
   compares names at the keys' heap offsets. */
static bool
visit_btree(Walk* const walk, const Heap* const heap, const uint64_t addr,
            const unsigned expected_level, const unsigned depth)
{
  const uint64_t two_k = 2U * (uint64_t)walk->internal_k;
  const uint64_t size  = 24U + two_k * 8U + (two_k + 1U) * 8U;
  if (!claim(walk, addr, size, "group B-tree node")) {
    return false;
  }
  const unsigned char* const p = walk->data + addr;
  if (memcmp(p, "TREE", 4) != 0 || p[4] != 0) {
    return fail(walk, addr, "group B-tree node signature or type");
  }
  const unsigned level = p[5];
  const uint64_t count = le(p + 6, 2);
  if (expected_level != UINT32_MAX ? level != expected_level
                                   : level > MAX_BTREE_LEVEL) {
    return fail(walk, addr, "group B-tree node level %u", level);
  }
  if (count > two_k) {
    return fail(walk, addr, "group B-tree node with %llu children; holds "
                            "%llu",
                (unsigned long long)count, (unsigned long long)two_k);
  }
  for (unsigned s = 0; s < 2U; ++s) { /* siblings */
    const uint64_t sibling = le(p + 8 + 8U * s, 8);
    if (sibling != UNDEF && !inside(walk, sibling, size)) {
      return fail(walk, addr + 8U + 8U * s, "group B-tree sibling outside "
                                            "the file");
    }
  }
  /* key 0, child 0, key 1, ..., child count-1, key count */
  for (uint64_t i = 0; i <= count; ++i) {
    const uint64_t at = addr + 24U + i * 16U;
    if (!check_name(walk, heap, le(walk->data + at, 8), at)) {
      return false;
    }
    if (i == count) {
      break;
    }
    const uint64_t child = le(walk->data + at + 8U, 8);
    const bool     ok =
      level > 0 ? visit_btree(walk, heap, child, level - 1U, depth)
                : visit_symbol_node(walk, heap, child, depth);
    if (!ok) {
      return false;
    }
  }
  return true;
}

/* An old-style group: its local heap, then its B-tree. */
static bool
visit_group(Walk* const walk, const Object* const object,
            const uint64_t header, const unsigned depth)
{
  if (depth >= MAX_GROUP_DEPTH) {
    return fail(walk, header, "groups nested more than %u deep",
                MAX_GROUP_DEPTH);
  }
  Heap heap = {0, 0};
  if (!check_heap(walk, object->heap, &heap)) {
    return false;
  }
  return visit_btree(walk, &heap, object->btree, UINT32_MAX, depth);
}

/* ---- superblock --------------------------------------------------------- */

static bool
check_file(Walk* const walk, const uint64_t image_size)
{
  const unsigned char* const p = walk->data;
  if (image_size < SUPERBLOCK_V0_SIZE ||
      memcmp(p, "\211HDF\r\n\032\n", 8) != 0) {
    return fail(walk, 0, "superblock cut short");
  }
  const unsigned version = p[8];
  if (version > 1U) {
    return unverified(walk, 8, "superblock version %u", version);
  }
  /* versions of the free-space, root entry and shared-header formats */
  if (p[9] != 0 || p[10] != 0 || p[12] != 0) {
    return fail(walk, 9, "superblock format versions");
  }
  if (p[13] != 8U || p[14] != 8U) {
    return unverified(walk, 13, "%u-byte addresses, %u-byte lengths", p[13],
                      p[14]);
  }
  walk->leaf_k     = (unsigned)le(p + 16, 2);
  walk->internal_k = (unsigned)le(p + 18, 2);
  if (walk->leaf_k == 0 || walk->internal_k == 0) {
    return fail(walk, 16, "group node rank 0");
  }
  const uint64_t base = version == 1U ? 24U + SUPERBLOCK_V1_EXTRA : 24U;
  const uint64_t sb_size = SUPERBLOCK_V0_SIZE + (base - 24U);
  if (image_size < sb_size) {
    return fail(walk, 0, "superblock cut short");
  }
  if (version == 1U && le(p + 24, 2) == 0) {
    return fail(walk, 24, "indexed storage rank 0");
  }
  /* base address: addresses are relative to it; h5py writes 0 and the
     signature is at 0 (load.c detects it there) */
  if (le(p + base, 8) != 0) {
    return fail(walk, base, "base address %llu",
                (unsigned long long)le(p + base, 8));
  }
  const uint64_t eof = le(p + base + 16U, 8);
  if (eof > image_size || eof < sb_size) {
    return fail(walk, base + 16U,
                "end-of-file address %llu for a file of %llu bytes",
                (unsigned long long)eof, (unsigned long long)image_size);
  }
  walk->size = eof;
  /* a driver information block selects a multi-file driver */
  if (le(p + base + 24U, 8) != UNDEF) {
    return unverified(walk, base + 24U, "driver information block");
  }
  if (!claim(walk, 0, sb_size, "superblock")) {
    return false;
  }
  /* the root group's symbol table entry */
  const uint64_t             entry = base + 32U;
  const unsigned char* const e     = p + entry;
  const uint64_t             root  = le(e + 8, 8);
  const uint64_t             cache = le(e + 16, 4);
  if (cache > 1U) {
    return fail(walk, entry + 16U, "root entry cache type %llu",
                (unsigned long long)cache);
  }
  uint64_t stab[2];
  return visit_object(walk, root, 0, stab) &&
         check_cached(walk, entry, cache, stab);
}

SwStatus
sw_hdf5_validate(const char* const bytes, const size_t size,
                 const char* const path, SwError* const err)
{
  Walk walk = {0};
  walk.data = (const unsigned char*)bytes;
  walk.size = size;
  const bool ok = check_file(&walk, size);
  free(walk.ranges);
  if (ok) {
    return SW_SUCCESS;
  }
  if (walk.unverified) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: HDF5 layout Statewave does not verify (%s), at "
                        "offset %llu; expected a file as h5py writes it",
                        path, walk.what, (unsigned long long)walk.offset);
  }
  return sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: damaged HDF5: %s at offset %llu", path, walk.what,
                      (unsigned long long)walk.offset);
}
