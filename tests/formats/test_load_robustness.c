/*
  sw_model_load on damaged files never crashes: for truncated copies of
  every shared GuitarML and NAM file (every 1/50th of its length, and the
  first 64 bytes one by one), seeded random byte flips and swaps, targeted edits
  (sizes that disagree with the weights, numbers turned into strings,
  non-finite and huge numbers, shortened arrays, renamed keys), deep
  nesting, empty, binary and NUL-containing files, a directory and a
  missing path, it returns either a usable model or NULL with a non-empty
  message that contains the file's path. Damage that leaves no valid model
  (anything cut before the final '}', mismatched sizes, non-numbers, ...)
  must be refused.

  Usage: test_load_robustness MODELS_DIR [--quick]
  (--quick: fewer cases, for running under valgrind)
*/

#include "formats_support.h"

#include <statewave/statewave.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum {
  MAY_LOAD,  /* the damage may leave a valid model */
  MUST_FAIL, /* no valid model can come out of this */
  MUST_LOAD, /* an intact copy: the control */
} Expectation;

static int    failures = 0;
static size_t cases    = 0;
static size_t loaded   = 0;
static char   temp_dir[64];
static char   case_path[128];

static uint64_t
next_random(uint64_t* const state)
{
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z          = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z          = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

/* A loaded model must be usable: make an engine and run a few frames. */
static void
exercise(const SwModel* const model, const char* const what)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  if (info.input_width == 0 || info.output_width == 0 ||
      info.input_width > 64 || info.output_width > 64) {
    fprintf(stderr, "FAIL: %s: loaded with input width %u, output width "
            "%u\n", what, (unsigned)info.input_width,
            (unsigned)info.output_width);
    ++failures;
    return;
  }
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = SW_BACKEND_CPU;
  config.max_block      = 64;
  SwEngine* const engine = sw_engine_new(model, &config, NULL);
  if (!engine) {
    return; /* e.g. too big for memory: refusing is fine */
  }
  static float in[64 * 64];
  static float out[64 * 64];
  for (size_t i = 0; i < 64U * info.input_width; ++i) {
    in[i] = 0.1f * (float)(i % 7U) - 0.3f;
  }
  const SwStatus status = sw_engine_process_frames(engine, in, out, 64);
  if (status != SW_SUCCESS) {
    fprintf(stderr, "FAIL: %s: loaded, but process_frames failed: %s\n",
            what, sw_strerror(status));
    ++failures;
  }
  sw_engine_free(engine);
}

/* Load `path` and judge the result. */
static void
judge(const char* const path, const Expectation expectation,
      const char* const what)
{
  ++cases;
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  if (model) {
    ++loaded;
    if (expectation == MUST_FAIL) {
      fprintf(stderr, "FAIL: %s: loaded, but it cannot be a valid model\n",
              what);
      ++failures;
    } else {
      exercise(model, what);
    }
    sw_model_free(model);
    return;
  }
  if (expectation == MUST_LOAD) {
    fprintf(stderr, "FAIL: %s: an intact copy did not load: %s\n", what,
            err.message);
    ++failures;
    return;
  }
  const bool plausible = err.status == SW_ERR_BAD_MODEL ||
                         err.status == SW_ERR_UNSUPPORTED ||
                         err.status == SW_ERR_IO;
  if (!plausible) {
    fprintf(stderr, "FAIL: %s: status %s (%d), expected bad model, "
            "unsupported or I/O\n", what, sw_strerror(err.status),
            (int)err.status);
    ++failures;
  }
  if (!err.message[0]) {
    fprintf(stderr, "FAIL: %s: NULL with an empty message\n", what);
    ++failures;
  } else if (!strstr(err.message, path)) {
    fprintf(stderr, "FAIL: %s: message \"%s\" does not contain the path "
            "%s\n", what, err.message, path);
    ++failures;
  }
}

