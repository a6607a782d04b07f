/* Fuzz target for the Keras 3 .keras reader (keras3_zip.c, through libzip
   and the HDF5 side it shares with keras_h5.c). Readers are chosen by
   content, so this target shares its body with the others; what aims it at
   this reader is its seed corpus (corpus/keras3/: .keras files from
   tests/data/keras3/) and dictionary (keras3.dict). */

#include "fuzz_harness.h"

int
LLVMFuzzerTestOneInput(const uint8_t* const data, const size_t size)
{
  return fuzz_load_and_run(data, size);
}
