/* A stand-in for a GPU backend, for the cuda suite's tests on machines
   without one: the CPU backend under the name "fused", failing on purpose
   from block `flaky_fail_at` on, at the stage `flaky_fail_stage`; submit
   keeps the input and collect computes it, as a device would between the
   two. Install it with sw_backend_override(). */

#ifndef SW_TEST_FLAKY_BACKEND_H
#define SW_TEST_FLAKY_BACKEND_H

#include "backend.h"

#include <stdbool.h>
#include <stdint.h>

enum { FAIL_IN_PROCESS, FAIL_IN_SUBMIT, FAIL_IN_COLLECT };

extern uint32_t flaky_fail_at;    /* the first block that fails */
extern int      flaky_fail_stage; /* FAIL_IN_* */
extern bool     flaky_usable;     /* what its probe answers */

extern const SwBackendIface flaky_backend;

#endif