/* Write `data` to the case file and judge it. */
static void
judge_bytes(const void* const data, const size_t length,
            const Expectation expectation, const char* const what)
{
  if (!write_file(case_path, data, length)) {
    fprintf(stderr, "FAIL: cannot write %s\n", case_path);
    ++failures;
    return;
  }
  judge(case_path, expectation, what);
}

/* `text` with [start, end) replaced by `replacement`, judged. */
static void
judge_edit(const char* const text, const size_t length, const size_t start,
           const size_t end, const char* const replacement,
           const Expectation expectation, const char* const what)
{
  const size_t insert = strlen(replacement);
  const size_t total  = length - (end - start) + insert;
  char* const  edited = (char*)malloc(total + 1U);
  if (!edited) {
    fprintf(stderr, "FAIL: out of memory\n");
    exit(1);
  }
  memcpy(edited, text, start);
  memcpy(edited + start, replacement, insert);
  memcpy(edited + start + insert, text + end, length - end);
  edited[total] = '\0';
  judge_bytes(edited, total, expectation, what);
  free(edited);
}

/* Span of the number that follows `"key":` (spaces skipped); false when
   the key is not in the text. */
static bool
find_number_after(const char* const text, const char* const key,
                  size_t* const start, size_t* const end)
{
  const char* p = strstr(text, key);
  if (!p) {
    return false;
  }
  p += strlen(key);
  while (*p == ' ' || *p == ':' || *p == '[' || *p == '\n') {
    ++p;
  }
  const char* q = p;
  while (*q && strchr("+-0123456789.eE", *q)) {
    ++q;
  }
  if (q == p) {
    return false;
  }
  *start = (size_t)(p - text);
  *end   = (size_t)(q - text);
  return true;
}

static void
damage_truncations(const char* const text, const size_t length,
                   const char* const name, const bool quick)
{
  /* Every proper prefix that stops before the final '}' is broken JSON. */
  size_t last_brace = length;
  while (last_brace > 0 && text[last_brace - 1U] != '}') {
    --last_brace;
  }
  char         what[200];
  const size_t steps = quick ? 10U : 50U;
  for (size_t k = 0; k < steps; ++k) {
    const size_t cut = length * k / steps;
    snprintf(what, sizeof(what), "%s cut to %zu of %zu bytes", name, cut,
             length);
    judge_bytes(text, cut, cut < last_brace ? MUST_FAIL : MAY_LOAD, what);
  }
  const size_t head = quick ? 8U : 64U;
  for (size_t cut = 1; cut <= head && cut < length; ++cut) {
    snprintf(what, sizeof(what), "%s cut to its first %zu bytes", name, cut);
    judge_bytes(text, cut, MUST_FAIL, what);
  }
  snprintf(what, sizeof(what), "%s without its last '}'", name);
  if (last_brace > 0) {
    judge_bytes(text, last_brace - 1U, MUST_FAIL, what);
  }
}

static void
damage_random(const char* const text, const size_t length,
              const char* const name, const bool quick)
{
  char* const copy  = (char*)malloc(length + 1U);
  char        what[200];
  const size_t seeds = quick ? 8U : 60U;
  if (!copy) {
    exit(1);
  }
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    uint64_t     rng   = seed * 7919U + length;
    const size_t flips = seed % 3U == 0 ? 20U : seed % 3U == 1 ? 1U : 3U;
    memcpy(copy, text, length);
    for (size_t f = 0; f < flips; ++f) {
      const size_t at = (size_t)(next_random(&rng) % length);
      copy[at] = (char)(copy[at] ^ (char)(1U + next_random(&rng) % 255U));
    }
    snprintf(what, sizeof(what), "%s with %zu random byte flip(s), seed "
             "%llu", name, flips, (unsigned long long)seed);
    judge_bytes(copy, length, MAY_LOAD, what);

    memcpy(copy, text, length);
    for (size_t s = 0; s < 1U + seed % 4U; ++s) {
      const size_t at  = (size_t)(next_random(&rng) % (length - 1U));
      const char   tmp = copy[at];
      copy[at]         = copy[at + 1U];
      copy[at + 1U]    = tmp;
    }
    snprintf(what, sizeof(what), "%s with swapped characters, seed %llu",
             name, (unsigned long long)seed);
    judge_bytes(copy, length, MAY_LOAD, what);
  }
  free(copy);
}

