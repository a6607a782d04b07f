/* Fuzz target for the RTNeural/AIDA-X JSON (rtneural.c) reader.
   Readers are chosen by content, so this target shares its body with the
   others; what aims it at this reader is its seed corpus
   (corpus/rtneural/) and dictionary (rtneural.dict). Inputs that once broke the
   reader live in regressions/rtneural/ and are replayed by every build. */

#include "fuzz_harness.h"

int
LLVMFuzzerTestOneInput(const uint8_t* const data, const size_t size)
{
  return fuzz_load_and_run(data, size);
}
