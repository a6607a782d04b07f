/*
  Statewave: stateful, streaming inference of recurrent networks (LSTM, GRU,
  SimpleRNN with Dense heads) over audio and time-series frames.

  This is the only public header of libstatewave.

  Thread classes, stated on every function:
    [RT-safe]  may be called from a real-time audio thread: no allocation,
               locks, I/O, logging or system calls.
    [non-RT]   may allocate, log or block; never call it from an audio thread.

  Objects:
    SwModel   a canonical network (layers, weights, model facts); immutable
              once made, may be shared by any number of engines and threads.
    SwEngine  one model on one backend with `streams` independent state slots
              and everything sized for `max_block` frames at creation.

  Errors: functions that can fail return an SwStatus, or NULL for
  constructors, and fill an optional SwError with a message that names the
  file, the field and what was expected. The library never prints; it reports
  through the log callback set with sw_set_log().
*/

#ifndef STATEWAVE_STATEWAVE_H
#define STATEWAVE_STATEWAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && !defined(SW_STATIC) && defined(SW_INTERNAL)
#  define SW_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(SW_STATIC)
#  define SW_API __declspec(dllimport)
#elif defined(__GNUC__)
#  define SW_API __attribute__((visibility("default")))
#else
#  define SW_API
#endif

/* Marks functions that are real-time safe (checked by clang >= 20). */
#if defined(__clang__) && __clang_major__ >= 20
#  define SW_REALTIME __attribute__((nonblocking))
#else
#  define SW_REALTIME
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Status, errors and logging                                               */
/* ------------------------------------------------------------------------ */

typedef enum {
  SW_SUCCESS = 0,
  SW_ERR_BAD_ARG,     /**< A caller passed an invalid argument. */
  SW_ERR_NO_MEMORY,   /**< An allocation failed. */
  SW_ERR_IO,          /**< A file could not be opened or read. */
  SW_ERR_BAD_MODEL,   /**< A model file or spec is malformed. */
  SW_ERR_UNSUPPORTED, /**< Well-formed, but not something Statewave runs. */
  SW_ERR_BACKEND,     /**< A backend could not be created or failed. */
} SwStatus;

/** Longest message an SwError holds, including the terminating zero. */
#define SW_ERROR_MESSAGE_SIZE 512

/** Filled on failure by the call it is passed to; never global state. */
typedef struct {
  SwStatus status;
  char     message[SW_ERROR_MESSAGE_SIZE];
} SwError;

/** A short English description of a status code. [RT-safe] */
SW_API SW_REALTIME const char*
sw_strerror(SwStatus status);

typedef enum {
  SW_LOG_ERROR,
  SW_LOG_WARNING,
  SW_LOG_INFO,
  SW_LOG_DEBUG,
} SwLogLevel;

typedef void (*SwLogFunc)(void* user, SwLogLevel level, const char* message);

/**
   Route the library's log messages to `func` (NULL: drop them, the default).
   Process-wide; messages come only from [non-RT] calls. [non-RT]
*/
SW_API void
sw_set_log(SwLogFunc func, void* user);

/** The library version as "MAJOR.MINOR.PATCH". [RT-safe] */
SW_API SW_REALTIME const char*
sw_version(void);

/* ------------------------------------------------------------------------ */
/* Layers and activations                                                   */
/* ------------------------------------------------------------------------ */

typedef enum {
  SW_LAYER_LSTM,       /**< cuDNN/PyTorch/Keras LSTM, no peepholes. */
  SW_LAYER_GRU,        /**< GRU, reset after (cuDNN) or before (Keras 2). */
  SW_LAYER_SIMPLE_RNN, /**< h = act(W x + bW + R h + bR). */
  SW_LAYER_DENSE,      /**< y = act(W x + b), applied per time step. */
  /** Conv1D. In a streaming model, causal (Keras padding "causal", stride
      1): y_t = act(b + sum_k W_k x_{t-(K-1-k)d}); the state is the last
      (K-1)d input frames, zeros after a reset. In a windowed model (see
      SwModelSpec.window) any stride and padding, over the window. */
  SW_LAYER_CONV1D,
} SwLayerType;

/**
   Conv1D padding, as Keras's `padding`, for an input sequence of T frames,
   span S = (K-1)d + 1 and stride s. Output step j reads the padded input
   at j*s + k*d for taps k = 0..K-1 (zeros outside the input).
*/
typedef enum {
  /** (K-1)d zeros before the input: ceil(T/s) steps; the one padding a
      streaming model has. */
  SW_PADDING_CAUSAL = 0,
  /** No padding: floor((T - S)/s) + 1 steps (windowed models only). */
  SW_PADDING_VALID,
  /** Keras/TensorFlow "same": ceil(T/s) steps, P = max((ceil(T/s) - 1)s
      + S - T, 0) zeros of which floor(P/2) before the input and the rest
      after (windowed models only; the zeros after the window's newest
      frame stand for frames the model never sees, not look-ahead). */
  SW_PADDING_SAME,
} SwPadding;