static void
damage_edits(const char* const text, const size_t length,
             const char* const name)
{
  char   what[200];
  size_t start = 0;
  size_t end   = 0;

  typedef struct {
    const char* replacement;
    Expectation expectation;
  } Replacement;

  /* Sizes that contradict the weights, or are no sizes at all. */
  static const Replacement bad_sizes[] = {
    {"0", MUST_FAIL},          {"-1", MUST_FAIL},
    {"1000000000", MUST_FAIL}, {"4294967297", MUST_FAIL},
    {"2.5", MUST_FAIL},        {"\"20\"", MUST_FAIL},
    {"null", MUST_FAIL},       {"1e400", MUST_FAIL},
  };
  static const char* const size_keys[] = {"\"hidden_size\"", "\"input_size\"",
                                          "\"num_layers\""};
  for (size_t k = 0; k < sizeof(size_keys) / sizeof(size_keys[0]); ++k) {
    if (!find_number_after(text, size_keys[k], &start, &end)) {
      continue;
    }
    for (size_t r = 0; r < sizeof(bad_sizes) / sizeof(bad_sizes[0]); ++r) {
      snprintf(what, sizeof(what), "%s with %s %s", name, size_keys[k],
               bad_sizes[r].replacement);
      judge_edit(text, length, start, end, bad_sizes[r].replacement,
                 bad_sizes[r].expectation, what);
    }
    /* One more than the truth: the weights no longer fit. */
    char bigger[32];
    snprintf(bigger, sizeof(bigger), "%ld",
             strtol(text + start, NULL, 10) + 1L);
    snprintf(what, sizeof(what), "%s with %s one larger (%s)", name,
             size_keys[k], bigger);
    judge_edit(text, length, start, end, bigger, MUST_FAIL, what);
  }

  const char* const unit_type = strstr(text, "\"unit_type\": \"");
  if (unit_type) {
    const size_t value_start =
      (size_t)(unit_type - text) + strlen("\"unit_type\": \"");
    const char* const quote = strchr(text + value_start, '"');
    if (quote) {
      snprintf(what, sizeof(what), "%s with unit_type \"XYZ\"", name);
      judge_edit(text, length, value_start, (size_t)(quote - text), "XYZ",
                 MUST_FAIL, what);
    }
  }

  /* The first weight of each tensor turned into something else. */
  static const Replacement bad_numbers[] = {
    {"\"abc\"", MUST_FAIL}, {"true", MUST_FAIL},
    {"null", MUST_FAIL},    {"[]", MUST_FAIL},
    {"{}", MUST_FAIL},      {"1e39", MUST_FAIL},
    {"1e400", MUST_FAIL},   {"-1e999", MUST_FAIL},
    {"NaN", MUST_FAIL},     {"99999999999999999999", MAY_LOAD},
    {"0.000000000000000000000000000000000000000000001", MAY_LOAD},
  };
  static const char* const tensors[] = {
    "\"rec.weight_ih_l0\"", "\"rec.weight_hh_l0\"", "\"rec.bias_ih_l0\"",
    "\"rec.bias_hh_l0\"",   "\"lin.weight\"",       "\"lin.bias\"",
  };
  for (size_t t = 0; t < sizeof(tensors) / sizeof(tensors[0]); ++t) {
    if (!find_number_after(text, tensors[t], &start, &end)) {
      continue;
    }
    for (size_t r = 0; r < sizeof(bad_numbers) / sizeof(bad_numbers[0]);
         ++r) {
      snprintf(what, sizeof(what), "%s: first value of %s replaced by %s",
               name, tensors[t], bad_numbers[r].replacement);
      judge_edit(text, length, start, end, bad_numbers[r].replacement,
                 bad_numbers[r].expectation, what);
    }
    /* Drop that first value (and its comma): the tensor is one short. */
    size_t cut_end = end;
    while (cut_end < length && (text[cut_end] == ',' || text[cut_end] == ' ')) {
      ++cut_end;
    }
    if (text[cut_end] != ']') {
      snprintf(what, sizeof(what), "%s: %s one value short", name,
               tensors[t]);
      judge_edit(text, length, start, cut_end, "", MUST_FAIL, what);
    }
    /* An empty tensor. */
    const char* const open = strchr(strstr(text, tensors[t]), '[');
    size_t            depth = 0;
    const char*       close = open;
    for (; close && *close; ++close) {
      depth += *close == '[';
      depth -= *close == ']';
      if (depth == 0) {
        break;
      }
    }
    if (open && close && *close) {
      snprintf(what, sizeof(what), "%s: %s empty", name, tensors[t]);
      judge_edit(text, length, (size_t)(open - text),
                 (size_t)(close - text) + 1U, "[]", MUST_FAIL, what);
    }
    /* The key renamed: the tensor is missing. */
    const size_t key_at = (size_t)(strstr(text, tensors[t]) - text);
    snprintf(what, sizeof(what), "%s: %s renamed", name, tensors[t]);
    judge_edit(text, length, key_at + 1U, key_at + 2U, "X", MUST_FAIL, what);
  }

  const char* const model_data = strstr(text, "\"model_data\"");
  if (model_data) {
    const size_t at = (size_t)(model_data - text);
    snprintf(what, sizeof(what), "%s: model_data renamed", name);
    judge_edit(text, length, at + 1U, at + 2U, "X", MUST_FAIL, what);
  }

  /* A NUL in the middle: the rest of the file must not be ignored. */
  snprintf(what, sizeof(what), "%s with a NUL byte in the middle", name);
  char* const with_nul = (char*)malloc(length);
  if (with_nul) {
    memcpy(with_nul, text, length);
    with_nul[length / 2U] = '\0';
    judge_bytes(with_nul, length, MUST_FAIL, what);
    free(with_nul);
  }
}

