/* Writes the bundle's Turtle at build time: manifest.ttl (both plugins and
   every preset), statewave.ttl (the plugins, from the port table in
   ports.h) and presets.ttl (one pset:Preset per plugin for each preset file
   in presets/).

   usage: make_ttl OUTDIR BINARY DEFAULT_MODEL [PRESET_FILE...]

   A preset file is JSON: {"name", "description", "model" (a file next to
   it, shipped in the bundle), "input_gain_db", "output_gain_db", "mix",
   "knobs": [0..1, ...]}; only name and model are required. */

#include "ports.h"

#include <cjson/cJSON.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char* uri;
  const char* name;
  const char* id; /* "mono", "stereo" */
  unsigned    channels;
} PluginKind;

static const PluginKind kinds[] = {
  {SW_LV2_MONO_URI, "Statewave (mono)", "mono", 1},
  {SW_LV2_STEREO_URI, "Statewave (stereo)", "stereo", 2},
};

static const char* const prefixes =
  "@prefix atom:  <http://lv2plug.in/ns/ext/atom#> .\n"
  "@prefix bufsz: <http://lv2plug.in/ns/ext/buf-size#> .\n"
  "@prefix doap:  <http://usefulinc.com/ns/doap#> .\n"
  "@prefix foaf:  <http://xmlns.com/foaf/0.1/> .\n"
  "@prefix log:   <http://lv2plug.in/ns/ext/log#> .\n"
  "@prefix lv2:   <http://lv2plug.in/ns/lv2core#> .\n"
  "@prefix opts:  <http://lv2plug.in/ns/ext/options#> .\n"
  "@prefix patch: <http://lv2plug.in/ns/ext/patch#> .\n"
  "@prefix pprops: <http://lv2plug.in/ns/ext/port-props#> .\n"
  "@prefix pset:  <http://lv2plug.in/ns/ext/presets#> .\n"
  "@prefix rdf:   <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
  "@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .\n"
  "@prefix state: <http://lv2plug.in/ns/ext/state#> .\n"
  "@prefix time:  <http://lv2plug.in/ns/ext/time#> .\n"
  "@prefix units: <http://lv2plug.in/ns/extensions/units#> .\n"
  "@prefix urid:  <http://lv2plug.in/ns/ext/urid#> .\n"
  "@prefix work:  <http://lv2plug.in/ns/ext/worker#> .\n"
  "@prefix xsd:   <http://www.w3.org/2001/XMLSchema#> .\n\n";

static void
die(const char* fmt, ...)
{
  va_list args;
  va_start(args, fmt);
  fputs("make_ttl: ", stderr);
  vfprintf(stderr, fmt, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

static FILE*
open_out(const char* dir, const char* name)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE* f = fopen(path, "w");
  if (!f) {
    die("cannot write %s", path);
  }
  fputs(prefixes, f);
  return f;
}

/* A Turtle string literal. */
static void
put_string(FILE* f, const char* s)
{
  fputc('"', f);
  for (; *s; ++s) {
    switch (*s) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default: fputc(*s, f);
    }
  }
  fputc('"', f);
}

/* Turtle needs a '.' or an exponent in a decimal; %.9g may print neither. */
static void
put_float(FILE* f, double v)
{
  char text[64];
  snprintf(text, sizeof(text), "%.9g", v);
  fputs(text, f);
  if (!strpbrk(text, ".eEn")) {
    fputs(".0", f);
  }
}

