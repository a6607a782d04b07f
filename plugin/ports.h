/* The plugin's URIs and ports: one table shared by the plugin and by the
   generator of its Turtle description, so the two cannot disagree. */

#ifndef SW_LV2_PORTS_H
#define SW_LV2_PORTS_H

/* Stable URIs: chosen once, never to change (hosts save them in sessions). */
#define SW_LV2_URI "https://statewave.dev/plugins"
#define SW_LV2_MONO_URI SW_LV2_URI "/mono"
#define SW_LV2_STEREO_URI SW_LV2_URI "/stereo"
#define SW_LV2_MODEL_URI SW_LV2_URI "#model"   /* patch:writable atom:Path */
#define SW_LV2_STATUS_URI SW_LV2_URI "#status" /* patch:readable atom:String */

/* Port indices. Audio ports come last: inputs then outputs, one per channel. */
typedef enum {
  PORT_CONTROL = 0,
  PORT_NOTIFY,
  PORT_INPUT_GAIN,
  PORT_OUTPUT_GAIN,
  PORT_MIX,
  PORT_KNOB1,
  PORT_KNOB2,
  PORT_KNOB3,
  PORT_ENABLED,
  PORT_RESET,
  PORT_BACKEND,
  PORT_LATENCY,
  PORT_MODEL_INPUTS,
  PORT_GPU_ACTIVE,
  PORT_AUDIO, /* first audio input */
} PortIndex;

#define SW_LV2_KNOBS 3U

/* Values of the backend port. */
typedef enum {
  BACKEND_PORT_AUTO = 0,
  BACKEND_PORT_CPU  = 1,
  BACKEND_PORT_GPU  = 2,
} BackendPortValue;

typedef enum {
  CONTROL_PLAIN,
  CONTROL_DB,
  CONTROL_TOGGLE,
  CONTROL_TRIGGER,
  CONTROL_ENABLED, /* lv2:designation lv2:enabled */
  CONTROL_BACKEND, /* integer enumeration */
  CONTROL_LATENCY, /* output, lv2:designation lv2:latency */
  CONTROL_INTEGER_OUT,
  CONTROL_TOGGLE_OUT,
} ControlKind;

typedef struct {
  PortIndex   index;
  const char* symbol;
  const char* name;
  const char* comment;
  ControlKind kind;
  float       min;
  float       def;
  float       max;
} ControlPort;

static const ControlPort sw_lv2_controls[] = {
  {PORT_INPUT_GAIN, "input_gain", "Input gain",
   "Gain before the model (the dry signal is not affected)", CONTROL_DB,
   -24.0f, 0.0f, 24.0f},
  {PORT_OUTPUT_GAIN, "output_gain", "Output gain",
   "Gain after the model (the dry signal is not affected)", CONTROL_DB,
   -24.0f, 0.0f, 24.0f},
  {PORT_MIX, "mix", "Dry/wet", "0 plays the input, 1 the model only",
   CONTROL_PLAIN, 0.0f, 1.0f, 1.0f},
  {PORT_KNOB1, "knob1", "Knob 1",
   "The model's first extra input, 0..1 across its range (inert when the "
   "model has none)",
   CONTROL_PLAIN, 0.0f, 0.5f, 1.0f},
  {PORT_KNOB2, "knob2", "Knob 2", "The model's second extra input, 0..1",
   CONTROL_PLAIN, 0.0f, 0.5f, 1.0f},
  {PORT_KNOB3, "knob3", "Knob 3", "The model's third extra input, 0..1",
   CONTROL_PLAIN, 0.0f, 0.5f, 1.0f},
  {PORT_ENABLED, "enabled", "Enabled", "Bypass (0) crossfades to the input",
   CONTROL_ENABLED, 0.0f, 1.0f, 1.0f},
  {PORT_RESET, "reset", "Reset", "Reset the model's state", CONTROL_TRIGGER,
   0.0f, 0.0f, 1.0f},
  {PORT_BACKEND, "backend", "Backend",
   "Where the model runs; GPU falls back to the CPU where none answers",
   CONTROL_BACKEND, 0.0f, 0.0f, 2.0f},
  {PORT_LATENCY, "latency", "Latency", "Frames of latency the model adds",
   CONTROL_LATENCY, 0.0f, 0.0f, 65536.0f},
  {PORT_MODEL_INPUTS, "model_inputs", "Model inputs",
   "Input width of the model: 1 audio, then one per live knob",
   CONTROL_INTEGER_OUT, 0.0f, 1.0f, 64.0f},
  {PORT_GPU_ACTIVE, "gpu_active", "GPU active",
   "1 while the model runs on a GPU", CONTROL_TOGGLE_OUT, 0.0f, 0.0f, 1.0f},
};

#define SW_LV2_NUM_CONTROLS (sizeof(sw_lv2_controls) / sizeof(sw_lv2_controls[0]))

#endif