/* Files that are not models at all. */
static void
damage_generic(const bool quick)
{
  judge_bytes("", 0, MUST_FAIL, "an empty file");
  judge_bytes("   \n\t\n", 6, MUST_FAIL, "a file of whitespace");
  judge_bytes("null", 4, MUST_FAIL, "JSON null");
  judge_bytes("[]", 2, MUST_FAIL, "an empty JSON array");
  judge_bytes("{}", 2, MUST_FAIL, "an empty JSON object");
  judge_bytes("\"model\"", 7, MUST_FAIL, "a JSON string");
  judge_bytes("{\"model_data\": {}, \"state_dict\": {}}", 36, MUST_FAIL,
              "empty model_data and state_dict");

  const size_t depth  = quick ? 20000U : 200000U;
  char* const  nested = (char*)malloc(2U * depth + 64U);
  if (nested) {
    memset(nested, '[', depth);
    judge_bytes(nested, depth, MUST_FAIL, "deep nesting of '['");
    /* {"model_data": [[[...]]]} balanced, so only the depth is wrong. */
    const char   prefix[]      = "{\"model_data\": ";
    const size_t prefix_length = sizeof(prefix) - 1U;
    memcpy(nested, prefix, prefix_length);
    memset(nested + prefix_length, '[', depth - prefix_length);
    memset(nested + depth, ']', depth - prefix_length);
    const size_t total = 2U * depth - prefix_length;
    nested[total]      = '}';
    judge_bytes(nested, total + 1U, MUST_FAIL,
                "model_data nested as deep arrays");
    free(nested);
  }

  unsigned char binary[4096];
  uint64_t      rng = 99;
  for (size_t i = 0; i < sizeof(binary); ++i) {
    binary[i] = (unsigned char)next_random(&rng);
  }
  judge_bytes(binary, sizeof(binary), MUST_FAIL, "random binary bytes");
  binary[0] = '{';
  judge_bytes(binary, sizeof(binary), MUST_FAIL, "'{' then binary bytes");
  memset(binary, 0, sizeof(binary));
  judge_bytes(binary, sizeof(binary), MUST_FAIL, "a file of NUL bytes");

  judge(temp_dir, MUST_FAIL, "a directory");
  char missing[128];
  snprintf(missing, sizeof(missing), "%s/does-not-exist.json", temp_dir);
  judge(missing, MUST_FAIL, "a path that does not exist");
}