static void
write_control(FILE* f, const ControlPort* p)
{
  const int output = p->kind == CONTROL_LATENCY ||
                     p->kind == CONTROL_INTEGER_OUT ||
                     p->kind == CONTROL_TOGGLE_OUT;
  fprintf(f, "\t\ta lv2:%s , lv2:ControlPort ;\n",
          output ? "OutputPort" : "InputPort");
  fprintf(f, "\t\tlv2:index %d ;\n\t\tlv2:symbol \"%s\" ;\n\t\tlv2:name ",
          (int)p->index, p->symbol);
  put_string(f, p->name);
  fputs(" ;\n\t\trdfs:comment ", f);
  put_string(f, p->comment);
  fputs(" ;\n", f);
  switch (p->kind) {
  case CONTROL_DB: fputs("\t\tunits:unit units:db ;\n", f); break;
  case CONTROL_TOGGLE:
  case CONTROL_TOGGLE_OUT: fputs("\t\tlv2:portProperty lv2:toggled ;\n", f); break;
  case CONTROL_TRIGGER:
    fputs("\t\tlv2:portProperty lv2:toggled , pprops:trigger ;\n", f);
    break;
  case CONTROL_ENABLED:
    fputs("\t\tlv2:designation lv2:enabled ;\n"
          "\t\tlv2:portProperty lv2:toggled ;\n", f);
    break;
  case CONTROL_BACKEND:
    fputs("\t\tlv2:portProperty lv2:integer , lv2:enumeration ;\n"
          "\t\tlv2:scalePoint [ rdfs:label \"Auto\" ; rdf:value 0 ] ,\n"
          "\t\t\t[ rdfs:label \"CPU\" ; rdf:value 1 ] ,\n"
          "\t\t\t[ rdfs:label \"GPU\" ; rdf:value 2 ] ;\n", f);
    break;
  case CONTROL_LATENCY:
    fputs("\t\tlv2:designation lv2:latency ;\n"
          "\t\tlv2:portProperty lv2:reportsLatency , lv2:integer ;\n", f);
    break;
  case CONTROL_INTEGER_OUT: fputs("\t\tlv2:portProperty lv2:integer ;\n", f); break;
  case CONTROL_PLAIN: break;
  }
  fputs("\t\tlv2:default ", f);
  put_float(f, (double)p->def);
  fputs(" ;\n\t\tlv2:minimum ", f);
  put_float(f, (double)p->min);
  fputs(" ;\n\t\tlv2:maximum ", f);
  put_float(f, (double)p->max);
  fputs("\n", f);
}

static void
write_plugin(FILE* f, const PluginKind* k, const char* default_model)
{
  fprintf(f, "<%s>\n\ta lv2:Plugin , lv2:SimulatorPlugin ;\n", k->uri);
  fputs("\tdoap:name ", f);
  put_string(f, k->name);
  fputs(" ;\n\tdoap:license <https://spdx.org/licenses/ISC> ;\n"
        "\tlv2:project <https://statewave.dev> ;\n"
        "\trdfs:comment \"Runs a trained recurrent network (LSTM, GRU, "
        "SimpleRNN; Keras .h5, RTNeural/AIDA-X, GuitarML, NAM) on the audio, "
        "keeping its state between blocks; the state resets when the "
        "transport starts, stops or jumps.\" ;\n"
        "\tlv2:minorVersion 1 ;\n\tlv2:microVersion 0 ;\n"
        "\tlv2:optionalFeature urid:map , lv2:hardRTCapable , work:schedule ,\n"
        "\t\tlog:log ,\n"
        "\t\topts:options , bufsz:boundedBlockLength , state:loadDefaultState ,\n"
        "\t\tstate:threadSafeRestore , state:mapPath , state:freePath ;\n"
        "\topts:supportedOption bufsz:maxBlockLength , bufsz:nominalBlockLength ;\n"
        "\tlv2:extensionData state:interface , work:interface ;\n",
        f);
  fprintf(f, "\tpatch:writable <%s> ;\n\tpatch:readable <%s> ;\n",
          SW_LV2_MODEL_URI, SW_LV2_STATUS_URI);
  fputs("\tlv2:port [\n"
        "\t\ta lv2:InputPort , atom:AtomPort ;\n"
        "\t\tatom:bufferType atom:Sequence ;\n"
        "\t\tatom:supports patch:Message , time:Position ;\n"
        "\t\tlv2:designation lv2:control ;\n"
        "\t\tlv2:portProperty lv2:connectionOptional ;\n"
        "\t\tlv2:index 0 ;\n\t\tlv2:symbol \"control\" ;\n"
        "\t\tlv2:name \"Control\"\n"
        "\t] , [\n"
        "\t\ta lv2:OutputPort , atom:AtomPort ;\n"
        "\t\tatom:bufferType atom:Sequence ;\n"
        "\t\tatom:supports patch:Message ;\n"
        "\t\tlv2:designation lv2:control ;\n"
        "\t\tlv2:portProperty lv2:connectionOptional ;\n"
        "\t\tlv2:index 1 ;\n\t\tlv2:symbol \"notify\" ;\n"
        "\t\tlv2:name \"Notify\"\n",
        f);
  for (size_t i = 0; i < SW_LV2_NUM_CONTROLS; ++i) {
    fputs("\t] , [\n", f);
    write_control(f, &sw_lv2_controls[i]);
  }
  for (unsigned dir = 0; dir < 2; ++dir) {
    for (unsigned c = 0; c < k->channels; ++c) {
      const unsigned index = PORT_AUDIO + dir * k->channels + c;
      fputs("\t] , [\n", f);
      fprintf(f, "\t\ta lv2:AudioPort , lv2:%s ;\n",
              dir ? "OutputPort" : "InputPort");
      if (k->channels == 1) {
        fprintf(f, "\t\tlv2:index %u ;\n\t\tlv2:symbol \"%s\" ;\n"
                   "\t\tlv2:name \"%s\"\n",
                index, dir ? "out" : "in", dir ? "Out" : "In");
      } else {
        fprintf(f, "\t\tlv2:index %u ;\n\t\tlv2:symbol \"%s_%s\" ;\n"
                   "\t\tlv2:name \"%s %s\"\n",
                index, dir ? "out" : "in", c ? "r" : "l", dir ? "Out" : "In",
                c ? "right" : "left");
      }
    }
  }
  fprintf(f, "\t] ;\n\tstate:state [\n\t\t<%s> <%s>\n\t] .\n\n",
          SW_LV2_MODEL_URI, default_model);
}

