/* Counts the calls a real-time path must never make, while armed: the
   malloc family, free, pthread_mutex_lock, and opening files or sockets.

   The executable that links this defines those functions itself and must
   be built with export_dynamic, so shared libraries and dlopen'ed plugins
   bind to these definitions (ELF interposition); run it with
   LD_BIND_NOW=1 so lazy symbol binding stays out of the armed windows. */

#ifndef SW_TEST_RT_INTERPOSER_H
#define SW_TEST_RT_INTERPOSER_H

#include <stdbool.h>

/* Resolve the real functions (may allocate: call before arming) and prove
   the counters see direct calls; false (with a message) if they do not. */
bool
rt_interposer_ready(void);

/* Start counting on every thread. */
void
rt_arm(void);

/* Stop counting; print "FAIL: <what>: called <fn> N time(s)" for each kind
   of call seen and return how many calls were seen in all. */
unsigned long
rt_disarm(const char* what);

/* Stop counting, print nothing and return how many allocations (the malloc
   family, not free) were seen: for checks that calls were seen at all. */
unsigned long
rt_disarm_count(void);

#endif