/* NAM .nam files from MODELS_DIR/nam: the same damage (their sizes sit in
   "config", so the size edits apply), plus edits of the flat weights array
   and the architecture. */
static void
damage_nam_files(const char* const models_dir, const bool quick)
{
  char* const  nam_dir = join_path(models_dir, "nam");
  size_t       count   = 0;
  char** const names   = list_files(nam_dir, ".nam", &count);
  if (!names || count == 0) {
    fprintf(stderr, "FAIL: no .nam files in %s\n", nam_dir);
    ++failures;
  }
  static const char* const bad_weights[] = {
    "\"abc\"", "true", "null", "[]", "{}", "1e39", "1e400", "NaN",
  };
  char what[200];
  for (size_t i = 0; names && i < count; ++i) {
    char* const path   = join_path(nam_dir, names[i]);
    size_t      length = 0;
    char* const text   = read_file(path, &length);
    if (!text || length < 2) {
      fprintf(stderr, "FAIL: cannot read %s\n", path);
      ++failures;
    } else {
      judge_bytes(text, length, MUST_LOAD, names[i]);
      damage_truncations(text, length, names[i], quick);
      damage_random(text, length, names[i], quick);
      damage_edits(text, length, names[i]);
      size_t start = 0;
      size_t end   = 0;
      if (find_number_after(text, "\"weights\"", &start, &end)) {
        for (size_t r = 0; r < sizeof(bad_weights) / sizeof(bad_weights[0]);
             ++r) {
          snprintf(what, sizeof(what), "%s: weights[0] replaced by %s",
                   names[i], bad_weights[r]);
          judge_edit(text, length, start, end, bad_weights[r], MUST_FAIL,
                     what);
        }
        size_t cut_end = end;
        while (cut_end < length &&
               (text[cut_end] == ',' || text[cut_end] == ' ')) {
          ++cut_end;
        }
        snprintf(what, sizeof(what), "%s: weights one value short", names[i]);
        judge_edit(text, length, start, cut_end, "", MUST_FAIL, what);
        snprintf(what, sizeof(what), "%s: one weight too many", names[i]);
        judge_edit(text, length, start, start, "0.5, ", MUST_FAIL, what);
      }
      static const char* const keys[] = {"\"LSTM\"", "\"config\"",
                                         "\"weights\"", "\"architecture\""};
      for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); ++k) {
        const char* const at = strstr(text, keys[k]);
        if (at) {
          snprintf(what, sizeof(what), "%s: %s renamed", names[i], keys[k]);
          judge_edit(text, length, (size_t)(at - text) + 1U,
                     (size_t)(at - text) + 2U, "X", MUST_FAIL, what);
        }
      }
    }
    free(text);
    free(path);
  }
  free_list(names, count);
  free(nam_dir);
}

/* RTNeural / AIDA-X files from MODELS_DIR/rtneural-json: truncations,
   random damage and the generic edits; quick mode keeps to the small GRU. */