static char*
read_file(const char* path)
{
  FILE* f = fopen(path, "rb");
  if (!f) {
    die("cannot open preset %s", path);
  }
  fseek(f, 0, SEEK_END);
  const long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* text = (char*)malloc((size_t)size + 1U);
  if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
    die("cannot read preset %s", path);
  }
  text[size] = '\0';
  fclose(f);
  return text;
}

/* The preset's id: its file name without directory and extension. */
static void
preset_id(const char* path, char* id, size_t size)
{
  const char* base = strrchr(path, '/');
  base             = base ? base + 1 : path;
  snprintf(id, size, "%s", base);
  char* dot = strchr(id, '.');
  if (dot) {
    *dot = '\0';
  }
}

static double
number_or(const cJSON* obj, const char* key, double fallback, const char* path,
          double lo, double hi)
{
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!item) {
    return fallback;
  }
  if (!cJSON_IsNumber(item) || item->valuedouble < lo || item->valuedouble > hi) {
    die("%s: \"%s\" must be a number in %g..%g", path, key, lo, hi);
  }
  return item->valuedouble;
}

static void
write_preset(FILE* presets, FILE* manifest, const char* path)
{
  char* text = read_file(path);
  cJSON* root = cJSON_Parse(text);
  if (!cJSON_IsObject(root)) {
    die("%s: not a JSON object", path);
  }
  const cJSON* name  = cJSON_GetObjectItemCaseSensitive(root, "name");
  const cJSON* model = cJSON_GetObjectItemCaseSensitive(root, "model");
  const cJSON* desc  = cJSON_GetObjectItemCaseSensitive(root, "description");
  const cJSON* knobs = cJSON_GetObjectItemCaseSensitive(root, "knobs");
  if (!cJSON_IsString(name) || !cJSON_IsString(model) ||
      strchr(model->valuestring, '/') || strchr(model->valuestring, '>')) {
    die("%s: expected string \"name\" and \"model\" (a file name next to the "
        "preset)", path);
  }
  if (knobs && (!cJSON_IsArray(knobs) ||
                cJSON_GetArraySize(knobs) > (int)SW_LV2_KNOBS)) {
    die("%s: \"knobs\" must be an array of at most %u positions", path,
        SW_LV2_KNOBS);
  }
  const double in_gain  = number_or(root, "input_gain_db", 0.0, path, -24, 24);
  const double out_gain = number_or(root, "output_gain_db", 0.0, path, -24, 24);
  const double mix      = number_or(root, "mix", 1.0, path, 0, 1);
  char id[256];
  preset_id(path, id, sizeof(id));

  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); ++k) {
    fprintf(manifest,
            "<%s/presets/%s>\n\ta pset:Preset ;\n\tlv2:appliesTo <%s> ;\n"
            "\trdfs:seeAlso <presets.ttl> .\n\n",
            kinds[k].uri, id, kinds[k].uri);
    fprintf(presets, "<%s/presets/%s>\n\ta pset:Preset ;\n\tlv2:appliesTo <%s> ;\n"
            "\trdfs:label ", kinds[k].uri, id, kinds[k].uri);
    put_string(presets, name->valuestring);
    fputs(" ;\n", presets);
    if (cJSON_IsString(desc)) {
      fputs("\trdfs:comment ", presets);
      put_string(presets, desc->valuestring);
      fputs(" ;\n", presets);
    }
    fprintf(presets, "\tlv2:port [\n\t\tlv2:symbol \"input_gain\" ;\n"
                     "\t\tpset:value ");
    put_float(presets, in_gain);
    fputs("\n\t] , [\n\t\tlv2:symbol \"output_gain\" ;\n\t\tpset:value ", presets);
    put_float(presets, out_gain);
    fputs("\n\t] , [\n\t\tlv2:symbol \"mix\" ;\n\t\tpset:value ", presets);
    put_float(presets, mix);
    for (unsigned i = 0; i < SW_LV2_KNOBS; ++i) {
      const cJSON* knob = knobs ? cJSON_GetArrayItem(knobs, (int)i) : NULL;
      if (knob && (!cJSON_IsNumber(knob) || knob->valuedouble < 0 ||
                   knob->valuedouble > 1)) {
        die("%s: knobs[%u] must be a number in 0..1", path, i);
      }
      fprintf(presets, "\n\t] , [\n\t\tlv2:symbol \"knob%u\" ;\n\t\tpset:value ",
              i + 1U);
      put_float(presets, knob ? knob->valuedouble : 0.5);
    }
    fprintf(presets, "\n\t] ;\n\tstate:state [\n\t\t<%s> <%s>\n\t] .\n\n",
            SW_LV2_MODEL_URI, model->valuestring);
  }
  cJSON_Delete(root);
  free(text);
}