/**
   Keras activations. SW_ACT_DEFAULT means the layer's Keras default: tanh for
   the activation of recurrent layers, sigmoid for their recurrent
   activation, linear for Dense and Conv1D.
*/
typedef enum {
  SW_ACT_DEFAULT = 0,
  SW_ACT_LINEAR,
  SW_ACT_TANH,
  SW_ACT_RELU,
  SW_ACT_SIGMOID,
  SW_ACT_HARD_SIGMOID,    /**< Keras 2 / tf.keras: clip(0.2 x + 0.5, 0, 1). */
  SW_ACT_HARD_SIGMOID_K3, /**< Keras 3: clip(x / 6 + 0.5, 0, 1). */
  SW_ACT_ELU,             /**< x > 0 ? x : exp(x) - 1 (alpha 1). */
  SW_ACT_SELU,
  SW_ACT_SOFTSIGN, /**< x / (1 + |x|). */
  SW_ACT_SOFTPLUS, /**< log(1 + exp(x)). */
  SW_ACT_SWISH,    /**< x * sigmoid(x) (Keras "swish" / "silu"). */
} SwActivation;

/** "LSTM", "GRU", "SimpleRNN", "Dense" or "Conv1D". [RT-safe] */
SW_API SW_REALTIME const char*
sw_layer_type_name(SwLayerType type);

/** The Keras name of an activation ("hard_sigmoid_k3" for Keras 3's). [RT-safe] */
SW_API SW_REALTIME const char*
sw_activation_name(SwActivation act);

/** Which GRU function a layer computes. */
typedef enum {
  /** cuDNN, PyTorch, Keras CuDNNGRU and reset_after=True:
      n = act(W_n x + bW_n + r * (R_n h + bR_n)). */
  SW_GRU_RESET_AFTER = 0,
  /** Keras reset_after=False (the Keras 2 default):
      n = act(W_n x + bW_n + R_n (r * h) + bR_n). Not computable by cuDNN. */
  SW_GRU_RESET_BEFORE,
} SwGruReset;

/**
   One layer of a model spec.

   Weights are in the canonical layout: row-major, one row per output unit,
   gate blocks stacked in cuDNN/PyTorch order (LSTM i, f, g, o; GRU r, z, n):
     kernel           W  [G*U x I]   G = 4 LSTM, 3 GRU, 1 SimpleRNN and Dense;
                                     Conv1D: [U x K*I], column k*I + c is
                                     tap k (k = K-1 the newest frame) of
                                     input channel c, i.e. Keras's
                                     kernel[k][c][u]
     recurrent_kernel R  [G*U x U]   (recurrent layers)
     bias             bW [G*U]
     recurrent_bias   bR [G*U]       (recurrent layers)
     initial_h, initial_c [U]        learned initial state (optional)
   Every array pointer may be NULL: the kernel then gets glorot_uniform, the
   recurrent kernel orthogonal, biases zeros (plus unit_forget_bias), the
   initial state zeros. Arrays are copied. Use sw_layer_spec() for defaults.
*/
typedef struct {
  SwLayerType  type;
  uint32_t     units; /**< U: hidden size, or Dense output width. */
  SwActivation activation;
  SwActivation recurrent_activation; /**< LSTM and GRU gates. */
  SwGruReset   gru_reset;
  bool         use_bias;         /**< false: biases are zero and ignored. */
  bool         unit_forget_bias; /**< LSTM initializer: forget bias 1. */
  uint32_t     kernel_size;      /**< Conv1D taps K (>= 1). */
  uint32_t     dilation;         /**< Conv1D dilation d (>= 1). */
  /** Conv1D stride s (>= 1; 0 is taken as 1). Above 1 only in a windowed
      model: the layer's output has one step per s input steps. */
  uint32_t     stride;
  /** Conv1D padding; anything but causal only in a windowed model. */
  SwPadding    padding;

  const float* kernel;
  const float* recurrent_kernel;
  const float* bias;
  const float* recurrent_bias;
  const float* initial_h;
  const float* initial_c;
} SwLayerSpec;

