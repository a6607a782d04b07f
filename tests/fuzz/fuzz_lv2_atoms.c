/* Fuzz target for what the LV2 plugin's run() reads (plugin/plugin.c,
   worker.c, transport.c): the atom events of its control port, its control
   ports and its audio input, over many cycles with the worker running in
   between, as a host plays a session. The events are well-formed atoms
   (the host's side of the contract) with any content: patch:Set of the
   model with good, missing, bad and unterminated paths, other properties
   and value types, patch:Get, time:Position with any speed and frame,
   unknown objects, non-object events, at any time stamp.

   The input is a script of one-byte operations (other bytes are skipped),
   readable so that seeds can be written by hand (corpus/lv2_atoms/):
     S<text>\n   patch:Set model = atom:Path <text> (NUL-terminated)
     s<text>\n   patch:Set model = atom:String <text>, no NUL in its size
     V<k><t>     patch:Set of property k (model, status, another, a
                 non-URID) to a value of type t (Int, Float, URID, empty
                 Path, none)
     G<k>        patch:Get of property k (none, model, status, another)
     P<m><f4><i8> time:Position: speed (float bits) and frame (int64
                 bits), each present when bit 0 / bit 1 of m is set
     O<k>        an object of another type with no properties
     I           an atom:Int event
     T<i8>       the time stamp of the next events (int64 bits)
     C<p><f4>    control port p set to a float (bits: NaN, Inf, any)
     A<f4><n>    the next blocks' input: n % 64 frames of the float (bits),
                 a burst from frame 0; the rest a sine
     R<n>        run() n % 65 frames (0 is allowed) with the events so far
                 (skipped while deactivated, as hosts do)
     W           the worker does its work and the responses come back
     D / E       deactivate / activate
     X           save(): it must store the model that plays
   The first byte picks mono (even) or stereo (odd). At the end the plugin
   plays 20 more blocks with the worker running; every output sample must be
   finite (fuzz_lv2_host.c checks each run()), and a refusal the plugin
   notifies must not blame a missing worker (this host gives one). */

#include "fuzz_harness.h"
#include "fuzz_lv2_host.h"

#include <lv2/atom/util.h>
#include <lv2/patch/patch.h>
#include <lv2/time/time.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const uint8_t* data;
  size_t         size;
  size_t         at;
} Script;

static bool
take(Script* const s, void* const out, const size_t n)
{
  if (s->size - s->at < n) {
    s->at = s->size;
    return false;
  }
  memcpy(out, s->data + s->at, n);
  s->at += n;
  return true;
}

static uint8_t
take_byte(Script* const s)
{
  uint8_t byte = 0;
  (void)take(s, &byte, 1);
  return byte;
}

/* Bytes up to a newline (or the end), at most `cap`. */
static size_t
take_text(Script* const s, char* const text, const size_t cap)
{
  size_t n = 0;
  while (s->at < s->size && s->data[s->at] != '\n') {
    if (n < cap) {
      text[n++] = (char)s->data[s->at];
    }
    ++s->at;
  }
  if (s->at < s->size) {
    ++s->at;
  }
  return n;
}

typedef struct {
  FuzzLv2Plugin plugin;
  int64_t       time;
  float         burst;
  uint32_t      burst_frames;
  uint64_t      frame;
} Session;

/* Room for an event of `body` bytes (with its header and padding). */
static bool
room(Session* const session, const uint32_t body)
{
  const LV2_Atom_Forge* const forge = fuzz_lv2_events(&session->plugin);
  return forge->offset + body + 64U <= forge->size;
}

static void
begin_object(Session* const session, LV2_Atom_Forge_Frame* const frame,
             const LV2_URID otype)
{
  LV2_Atom_Forge* const forge = fuzz_lv2_events(&session->plugin);
  lv2_atom_forge_frame_time(forge, session->time);
  lv2_atom_forge_object(forge, frame, 0, otype);
}

static LV2_URID
property(const uint8_t k)
{
  switch (k % 4U) {
  case 0: return fuzz_lv2_urid(SW_LV2_MODEL_URI);
  case 1: return fuzz_lv2_urid(SW_LV2_STATUS_URI);
  case 2: return fuzz_lv2_urid(LV2_TIME__speed);
  default: return 0;
  }
}

