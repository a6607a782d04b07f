#include "activation.h"

const char*
sw_activation_name(const SwActivation act)
{
  switch (act) {
  case SW_ACT_DEFAULT:
    return "default";
  case SW_ACT_LINEAR:
    return "linear";
  case SW_ACT_TANH:
    return "tanh";
  case SW_ACT_RELU:
    return "relu";
  case SW_ACT_SIGMOID:
    return "sigmoid";
  case SW_ACT_HARD_SIGMOID:
    return "hard_sigmoid";
  case SW_ACT_HARD_SIGMOID_K3:
    return "hard_sigmoid_k3";
  case SW_ACT_ELU:
    return "elu";
  case SW_ACT_SELU:
    return "selu";
  case SW_ACT_SOFTSIGN:
    return "softsign";
  case SW_ACT_SOFTPLUS:
    return "softplus";
  case SW_ACT_SWISH:
    return "swish";
  }
  return "unknown";
}

bool
sw_activation_valid(const SwActivation act)
{
  return (unsigned)act <= (unsigned)SW_ACT_SWISH;
}
