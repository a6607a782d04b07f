/* The rt interposer's stand-in for sanitizer builds (b_sanitize), where it
   cannot run: it replaces malloc & co., which the sanitizer owns. Tests
   that check behaviour as well as real-time rules (live_rt, plugin_host)
   link this instead and still run; nothing is counted, and
   rt_interposer_ready() says so. Tests that only check real-time rules
   (the rt suite) are skipped in those builds. */

#include "rt_interposer.h"

#include <stdio.h>

bool
rt_interposer_ready(void)
{
  printf("note: a sanitizer build: the rt interposer is not linked, so "
         "allocations, locks and opens in the real-time paths are not "
         "counted here (the build without sanitizers counts them)\n");
  return true;
}

void
rt_arm(void)
{
}

unsigned long
rt_disarm(const char* const what)
{
  (void)what;
  return 0;
}

unsigned long
rt_disarm_count(void)
{
  return 0;
}