/** A layer spec with the Keras defaults for `type`, no weights. [RT-safe] */
SW_API SW_REALTIME SwLayerSpec
sw_layer_spec(SwLayerType type, uint32_t units);

/** An extra model input ("knob") beside the audio in column 0. */
typedef struct {
  const char* name; /**< NULL: "knob N". */
  float       min;
  float       max;
  float       default_value;
} SwKnobSpec;

/** A free-text fact about a model (name, author, gear, ESR, ...). */
typedef struct {
  const char* key;
  const char* value;
} SwMetaEntry;

/** Longest window of a windowed model, in frames. */
#define SW_MAX_WINDOW 65536U

/**
   A whole model. Input column 0 is the audio (or first series); columns
   1 .. input_width-1 are knobs. The output width is the last layer's units.

   window = 0: a streaming model: every layer keeps its state from frame to
   frame (Keras stateful=True over one endless sequence).

   window = W > 0: a windowed model (GuitarLSTM and other Keras models
   trained on fixed windows with return_sequences=False): output frame t is
   one stateless Keras call of the whole stack on input frames t-W+1 .. t
   (frames before the first one, or before a reset, are zeros), and is the
   last step of the last layer's output sequence. Each layer maps its input
   sequence to an output sequence: Conv1D with its stride and padding,
   recurrent layers from their initial state (zeros or learned) at the
   window's first step, Dense per step. No layer may shrink the sequence
   below one step. Nothing looks ahead (latency 0); the cost of one output
   frame is that of a whole window, recomputed every frame. The stream's
   state is the last W input frames.
*/
typedef struct {
  uint32_t           input_width;
  uint32_t           num_layers;
  const SwLayerSpec* layers;
  uint32_t           window; /**< W frames (1..SW_MAX_WINDOW); 0: streaming. */
  bool               skip;           /**< Add input column 0 to output 0. */
  float              input_gain_db;  /**< Applied to input column 0. */
  float              output_gain_db; /**< Applied to every output. */
  double             sample_rate;    /**< Training rate in Hz; 0: unknown. */
  uint32_t           num_knobs;      /**< 0 .. input_width-1 described. */
  const SwKnobSpec*  knobs;
  uint32_t           num_metadata;
  const SwMetaEntry* metadata;
} SwModelSpec;

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct SwModelImpl SwModel;

/**
   Load a model file of any supported format, detected by its content.
   On failure returns NULL and fills `err` (may be NULL). [non-RT]
*/
SW_API SwModel*
sw_model_load(const char* path, SwError* err);

/**
   Load a model from `size` bytes in memory (a file's contents), of any
   supported format. `name` stands for the file in messages and in
   SwModelInfo.path (NULL: "(memory)"). [non-RT]
*/
SW_API SwModel*
sw_model_load_memory(const void* data, size_t size, const char* name,
                     SwError* err);

/**
   Load a Keras weights-only file (`model.save_weights("w.h5")`: layer
   groups, no model_config) with the architecture it was saved from, given
   by the JSON file `arch_path`:

     {"input_width": 1, "skip": true, "sample_rate": 44100,
      "keras_version": "2.4.0",
      "layers": [{"class_name": "GRU", "name": "gru",
                  "config": {"units": 32, "return_sequences": true}},
                 {"class_name": "Dense", "name": "dense",
                  "config": {"units": 1}}]}

   "layers" is a Keras Sequential model_config's layer list (what
   model.to_json() writes; its layer classes and config keys, "units" /
   "filters" required, others taking tf.keras 2's defaults); each "name"
   selects that layer's weight group in the file. input_width and layers
   are required; skip (add input column 0 to output 0, default false),
   sample_rate (Hz) and keras_version (decides hard_sigmoid; default
   Keras 2) are optional. A whole Keras model.to_json() document
   ({"class_name": "Sequential", "config": ...}) is accepted as well.
   The weights file passes the same structural checks as sw_model_load()
   before libhdf5 reads it. Errors: SW_ERR_IO (a file cannot be read),
   SW_ERR_BAD_MODEL (messages name the weights file, the layer, the field
   and the architecture file: a layer without a weight group, a shape the
   spec does not imply, a weight group the spec does not use, a missing or
   wrong spec field), SW_ERR_UNSUPPORTED (a layer Statewave does not run),
   SW_ERR_BAD_ARG (NULL paths, or a whole-model file that carries its own
   architecture). [non-RT]
*/
SW_API SwModel*
sw_model_load_keras_weights(const char* weights_path, const char* arch_path,
                            SwError* err);

