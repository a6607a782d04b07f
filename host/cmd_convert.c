/*
  statewave convert: load a model of any readable format and write it as
  RTNeural/AIDA-X JSON or GuitarML JSON (sw_model_save), exactly: the
  written file loads back with the same weights and bit-identical output.
*/

#include "cli.h"

#include <getopt.h>
#include <string.h>

void
cmd_convert_usage(FILE* stream)
{
  fputs(
    "Usage: statewave convert [OPTION]... IN OUT\n"
    "\n"
    "Load the model in IN (any format 'statewave info' reads) and write it\n"
    "to OUT, so that it loads back with the same weights and bit-identical\n"
    "output. OUT is written under a temporary name and renamed into place;\n"
    "a failed conversion leaves no OUT behind.\n"
    "\n"
    "Options:\n"
    "  -t, --to FORMAT  rtneural: RTNeural / AIDA-X JSON (also 'aidax'):\n"
    "                     LSTM, GRU, Dense and Conv1D layers; skip, gains,\n"
    "                     sample rate and metadata; an LSTM's two biases\n"
    "                     become their sum. RTNeural and AIDA-X cannot load\n"
    "                     a reset-before GRU or the activations\n"
    "                     hard_sigmoid, selu, softsign, softplus and swish;\n"
    "                     these are written for Statewave, with a warning.\n"
    "                   guitarml: GuitarML / Proteus JSON: 1..63 LSTM or\n"
    "                     reset-after GRU layers of one size, then one\n"
    "                     linear Dense layer, no gains\n"
    "                   Default: rtneural when OUT ends in .json or .aidax.\n"
    "                   Models a format cannot hold (SimpleRNN, a learned\n"
    "                   initial state as in NAM files, recurrent\n"
    "                   activations other than tanh and sigmoid, ...) are\n"
    "                   refused with the layer and the reason.\n"
    "      --arch FILE  the architecture of a Keras weights-only .h5 IN\n"
    "                   (model.save_weights): a JSON spec, see README\n"
    "  -v, --verbose    also print library information\n"
    "  -h, --help       print this help and exit\n"
    "\n"
    "Exit status: 0 on success, 1 when IN cannot be read, the format cannot\n"
    "hold the model or OUT cannot be written, 2 on bad usage.\n",
    stream);
}

static bool
ends_with(const char* text, const char* suffix)
{
  const size_t n = strlen(text);
  const size_t s = strlen(suffix);
  return n > s && !strcmp(text + n - s, suffix);
}

static bool
parse_format(const char* name, SwModelFormat* format)
{
  if (!strcmp(name, "rtneural") || !strcmp(name, "aidax") ||
      !strcmp(name, "aida-x")) {
    *format = SW_FORMAT_RTNEURAL_JSON;
    return true;
  }
  if (!strcmp(name, "guitarml") || !strcmp(name, "proteus")) {
    *format = SW_FORMAT_GUITARML_JSON;
    return true;
  }
  return false;
}

int
cmd_convert(int argc, char** argv)
{
  static const struct option long_options[] = {
    {"to", required_argument, NULL, 't'},
    {"arch", required_argument, NULL, CLI_OPT_ARCH},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };

  const CliCommand* const command    = cli_command("convert");
  SwModelFormat           format     = SW_FORMAT_RTNEURAL_JSON;
  bool                    format_set = false;
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":t:vh", long_options, NULL)) != -1) {
    switch (opt) {
    case 't':
      if (!parse_format(optarg, &format)) {
        return cli_usage_error(command,
                               "unknown format '%s' for --to; expected "
                               "rtneural or guitarml",
                               optarg);
      }
      format_set = true;
      break;
    case CLI_OPT_ARCH:
      cli_set_arch(optarg);
      break;
    case 'v':
      cli_set_verbose(true);
      break;
    case 'h':
      cmd_convert_usage(stdout);
      return CLI_EXIT_SUCCESS;
    default:
      return cli_option_error(command, opt, argv);
    }
  }

  if (argc - optind < 2) {
    return cli_usage_error(command, "missing %s",
                           optind >= argc ? "IN and OUT" : "OUT");
  }
  if (argc - optind > 2) {
    return cli_usage_error(command, "unexpected argument '%s'",
                           argv[optind + 2]);
  }
  const char* const in  = argv[optind];
  const char* const out = argv[optind + 1];
  /* Both JSON formats end in .json, so only RTNeural's is a default:
     it holds every model GuitarML's does and more. */
  if (!format_set && !ends_with(out, ".json") && !ends_with(out, ".aidax")) {
    return cli_usage_error(command,
                           "cannot tell the format from '%s'; name it with "
                           "--to rtneural or --to guitarml",
                           out);
  }

  SwModel* const model = cli_load_model(in);
  if (!model) {
    return CLI_EXIT_FAILURE;
  }
  SwError   err    = {SW_SUCCESS, ""};
  const int result = sw_model_save(model, out, format, &err)
                       ? cli_library_error(&err)
                       : CLI_EXIT_SUCCESS;
  sw_model_free(model);
  return result;
}
