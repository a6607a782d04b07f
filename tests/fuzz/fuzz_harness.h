/* The body every fuzz target shares: the readers are chosen by content, so
   one entry point reaches them all; the targets differ in their seed corpus
   and dictionary, which is what steers the fuzzer into one reader. */

#ifndef STATEWAVE_FUZZ_HARNESS_H
#define STATEWAVE_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* Load `size` bytes as a model and, when one comes back, run it briefly.
   Returns 0 (libFuzzer reserves other values). */
int
fuzz_load_and_run(const uint8_t* data, size_t size);

/* libFuzzer's entry point, defined by each fuzz_<reader>.c and also called
   by replay_main.c in builds without libFuzzer. */
int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#endif