int
main(int argc, char** argv)
{
  if (argc < 4) {
    die("usage: make_ttl OUTDIR BINARY DEFAULT_MODEL [PRESET_FILE...]");
  }
  const char* dir = argv[1];
  FILE* manifest  = open_out(dir, "manifest.ttl");
  FILE* plugins   = open_out(dir, "statewave.ttl");
  FILE* presets   = open_out(dir, "presets.ttl");

  fputs("<https://statewave.dev>\n\ta doap:Project ;\n"
        "\tdoap:name \"Statewave\" ;\n"
        "\tdoap:maintainer [ a foaf:Person ; foaf:name \"Statewave\" ] .\n\n",
        plugins);
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); ++k) {
    fprintf(manifest, "<%s>\n\ta lv2:Plugin ;\n\tlv2:binary <%s> ;\n"
                      "\trdfs:seeAlso <statewave.ttl> .\n\n",
            kinds[k].uri, argv[2]);
    write_plugin(plugins, &kinds[k], argv[3]);
  }
  fprintf(plugins, "<%s>\n\ta lv2:Parameter ;\n\trdfs:label \"model file\" ;\n"
                   "\trdfs:comment \"A model file of any format Statewave reads\" ;\n"
                   "\trdfs:range atom:Path .\n\n",
          SW_LV2_MODEL_URI);
  fprintf(plugins, "<%s>\n\ta lv2:Parameter ;\n\trdfs:label \"status\" ;\n"
                   "\trdfs:comment \"What became of the last model load\" ;\n"
                   "\trdfs:range atom:String .\n",
          SW_LV2_STATUS_URI);
  for (int i = 4; i < argc; ++i) {
    write_preset(presets, manifest, argv[i]);
  }
  if (fclose(manifest) || fclose(plugins) || fclose(presets)) {
    die("cannot write the Turtle files in %s", dir);
  }
  return 0;
}