/**
   Build a model from a spec. Weights not given are drawn with the Keras
   initializers from a generator seeded with `seed`, so the same spec and
   seed give the same model. Every dimension is validated. [non-RT]
*/
SW_API SwModel*
sw_model_build(const SwModelSpec* spec, uint64_t seed, SwError* err);

/** Free a model. NULL is a no-op. Engines made from it must be freed first. [non-RT] */
SW_API void
sw_model_free(SwModel* model);

/** Model-level facts. Strings point into the model and live as long as it. */
typedef struct {
  const char* format; /**< "guitarml-json", "spec", ... */
  const char* path;   /**< The file it was loaded from, or "". */
  uint32_t    input_width;
  uint32_t    output_width;
  uint32_t    num_layers;
  uint32_t    num_knobs; /**< input_width - 1. */
  bool        skip;
  float       input_gain_db;
  float       output_gain_db;
  double      sample_rate; /**< 0: unknown. */
  size_t      state_size;  /**< Floats of state per stream, all layers. */
  size_t      num_params;  /**< Weights and biases in all layers. */
  uint32_t    num_metadata;
  /** Window W of a windowed model (see SwModelSpec); 0: streaming. */
  uint32_t    window;
  /** Multiply-adds of one output frame through every layer (a windowed
      model's whole window; a streaming model's one step). */
  uint64_t    macs_per_frame;
} SwModelInfo;

/** [RT-safe] */
SW_API SW_REALTIME void
sw_model_info(const SwModel* model, SwModelInfo* info);

/** What a layer is, with read-only views of its canonical weights. */
typedef struct {
  SwLayerType  type;
  uint32_t     input_width;
  uint32_t     units;
  uint32_t     gates; /**< G: 4 LSTM, 3 GRU, 1 otherwise. */
  SwActivation activation;
  SwActivation recurrent_activation;
  SwGruReset   gru_reset;
  bool         use_bias;
  uint32_t     kernel_size; /**< Conv1D taps; 1 for other layers. */
  uint32_t     dilation;    /**< Conv1D dilation; 1 for other layers. */
  uint32_t     stride;      /**< Conv1D stride; 1 for other layers. */
  SwPadding    padding;     /**< Conv1D padding; causal for other layers. */
  /** Steps of the layer's output sequence within one window of a windowed
      model (the last of the last layer's is the output); 1 when streaming. */
  uint32_t     steps;
  /** Streaming model: 2U LSTM ([h, c]), U GRU and SimpleRNN, 0 Dense,
      (K-1)*d*I Conv1D (the input history, oldest frame first).
      Windowed model: layer 0 holds the stream's whole state, the last
      W input frames (W * model input_width floats, oldest frame first,
      zeros before the first frame); every other layer 0 (their state
      starts afresh every frame). */
  size_t       state_size;
  const float* kernel;           /**< [G*U x I], Conv1D [U x K*I] */
  const float* recurrent_kernel; /**< [G*U x U], NULL for Dense. */
  const float* bias;             /**< [G*U] */
  const float* recurrent_bias;   /**< [G*U], NULL for Dense. */
  const float* initial_h;        /**< [U] or NULL (zeros). */
  const float* initial_c;        /**< [U] or NULL (zeros). */
} SwLayerInfo;

/** Describe layer `index`; SW_ERR_BAD_ARG when out of range. [RT-safe] */
SW_API SW_REALTIME SwStatus
sw_model_layer(const SwModel* model, uint32_t index, SwLayerInfo* layer);

/** Knob `index` (0-based, input column index+1) with name and range. [RT-safe] */
SW_API SW_REALTIME SwStatus
sw_model_knob(const SwModel* model, uint32_t index, SwKnobSpec* knob);

/** Metadata entry `index`. [RT-safe] */
SW_API SW_REALTIME SwStatus
sw_model_metadata(const SwModel* model, uint32_t index, SwMetaEntry* entry);

/**
   The input/output pair the model file recorded about itself (RTNeural and
   AIDA-X input_batch/output_batch): `frames` frames of input_width and of
   output_width floats, frame-major. SW_ERR_UNSUPPORTED when the file had
   none. [RT-safe]
*/
SW_API SW_REALTIME SwStatus
sw_model_reference(const SwModel* model, const float** in, const float** out,
                   size_t* frames);

/** The value of metadata `key`, or NULL. [non-RT] */
SW_API const char*
sw_model_meta_get(const SwModel* model, const char* key);