static void
damage_rtneural_files(const char* const models_dir, const bool quick)
{
  char* const  dir   = join_path(models_dir, "rtneural-json");
  size_t       count = 0;
  char** const names = list_files(dir, ".json", &count);
  if (!names || count == 0) {
    fprintf(stderr, "FAIL: no RTNeural files in %s\n", dir);
    ++failures;
  }
  for (size_t i = 0; names && i < count; ++i) {
    if (quick && strcmp(names[i], "gru8_centaur.json") != 0) {
      continue;
    }
    char* const path   = join_path(dir, names[i]);
    size_t      length = 0;
    char* const text   = read_file(path, &length);
    if (!text || length < 2) {
      fprintf(stderr, "FAIL: cannot read %s\n", path);
      ++failures;
    } else {
      judge_bytes(text, length, MUST_LOAD, names[i]);
      damage_truncations(text, length, names[i], quick);
      damage_random(text, length, names[i], quick);
      damage_edits(text, length, names[i]);
    }
    free(text);
    free(path);
  }
  free_list(names, count);
  free(dir);
}

/* Keras .h5 (HDF5, binary): the files written by real Keras
   (KERAS_TEST_DATA) and the shared ones, truncated and with random byte
   flips and swaps. HDF5 records the file's end, so every truncation must
   fail; a flip may leave a loadable model. */
static void
damage_keras_files(const char* const models_dir, const bool quick)
{
  char* const dirs[2] = {join_path(KERAS_TEST_DATA, "."),
                         join_path(models_dir, "keras-h5")};
  for (size_t d = 0; d < 2; ++d) {
    size_t       count = 0;
    char** const names = list_files(dirs[d], d ? "5" : ".h5", &count); /* .h5, .hdf5 */
    if (!names || count == 0) {
      fprintf(stderr, "FAIL: no .h5 files in %s\n", dirs[d]);
      ++failures;
    }
    for (size_t i = 0; names && i < count; ++i) {
      if (quick && strcmp(names[i], "cudnn_gru.h5") != 0 &&
          strcmp(names[i], "gru32_weights_only.hdf5") != 0) {
        continue;
      }
      char* const path   = join_path(dirs[d], names[i]);
      size_t      length = 0;
      char* const data   = read_file(path, &length);
      if (!data || length < 2) {
        fprintf(stderr, "FAIL: cannot read %s\n", path);
        ++failures;
      } else {
        /* Refused intact: no architecture, not causal. */
        const bool refused = strstr(names[i], "weights_only") ||
                             strstr(names[i], "go_backwards") ||
                             strstr(names[i], "bidirectional");
        judge_bytes(data, length, refused ? MUST_FAIL : MUST_LOAD, names[i]);
        damage_truncations(data, length, names[i], quick);
        damage_random(data, length, names[i], quick);
      }
      free(data);
      free(path);
    }
    free_list(names, count);
    free(dirs[d]);
  }
}

/* Keras 3 .keras (zip of config.json, model.weights.h5, metadata.json):
   the files written by real Keras (KERAS3_TEST_DATA), truncated (the zip
   directory is at the end: every truncation fails), with random flips and
   swaps, and with model.weights.h5's stated size raised to 4 GiB in both
   zip headers (a size must never be trusted). */
