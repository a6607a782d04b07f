/*
  The fixed strings the library hands out: every status has a non-empty
  description, every activation its Keras name, every layer type its
  name, and the version has the
  documented MAJOR.MINOR.PATCH form.
*/

#include "unit_support.h"

#include <stdio.h>
#include <string.h>

static void
check_strerror(void)
{
  const SwStatus all[] = {SW_SUCCESS,       SW_ERR_BAD_ARG,
                          SW_ERR_NO_MEMORY, SW_ERR_IO,
                          SW_ERR_BAD_MODEL, SW_ERR_UNSUPPORTED,
                          SW_ERR_BACKEND};
  const size_t   count = sizeof(all) / sizeof(all[0]);
  for (size_t i = 0; i < count; ++i) {
    const char* const text = sw_strerror(all[i]);
    EXPECT(text && text[0], "sw_strerror(%d) is NULL or empty", (int)all[i]);
    /* Distinct texts: a message must tell the cases apart. */
    for (size_t j = 0; j < i; ++j) {
      const char* const other = sw_strerror(all[j]);
      EXPECT(!text || !other || strcmp(text, other) != 0,
             "sw_strerror(%d) and sw_strerror(%d) are both \"%s\"",
             (int)all[i], (int)all[j], text ? text : "");
    }
  }
  /* A value from a newer library (or garbage) still gives printable text. */
  const char* const unknown = sw_strerror((SwStatus)999);
  EXPECT(unknown && unknown[0], "sw_strerror(999) is NULL or empty");
}

static void
check_activation_names(void)
{
  typedef struct {
    SwActivation act;
    const char*  name;
    const char*  alias; /* a second accepted Keras spelling, or NULL */
  } Named;

  const Named named[] = {
    {SW_ACT_LINEAR, "linear", NULL},
    {SW_ACT_TANH, "tanh", NULL},
    {SW_ACT_RELU, "relu", NULL},
    {SW_ACT_SIGMOID, "sigmoid", NULL},
    {SW_ACT_HARD_SIGMOID, "hard_sigmoid", NULL},
    {SW_ACT_HARD_SIGMOID_K3, "hard_sigmoid_k3", NULL},
    {SW_ACT_ELU, "elu", NULL},
    {SW_ACT_SELU, "selu", NULL},
    {SW_ACT_SOFTSIGN, "softsign", NULL},
    {SW_ACT_SOFTPLUS, "softplus", NULL},
    {SW_ACT_SWISH, "swish", "silu"},
  };
  const size_t count = sizeof(named) / sizeof(named[0]);
  for (size_t i = 0; i < count; ++i) {
    const char* const name = sw_activation_name(named[i].act);
    const bool        matches =
      name && (!strcmp(name, named[i].name) ||
               (named[i].alias && !strcmp(name, named[i].alias)));
    EXPECT(matches, "sw_activation_name(%d) is \"%s\", expected \"%s\"",
           (int)named[i].act, name ? name : "(null)", named[i].name);
  }

  const char* const default_name = sw_activation_name(SW_ACT_DEFAULT);
  EXPECT(default_name && default_name[0],
         "sw_activation_name(SW_ACT_DEFAULT) is NULL or empty");

  const char* const unknown = sw_activation_name((SwActivation)999);
  EXPECT(unknown && unknown[0], "sw_activation_name(999) is NULL or empty");
}

static void
check_layer_type_names(void)
{
  const SwLayerType types[] = {SW_LAYER_LSTM, SW_LAYER_GRU, SW_LAYER_SIMPLE_RNN,
                               SW_LAYER_DENSE};
  const char* const names[] = {"LSTM", "GRU", "SimpleRNN", "Dense"};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); ++i) {
    const char* const name = sw_layer_type_name(types[i]);
    EXPECT(name && !strcmp(name, names[i]),
           "sw_layer_type_name(%d) is \"%s\", expected \"%s\"", (int)types[i],
           name ? name : "(null)", names[i]);
  }
  const char* const unknown = sw_layer_type_name((SwLayerType)999);
  EXPECT(unknown && unknown[0], "sw_layer_type_name(999) is NULL or empty");
}

static void
check_version(void)
{
  const char* const version = sw_version();
  EXPECT(version != NULL, "sw_version() is NULL");
  if (!version) {
    return;
  }
  unsigned major = 0;
  unsigned minor = 0;
  unsigned patch = 0;
  int      used  = 0;
  const int fields = sscanf(version, "%u.%u.%u%n", &major, &minor, &patch, &used);
  EXPECT(fields == 3 && version[used] == '\0',
         "sw_version() is \"%s\", expected MAJOR.MINOR.PATCH", version);
}

int
main(void)
{
  check_strerror();
  check_activation_names();
  check_layer_type_names();
  check_version();
  return unit_finish("strings");
}