/** File formats sw_model_save() writes. */
typedef enum {
  /** RTNeural / AIDA-X JSON (in_shape, layers in Keras's weight layout,
      in_skip, in_gain, out_gain, metadata), as RTNeural's model_loader.h and
      AIDA-X parse it. Holds LSTM, GRU, Dense and Conv1D layers; recurrent
      layers must use tanh and sigmoid. Written too, but loadable only by
      Statewave (the library logs a warning): a GRU with reset before (a
      flat Keras reset_after=False bias) and the activations hard_sigmoid,
      selu, softsign, softplus and swish. An LSTM's two biases are stored as
      their sum, RTNeural's one bias. Knob descriptions go in
      metadata.knobs. */
  SW_FORMAT_RTNEURAL_JSON = 0,
  /** GuitarML / Automated-GuitarAmpModelling JSON (model_data, state_dict
      in PyTorch's layout, Statewave's "metadata" object): one to 63 LSTM or
      reset-after GRU layers of equal width with tanh and sigmoid, then one
      linear Dense head; no gains. */
  SW_FORMAT_GUITARML_JSON,
} SwModelFormat;

/**
   Write `model` to `path` in `format`, so that sw_model_load() gives back a
   model with the same weights (an LSTM's biases may come back summed into
   one) and bit-identical outputs. Floats are printed with 9 significant
   digits, exact for float32. The file is written beside `path` under a
   temporary name and renamed into place, so a failed save leaves no file
   behind. A model the format cannot hold (learned initial state, a layer
   type or activation it has no name for, gains in GuitarML, ...) is
   refused with SW_ERR_UNSUPPORTED and a message naming the layer and the
   reason. [non-RT]
*/
SW_API SwStatus
sw_model_save(const SwModel* model, const char* path, SwModelFormat format,
              SwError* err);

/* ------------------------------------------------------------------------ */
/* Engines                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct SwEngineImpl SwEngine;

typedef enum {
  /** The backend measured fastest for the model and stream count when the
      engine is made; the CPU where no GPU backend is usable or faster. */
  SW_BACKEND_AUTO = 0,
  /** SIMD kernels picked at run time from the CPU's features (AVX-512,
      AVX2+FMA, SSE2, NEON); Conv1D and windowed models run on cpu-ref. */
  SW_BACKEND_CPU,
  SW_BACKEND_CUDNN, /**< cudnnRNNForward per block, state on the GPU. */
  SW_BACKEND_FUSED, /**< One hand-written CUDA kernel per block. */
  /** The scalar reference path every other backend is tested against:
      libm activations, sums in index order. */
  SW_BACKEND_CPU_REF,
} SwBackendKind;

/** Number of SwBackendKind values (auto included). */
#define SW_BACKEND_KIND_COUNT 5

typedef enum {
  /** process() returns the block it was given, processed: no latency. */
  SW_STREAMING_SYNC = 0,
  /** process() starts the block it is given and returns the one before,
      so a GPU computes while the host goes on: max_block frames of latency
      on every backend (sw_engine_latency()), for any split into calls. */
  SW_STREAMING_PIPELINED,
} SwStreamingMode;

typedef enum {
  SW_WEIGHTS_FP32 = 0, /**< The model's FP32 weights (the default). */
  /** The compact mode of the cpu backend: LSTM and reset-after GRU weights
      kept as IEEE halves, half the memory traffic for large models; sums,
      state and activations stay FP32. Outputs differ from FP32 by the
      weights' rounding (relative 2^-11 each; `statewave bench --weights fp16`
      reports the difference from cpu-ref). Needs F16C (AVX2), AVX-512 or NEON;
      elsewhere, and on other backends, the engine runs FP32 and says why in
      sw_engine_backend_note(). */
  SW_WEIGHTS_FP16,
  /** The same with bfloat16 weights (an FP32's upper 16 bits, rounded to
      nearest): FP32's range, a coarser rounding (relative 2^-8 each, so
      outputs move further from FP32's than with halves), widened by shifts
      on every kernel set, faster than halves where converting them costs
      (AVX-512 on AMD Zen 4). On other backends the engine runs FP32 and
      says why in sw_engine_backend_note(). */
  SW_WEIGHTS_BF16,
} SwWeightFormat;

typedef struct {
  double          sample_rate; /**< Host rate in Hz, for knob smoothing; 0: 48000. */
  uint32_t        streams;     /**< Independent state slots (>= 1). */
  uint32_t        max_block;   /**< Scratch size in frames; longer calls are split. */
  SwBackendKind   backend;
  float           knob_smoothing_ms; /**< Linear ramp time for knob changes; 0: none. */
  SwStreamingMode streaming;
  SwWeightFormat  weights; /**< FP32 (default), or the cpu backend's FP16 or
                                BF16 mode. */
} SwEngineConfig;

