/*
  Test-only reader of "spec JSON" files: a model spec with its weights plus
  the input and expected output of a reference run (tools/make_golden.py
  writes them into tests/data/golden/, see the README there).

    {"input_width": I, "skip": bool, "input_gain_db": 0, "output_gain_db": 0,
     "window": W (optional, 0: streaming),
     "layers": [{"type": "lstm"|"gru"|"simple_rnn"|"dense"|"conv1d",
                 "units": U,
                 "kernel_size": K, "dilation": d, "stride": s,
                 "padding": "causal"|"valid"|"same" (conv1d),
                 "activation": "<keras name>", "recurrent_activation": "...",
                 "gru_reset": "after"|"before", "use_bias": true,
                 "kernel": [G*U*In], "recurrent_kernel": [G*U*U],
                 "bias": [G*U], "recurrent_bias": [G*U],
                 "initial_h": [U], "initial_c": [U]}, ...],
     "batch": B (optional, 1), "steps": T, "input": [B*T*I],
     "expected": [T*O] (optional), ...}

  Weights are in the canonical layout of statewave.h. Every key beyond
  "layers" and "input_width" is optional; absent weight arrays stay NULL so
  the library draws them. Other fields stay readable through `root`.
*/

#ifndef STATEWAVE_TESTS_SPEC_JSON_H
#define STATEWAVE_TESTS_SPEC_JSON_H

#include <statewave/statewave.h>

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest error message the reader writes, including the terminator. */
#define SPEC_JSON_MESSAGE_SIZE 512

typedef struct {
  SwModelSpec  spec;         /**< Points into `layers` and owned arrays. */
  SwLayerSpec* layers;       /**< spec.num_layers entries. */
  uint32_t     output_width; /**< Units of the last layer. */
  size_t       state_size;   /**< Floats of state per stream, all layers. */
  uint32_t     batch;        /**< B; 1 when the file has no "batch". */
  uint32_t     steps;        /**< T; 0 when the file has no "steps". */
  float*       input;        /**< [B][T][input_width], or NULL. */
  float*       expected;     /**< [T][output_width], or NULL. */
  cJSON*       root;         /**< The whole document, for other fields. */

  /* Every float array the spec points to, freed by spec_json_free(). */
  float** arrays;
  size_t  num_arrays;
  size_t  capacity;
} SpecJson;

/**
   Read and validate `path` into `file` (zeroed first). On failure returns
   false, frees what it made and writes a message naming the file and field.
*/
bool
spec_json_load(const char* path, SpecJson* file, char* message,
               size_t message_size);

/** Free everything spec_json_load() made. A zeroed SpecJson is a no-op. */
void
spec_json_free(SpecJson* file);

/**
   A new array of exactly `count` floats from JSON number array `array`
   (each value parsed as double, then rounded to float), or NULL with a
   message naming `what` when it is missing, too short or too long or holds
   a non-number. The caller frees it.
*/
float*
spec_json_floats(const cJSON* array, size_t count, const char* what,
                 char* message, size_t message_size);

/** The activation with Keras name `name` ("swish" and "silu" alike). */
bool
spec_json_activation(const char* name, SwActivation* activation);

/** Parse a whole JSON file; NULL with a message when unreadable or invalid. */
cJSON*
spec_json_read_document(const char* path, char* message, size_t message_size);

/** Layer state floats per stream: 2U LSTM, U GRU and SimpleRNN, 0 Dense. */
size_t
spec_json_layer_state_size(const SwLayerSpec* layer, uint32_t input_width);

#endif /* STATEWAVE_TESTS_SPEC_JSON_H */