static void
patch_set_text(Session* const session, Script* const s, const bool terminated)
{
  char         text[5000]; /* longer than any path the plugin takes */
  const size_t n = take_text(s, text, sizeof(text));
  if (!room(session, (uint32_t)n + 64U)) {
    return;
  }
  LV2_Atom_Forge* const forge = fuzz_lv2_events(&session->plugin);
  LV2_Atom_Forge_Frame  frame;
  begin_object(session, &frame, fuzz_lv2_urid(LV2_PATCH__Set));
  lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__property));
  lv2_atom_forge_urid(forge, fuzz_lv2_urid(SW_LV2_MODEL_URI));
  lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__value));
  if (terminated) {
    lv2_atom_forge_path(forge, text, (uint32_t)n);
  } else {
    /* An atom:String whose size leaves out the NUL (what follows it is
       padding, or the next event when its size is a multiple of 8). */
    lv2_atom_forge_atom(forge, (uint32_t)n, fuzz_lv2_urid(LV2_ATOM__String));
    lv2_atom_forge_write(forge, text, (uint32_t)n);
  }
  lv2_atom_forge_pop(forge, &frame);
}

static void
patch_set_other(Session* const session, Script* const s)
{
  const uint8_t k = take_byte(s);
  const uint8_t t = take_byte(s);
  if (!room(session, 128U)) {
    return;
  }
  LV2_Atom_Forge* const forge = fuzz_lv2_events(&session->plugin);
  LV2_Atom_Forge_Frame  frame;
  begin_object(session, &frame, fuzz_lv2_urid(LV2_PATCH__Set));
  lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__property));
  if (k % 4U == 3U) {
    lv2_atom_forge_int(forge, 7); /* a property that is not a URID */
  } else {
    lv2_atom_forge_urid(forge, property(k));
  }
  switch (t % 5U) {
  case 0:
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__value));
    lv2_atom_forge_int(forge, 1);
    break;
  case 1:
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__value));
    lv2_atom_forge_float(forge, 0.5f);
    break;
  case 2:
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__value));
    lv2_atom_forge_urid(forge, fuzz_lv2_urid(LV2_ATOM__Path));
    break;
  case 3:
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__value));
    lv2_atom_forge_path(forge, "", 0);
    break;
  default: /* no value */
    break;
  }
  lv2_atom_forge_pop(forge, &frame);
}

static void
patch_get(Session* const session, Script* const s)
{
  const uint8_t k = take_byte(s);
  if (!room(session, 64U)) {
    return;
  }
  LV2_Atom_Forge* const forge = fuzz_lv2_events(&session->plugin);
  LV2_Atom_Forge_Frame  frame;
  begin_object(session, &frame, fuzz_lv2_urid(LV2_PATCH__Get));
  if (k % 4U != 3U) {
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_PATCH__property));
    lv2_atom_forge_urid(forge, k % 4U == 2U ? fuzz_lv2_urid(LV2_TIME__frame)
                                            : property(k));
  }
  lv2_atom_forge_pop(forge, &frame);
}

static void
position(Session* const session, Script* const s)
{
  const uint8_t mask  = take_byte(s);
  float         speed = 0.0f;
  int64_t       frame_number = 0;
  (void)take(s, &speed, sizeof(speed));
  (void)take(s, &frame_number, sizeof(frame_number));
  if (!room(session, 96U)) {
    return;
  }
  LV2_Atom_Forge* const forge = fuzz_lv2_events(&session->plugin);
  LV2_Atom_Forge_Frame  frame;
  begin_object(session, &frame, fuzz_lv2_urid(LV2_TIME__Position));
  if (mask & 1U) {
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_TIME__speed));
    lv2_atom_forge_float(forge, speed);
  }
  if (mask & 2U) {
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_TIME__frame));
    lv2_atom_forge_long(forge, frame_number);
  }
  if (mask & 4U) { /* a frame of the wrong type */
    lv2_atom_forge_key(forge, fuzz_lv2_urid(LV2_TIME__frame));
    lv2_atom_forge_float(forge, speed);
  }
  lv2_atom_forge_pop(forge, &frame);
}

static void
other_object(Session* const session, Script* const s)
{
  static const char* const types[] = {LV2_PATCH__Set, LV2_TIME__Position,
                                      LV2_PATCH__Get, LV2_PATCH__Patch};
  const uint8_t k = take_byte(s);
  if (!room(session, 32U)) {
    return;
  }
  LV2_Atom_Forge_Frame frame;
  begin_object(session, &frame, fuzz_lv2_urid(types[k % 4U]));
  lv2_atom_forge_pop(fuzz_lv2_events(&session->plugin), &frame);
}