/** What a backend is and whether it can run here. */
typedef struct {
  SwBackendKind kind;
  const char*   name;   /**< "auto", "cpu", "cudnn", "fused", "cpu-ref" */
  bool          built;  /**< compiled into this libstatewave */
  bool          usable; /**< built, and its device and libraries answer */
  /** The device and library versions when usable; else why not. */
  char          detail[256];
} SwBackendInfo;

/** Describe backend `kind`, probing the driver and device. [non-RT] */
SW_API SwStatus
sw_backend_info(SwBackendKind kind, SwBackendInfo* info);

/** The kind named `name` ("auto", "cpu", "cudnn", "fused",
    "cpu-ref"); SW_ERR_BAD_ARG
    for any other name. [RT-safe] */
SW_API SW_REALTIME SwStatus
sw_backend_parse(const char* name, SwBackendKind* kind);

/** 48 kHz, 1 stream, 512 frames, auto backend, 20 ms knob smoothing,
    synchronous. [RT-safe] */
SW_API SW_REALTIME SwEngineConfig
sw_engine_config_default(void);

/**
   Make an engine for `model`, allocating everything it will ever need. The
   model must outlive the engine. Every stream starts at the model's initial
   state (zeros unless learned). [non-RT]
*/
SW_API SwEngine*
sw_engine_new(const SwModel* model, const SwEngineConfig* config, SwError* err);

/** Free an engine. NULL is a no-op. [non-RT] */
SW_API void
sw_engine_free(SwEngine* engine);

/** The model the engine runs. [RT-safe] */
SW_API SW_REALTIME const SwModel*
sw_engine_model(const SwEngine* engine);

/** The name of the backend in use ("cpu", "cudnn", "fused"); "cpu" after
    a fallback. [RT-safe] */
SW_API SW_REALTIME const char*
sw_engine_backend_name(const SwEngine* engine);

/**
   Why the engine runs on the CPU although another backend was asked for
   (its device, driver or library is missing, it cannot run this model, or
   it failed mid-stream and the CPU took over with the state carried over),
   or why auto chose what it chose; NULL when there is nothing to say. The
   text stays valid for the engine's life. A fallback during process() is
   not logged there (no I/O on the audio thread): poll this, or
   sw_engine_fallback_count(), from another thread or after the call.
   [RT-safe]
*/
SW_API SW_REALTIME const char*
sw_engine_backend_note(const SwEngine* engine);

/** The weight format the engine runs: SW_WEIGHTS_FP16 or SW_WEIGHTS_BF16
    only where that compact mode was asked for and took effect (else the
    note says why).
    [RT-safe] */
SW_API SW_REALTIME SwWeightFormat
sw_engine_weights(const SwEngine* engine);

/** The CPU kernels the engine runs now: on the cpu backend its SIMD set
    ("avx512", "avx512vl", "avx2", "sse2", "neon", "generic"; with "-fp16" or
    "-bf16" in the compact modes), chosen for the CPU, the model and the stream count,
    or "cpu-ref" for models it runs on the reference; "scalar" on cpu-ref;
    NULL on a GPU backend. [RT-safe] */
SW_API SW_REALTIME const char*
sw_engine_cpu_kernels(const SwEngine* engine);

/** Times the engine left a failed GPU backend for the CPU mid-stream (0 or
    1). [RT-safe] */
SW_API SW_REALTIME uint32_t
sw_engine_fallback_count(const SwEngine* engine);

/** Frames of latency the engine adds: max_block in pipelined streaming,
    else 0 (windowed models too: output t depends on input frames up to t
    only). [RT-safe] */
SW_API SW_REALTIME uint32_t
sw_engine_latency(const SwEngine* engine);

/**
   Process audio: `in[s]` and `out[s]` hold `frames` samples of stream s.
   Input column 0 is in[s] times the input gain; the knob columns are the
   smoothed knob values; out[s] is output column 0 (plus the skip), times the
   output gain. Calls of any length are allowed; any split of a signal into
   calls gives bit-identical output. A non-finite input frame or state resets
   its stream and that frame's output is 0 (counted, see
   sw_engine_nonfinite_resets()); a non-finite output value is written as 0.
   `in` and `out` may alias. [RT-safe]
*/
SW_API SW_REALTIME SwStatus
sw_engine_process(SwEngine*           engine,
                  const float* const* in,
                  float* const*       out,
                  uint32_t            frames);

/**
   Process whole frames, stream-major and interleaved:
     in  [streams][frames][input_width]   (knob columns taken as given)
     out [streams][frames][output_width]
   Same state, skip, gains and guarantees as sw_engine_process(). [RT-safe]
*/
SW_API SW_REALTIME SwStatus
sw_engine_process_frames(SwEngine*    engine,
                         const float* in,
                         float*       out,
                         uint32_t     frames);

