/* Destructors accept NULL, as free() does, so cleanup paths stay simple. */

#include "unit_support.h"

int
main(void)
{
  sw_model_free(NULL);
  sw_engine_free(NULL);
  /* Reaching this line is the check: a NULL dereference would crash. */
  return unit_finish("free_null");
}