static void
int_event(Session* const session)
{
  if (!room(session, 16U)) {
    return;
  }
  LV2_Atom_Forge* const forge = fuzz_lv2_events(&session->plugin);
  lv2_atom_forge_frame_time(forge, session->time);
  lv2_atom_forge_int(forge, 42);
}

static void
set_control(Session* const session, Script* const s)
{
  const uint8_t port  = take_byte(s);
  float         value = 0.0f;
  if (take(s, &value, sizeof(value))) {
    /* Input controls only: outputs are the plugin's to write. */
    static const PortIndex inputs[] = {
      PORT_INPUT_GAIN, PORT_OUTPUT_GAIN, PORT_MIX,     PORT_KNOB1,
      PORT_KNOB2,      PORT_KNOB3,       PORT_ENABLED, PORT_RESET,
      PORT_BACKEND};
    session->plugin.controls[inputs[port % 9U]] = value;
  }
}

/* run() is only called while activated (the host's side of the
   contract). */
static void
run_block(Session* const session, const uint32_t frames)
{
  FuzzLv2Plugin* const p = &session->plugin;
  if (!p->activated) {
    return;
  }
  for (uint32_t c = 0; c < p->channels; ++c) {
    for (uint32_t t = 0; t < frames; ++t) {
      p->in[c][t] =
        t < session->burst_frames
          ? session->burst
          : 0.5f * sinf(0.05f * (float)(session->frame + t) * (float)(c + 1U));
    }
  }
  fuzz_lv2_run(p, frames);
  session->frame += frames;
  session->time = 0;
  /* This host gives a worker: a refusal must say what really went wrong. */
  if (!strcmp(p->status,
              "cannot load a model: the host gave the plugin no worker")) {
    fprintf(stderr, "fuzz: with a worker, the plugin says: %s\n", p->status);
    abort();
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t* const data, const size_t size)
{
  if (size < 1) {
    return 0;
  }
  static Session session;
  memset(&session, 0, sizeof(session));
  fuzz_lv2_plugin_init(&session.plugin, data[0] & 1U, true);
  Script s = {data, size, 1};

  while (s.at < s.size) {
    switch (take_byte(&s)) {
    case 'S': patch_set_text(&session, &s, true); break;
    case 's': patch_set_text(&session, &s, false); break;
    case 'V': patch_set_other(&session, &s); break;
    case 'G': patch_get(&session, &s); break;
    case 'P': position(&session, &s); break;
    case 'O': other_object(&session, &s); break;
    case 'I': int_event(&session); break;
    case 'T': (void)take(&s, &session.time, sizeof(session.time)); break;
    case 'C': set_control(&session, &s); break;
    case 'A':
      (void)take(&s, &session.burst, sizeof(session.burst));
      session.burst_frames = take_byte(&s) % FUZZ_LV2_BLOCK;
      break;
    case 'R': run_block(&session, take_byte(&s) % (FUZZ_LV2_BLOCK + 1U)); break;
    case 'W': fuzz_lv2_do_work(&session.plugin); break;
    case 'D':
      if (session.plugin.activated) {
        session.plugin.descriptor->deactivate(session.plugin.handle);
        session.plugin.activated = false;
      }
      break;
    case 'E':
      if (!session.plugin.activated) {
        session.plugin.descriptor->activate(session.plugin.handle);
        session.plugin.activated = true;
      }
      break;
    case 'X': {
      char path[4096];
      fuzz_lv2_save(&session.plugin, true, path, sizeof(path));
      if (!path[0]) {
        fprintf(stderr, "fuzz: save() found no model playing\n");
        abort();
      }
      break;
    }
    default: break;
    }
  }

  /* Whatever came before: the plugin plays on, finite. */
  if (!session.plugin.activated) {
    session.plugin.descriptor->activate(session.plugin.handle);
    session.plugin.activated = true;
  }
  session.burst_frames = 0;
  for (uint32_t b = 0; b < 20U; ++b) {
    run_block(&session, FUZZ_LV2_BLOCK);
    fuzz_lv2_do_work(&session.plugin);
  }
  fuzz_lv2_plugin_cleanup(&session.plugin);
  return 0;
}