/** Reset stream `stream` to the initial state, or all when -1. [RT-safe] */
SW_API SW_REALTIME void
sw_engine_reset(SwEngine* engine, int32_t stream);

/**
   Set knob `index` (0-based; input column index+1) to `value`, clamped to
   the knob's range. The engine ramps to it over knob_smoothing_ms. Call from
   the thread that calls process. [RT-safe]
*/
SW_API SW_REALTIME SwStatus
sw_engine_set_knob(SwEngine* engine, uint32_t index, float value);

/** The knob's target value (NaN when out of range). [RT-safe] */
SW_API SW_REALTIME float
sw_engine_knob(const SwEngine* engine, uint32_t index);

/** Times a non-finite input frame or state reset a stream since creation. [RT-safe] */
SW_API SW_REALTIME uint64_t
sw_engine_nonfinite_resets(const SwEngine* engine);

/**
   Copy the state of layer `layer` ([h] or [h, c], sw_model_layer()'s
   state_size floats per stream; a windowed model's input window on layer
   0) into `dst`. With `stream` = -1, all streams
   in order: n = streams * state_size. A wrong `n` is an error that says the
   expected size (Keras reset_states shape check). Not concurrent with
   process. [non-RT]
*/
SW_API SwStatus
sw_engine_get_state(const SwEngine* engine,
                    int32_t         stream,
                    uint32_t        layer,
                    float*          dst,
                    size_t          n,
                    SwError*        err);

/** Set the state of a layer; the layout and checks of sw_engine_get_state(). [non-RT] */
SW_API SwStatus
sw_engine_set_state(SwEngine*    engine,
                    int32_t      stream,
                    uint32_t     layer,
                    const float* src,
                    size_t       n,
                    SwError*     err);

/** The number of streams the engine was made with. [RT-safe] */
SW_API SW_REALTIME uint32_t
sw_engine_streams(const SwEngine* engine);

/* ------------------------------------------------------------------------ */
/* Processors: what a plugin or live host runs every block                  */
/* ------------------------------------------------------------------------ */

/**
   A processor plays one engine at a time to `channels` channels (engine
   stream c is channel c) and adds what a player needs around it:

     dry = in;  x = dry * input gain
     wet = engine(x) * output gain      (x itself when no engine is held)
     mixed = dry + mix * (wet - dry)
     out = dry + enabled * (mixed - dry)

   Input gain, output gain, mix and enabled (bypass) are ramped linearly
   over smoothing_ms, so no change clicks. A new engine handed in with
   sw_processor_offer() runs beside the current one on the same input and
   the output crossfades from old to new over crossfade_ms: cos/sin
   (equal-power) curves, scaled down where the two outputs are correlated
   so the output's power moves from one to the other without the 3 dB
   swell (and the larger steps) plain equal-power curves give two similar
   signals; uncorrelated outputs get plain equal-power, identical ones an
   equal-gain fade. The old engine is then given back through
   sw_processor_retired() to be freed off the audio thread. While fully
   bypassed the engines are not run (no CPU), are reset when playing
   resumes, and a swap completes at once.

   The processor never frees an engine or a model: everything offered comes
   back through sw_processor_retired() or sw_processor_release().
   Non-finite output is written as 0.
*/
typedef struct SwProcessorImpl SwProcessor;

typedef struct {
  double   sample_rate;  /**< Hz (> 0). */
  uint32_t channels;     /**< Streams of every engine offered (>= 1). */
  uint32_t max_block;    /**< Scratch frames; longer calls are split. */
  float    crossfade_ms; /**< Model swap crossfade (>= 0; 0: a cut). */
  float    smoothing_ms; /**< Gain, mix and bypass ramps (>= 0). */
} SwProcessorConfig;

/** Most knobs a processor forwards (model input columns 1..8). */
#define SW_PROCESSOR_MAX_KNOBS 8U

/** 48 kHz, 1 channel, 512 frames, 20 ms crossfade, 20 ms smoothing. [RT-safe] */
SW_API SW_REALTIME SwProcessorConfig
sw_processor_config_default(void);

/** Make a processor holding no engine (it passes x through). [non-RT] */
SW_API SwProcessor*
sw_processor_new(const SwProcessorConfig* config, SwError* err);

/** Free a processor; take its engines back with sw_processor_release()
    first. NULL is a no-op. [non-RT] */
SW_API void
sw_processor_free(SwProcessor* processor);