static void
damage_keras3_files(const bool quick)
{
  char* const  dir   = join_path(KERAS3_TEST_DATA, ".");
  size_t       count = 0;
  char** const names = list_files(dir, ".keras", &count);
  if (!names || count == 0) {
    fprintf(stderr, "FAIL: no .keras files in %s\n", dir);
    ++failures;
  }
  for (size_t i = 0; names && i < count; ++i) {
    if (quick && strcmp(names[i], "gru_reset_after.keras") != 0) {
      continue;
    }
    char* const path   = join_path(dir, names[i]);
    size_t      length = 0;
    char* const data   = read_file(path, &length);
    if (!data || length < 64) {
      fprintf(stderr, "FAIL: cannot read %s\n", path);
      ++failures;
    } else {
      const bool refused = strstr(names[i], "go_backwards") ||
                           strstr(names[i], "no_weights") ||
                           strstr(names[i], "broken_config");
      judge_bytes(data, length, refused ? MUST_FAIL : MUST_LOAD, names[i]);
      damage_truncations(data, length, names[i], quick);
      damage_random(data, length, names[i], quick);
      /* The weights' uncompressed size (local header +22, central
         directory +24) stated as 0xfffffff0. */
      static const char member[] = "model.weights.h5";
      const size_t      name_length = sizeof(member) - 1U;
      char* const       copy        = (char*)malloc(length);
      size_t            patched     = 0;
      if (!copy) {
        exit(1);
      }
      memcpy(copy, data, length);
      for (size_t at = 0; at + 46U + name_length <= length; ++at) {
        const bool local   = !memcmp(copy + at, "PK\x03\x04", 4) &&
                           !memcmp(copy + at + 30U, member, name_length);
        const bool central = !memcmp(copy + at, "PK\x01\x02", 4) &&
                             !memcmp(copy + at + 46U, member, name_length);
        if (local || central) {
          memcpy(copy + at + (local ? 22U : 24U), "\xf0\xff\xff\xff", 4);
          ++patched;
        }
      }
      char what[200];
      snprintf(what, sizeof(what), "%s with model.weights.h5 stated as "
               "4 GiB", names[i]);
      if (patched == 2U) {
        judge_bytes(copy, length, MUST_FAIL, what);
      } else if (!strstr(names[i], "no_weights")) {
        fprintf(stderr, "FAIL: %s: %zu zip headers of model.weights.h5\n",
                names[i], patched);
        ++failures;
      }
      free(copy);
    }
    free(data);
    free(path);
  }
  free_list(names, count);
  free(dir);
}

int
main(const int argc, char** const argv)
{
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s MODELS_DIR [--quick]\n", argv[0]);
    return 2;
  }
  const bool quick = argc == 3 && !strcmp(argv[2], "--quick");
  skip_without_models(argv[1]);

  const char* const tmp = getenv("TMPDIR");
  snprintf(temp_dir, sizeof(temp_dir), "%s/swfmtXXXXXX",
           tmp && strlen(tmp) < 40 ? tmp : "/tmp");
  if (!mkdtemp(temp_dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(case_path, sizeof(case_path), "%s/case.json", temp_dir);

  char* const  guitarml_dir = join_path(argv[1], "guitarml-json");
  size_t       count        = 0;
  char** const names        = list_files(guitarml_dir, ".json", &count);
  if (!names || count == 0) {
    fprintf(stderr, "FAIL: no model files in %s\n", guitarml_dir);
    ++failures;
  }
  for (size_t i = 0; names && i < count; ++i) {
    /* Quick mode: the smallest working model and the broken one. */
    if (quick && strcmp(names[i], "gru8_ts9.json") != 0 &&
        strcmp(names[i], "broken_no_state_dict.json") != 0) {
      continue;
    }
    char* const  path   = join_path(guitarml_dir, names[i]);
    size_t       length = 0;
    char* const  text   = read_file(path, &length);
    if (!text || length < 2) {
      fprintf(stderr, "FAIL: cannot read %s\n", path);
      ++failures;
    } else {
      /* The intact copy under the temporary name: a control. */
      const bool intact_loads = strcmp(names[i], "broken_no_state_dict.json");
      judge_bytes(text, length, intact_loads ? MUST_LOAD : MUST_FAIL,
                  names[i]);
      damage_truncations(text, length, names[i], quick);
      damage_random(text, length, names[i], quick);
      damage_edits(text, length, names[i]);
    }
    free(text);
    free(path);
  }
  damage_nam_files(argv[1], quick);
  damage_rtneural_files(argv[1], quick);
  damage_keras_files(argv[1], quick);
  damage_keras3_files(quick);
  damage_generic(quick);

  unlink(case_path);
  rmdir(temp_dir);
  free_list(names, count);
  free(guitarml_dir);
  printf("load_robustness: %zu damaged files, %zu loaded, %zu refused, %d "
         "failure(s)\n", cases, loaded, cases - loaded, failures);
  return failures ? 1 : 0;
}
