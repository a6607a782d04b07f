/* Fuzz target for the Keras 2 HDF5 .h5 reader (keras_h5.c, keras_config.c,
   hdf5_guard.c). Readers are chosen by content, so this target shares its
   body with the others; what aims it at this reader is its seed corpus
   (corpus/keras_h5/) and dictionary (keras_h5.dict). Inputs that once broke
   the reader live in regressions/keras_h5/ and are replayed by every
   build. */

#include "fuzz_harness.h"

int
LLVMFuzzerTestOneInput(const uint8_t* const data, const size_t size)
{
  return fuzz_load_and_run(data, size);
}