/**
   Hand in `next` (with an opaque `tag` that comes back with it) to replace
   the current engine by a crossfade, or at once when no engine is held or
   the output is fully bypassed. Its knobs are set to the processor's knob
   positions. Returns false, taking nothing, while another swap is under
   way or a retired engine has not been taken, or when `next` has another
   number of streams than the processor has channels: the caller keeps
   `next` and may offer it again after the next process call. [RT-safe]
*/
SW_API SW_REALTIME bool
sw_processor_offer(SwProcessor* processor, SwEngine* next, void* tag);

/** Take the engine a finished swap replaced (true, once), to free it off
    the audio thread. [RT-safe] */
SW_API SW_REALTIME bool
sw_processor_retired(SwProcessor* processor, SwEngine** engine, void** tag);

/** Take any engine the processor holds (retired, incoming, then current),
    one per call, false when none is left; for teardown. [RT-safe] */
SW_API SW_REALTIME bool
sw_processor_release(SwProcessor* processor, SwEngine** engine, void** tag);

/** The current engine (during a swap, the outgoing one) and its tag, or
    NULL. [RT-safe] */
SW_API SW_REALTIME SwEngine*
sw_processor_engine(const SwProcessor* processor, void** tag);

/** True while a crossfade between two engines is under way. [RT-safe] */
SW_API SW_REALTIME bool
sw_processor_swapping(const SwProcessor* processor);

/** Ramp the input gain (before the model, not the dry signal) to `db`. [RT-safe] */
SW_API SW_REALTIME void
sw_processor_set_input_gain_db(SwProcessor* processor, float db);

/** Ramp the output gain (after the model, not the dry signal) to `db`. [RT-safe] */
SW_API SW_REALTIME void
sw_processor_set_output_gain_db(SwProcessor* processor, float db);

/** Ramp the dry/wet mix to `mix` (0 dry .. 1 wet, clamped). [RT-safe] */
SW_API SW_REALTIME void
sw_processor_set_mix(SwProcessor* processor, float mix);

/** Enable (true) or bypass (false), as a ramp. [RT-safe] */
SW_API SW_REALTIME void
sw_processor_set_enabled(SwProcessor* processor, bool enabled);

/**
   Set knob `index` (< SW_PROCESSOR_MAX_KNOBS) to `position` (0..1,
   clamped) across the knob's range in whichever model is playing (min +
   position * (max - min)), now and for every engine offered later.
   Inert for models with fewer knobs. [RT-safe]
*/
SW_API SW_REALTIME SwStatus
sw_processor_set_knob(SwProcessor* processor, uint32_t index, float position);

/** Reset the state of every stream of every engine held. [RT-safe] */
SW_API SW_REALTIME void
sw_processor_reset(SwProcessor* processor);

/** Frames of latency: the current engine's sw_engine_latency(). [RT-safe] */
SW_API SW_REALTIME uint32_t
sw_processor_latency(const SwProcessor* processor);

/**
   Process `frames` frames of every channel: in[c] -> out[c] (may alias).
   Calls of any length are allowed. [RT-safe]
*/
SW_API SW_REALTIME SwStatus
sw_processor_process(SwProcessor*        processor,
                     const float* const* in,
                     float* const*       out,
                     uint32_t            frames);

/* ------------------------------------------------------------------------ */
/* Sequences (offline time series, Keras call semantics)                    */
/* ------------------------------------------------------------------------ */

/**
   One Keras-style call of a whole model on a batch of sequences.

   go_backwards: each sequence is processed last frame first, as Keras's
   go_backwards=True on the first recurrent layer; outputs are in processing
   order (not re-reversed) and the final state is the state after frame 0.
   return_sequences: every step's output, else only the last processed one.
   return_state: also write each sequence's final state.
*/
typedef struct {
  uint32_t batch; /**< B sequences. */
  uint32_t steps; /**< T frames each. */
  bool     return_sequences;
  bool     return_state;
  bool     go_backwards;
  /** NULL: the model's initial state; else [B][state_size], each sequence's
      per-layer [h] or [h, c] concatenated in layer order. */
  const float* initial_state;
} SwSequenceOptions;

/**
   Run `in` [B][T][input_width] through a fresh CPU state and write
   `out` [B][T or 1][output_width] and, with return_state, `final_state`
   [B][state_size]. [non-RT]
*/
SW_API SwStatus
sw_model_run_sequence(const SwModel*           model,
                      const SwSequenceOptions* options,
                      const float*             in,
                      float*                   out,
                      float*                   final_state,
                      SwError*                 err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STATEWAVE_STATEWAVE_H */
