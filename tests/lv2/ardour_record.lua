-- ardour7-lua ardour_record.lua DIR NAME PLUGIN_URI PRESET_LABEL SECONDS
--
-- First half of tests/lv2/test_ardour.sh: on the "None (Dummy)" backend
-- with its "Sine Wave" input, create the session DIR/NAME, add a mono audio
-- track "T", insert the plugin PLUGIN_URI at the top of it, load its preset
-- PRESET_LABEL (after moving two of the controls the preset sets away from
-- the preset's values, so that loading it is seen to set them back), record
-- SECONDS seconds of the sine, save and close. Prints "OK ardour_record"
-- last; any failed check raises a Lua error (exit status 1).

local dir, name, uri, label, seconds = arg[1], arg[2], arg[3], arg[4], tonumber(arg[5])
assert(dir and name and uri and label and seconds,
       "usage: ardour_record.lua DIR NAME PLUGIN_URI PRESET_LABEL SECONDS")

local function check(cond, ...)
  if not cond then
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    error("check failed: " .. table.concat(parts, " "), 2)
  end
end

-- The index LuaAPI.{get,set}_processor_param takes for the control labelled
-- `wanted` (it counts control ports, inputs and outputs).
local function param(plugin, wanted)
  for i = 0, plugin:parameter_count() - 1 do
    local pid = plugin:nth_parameter(i, false)
    if plugin:parameter_label(pid) == wanted then
      return i
    end
  end
  error("the plugin has no control labelled " .. wanted)
end

local function get(proc, i)
  return (ARDOUR.LuaAPI.get_processor_param(proc, i, false))
end

-- Every Lua reference to the session's objects (tracks, processors)
-- lives in work()'s locals and is collected before close_session():
-- one still held when the session is gone is destroyed at exit,
-- after the port manager, and crashes ardour7-lua (seen with
-- MALLOC_PERTURB_ set, as meson test does).
local function work()
  local backend = AudioEngine:set_backend("None (Dummy)", "", "")
  check(backend, "no None (Dummy) backend")
  backend:set_device_name("Sine Wave")
  backend:set_buffer_size(128)
  backend:set_sample_rate(48000)
  check(create_session(dir, name, 48000), "create_session", dir, name)
  check(Session, "no session after create_session")

  local tracks = Session:new_audio_track(1, 2, nil, 1, "T",
                                         ARDOUR.PresentationInfo.max_order,
                                         ARDOUR.TrackMode.Normal, true)
  check(tracks:size() == 1, "new_audio_track made", tracks:size(), "tracks")
  local track = tracks:front()

  local proc = ARDOUR.LuaAPI.new_plugin(Session, uri, ARDOUR.PluginType.LV2, "")
  check(not proc:isnil(), "LV2 plugin not found (is LV2_PATH set?):", uri)
  check(track:add_processor_by_index(proc, 0, nil, true) == 0,
        "add_processor_by_index refused the plugin")
  local plugin = proc:to_insert():plugin(0)
  check(plugin:unique_id() == uri, "inserted", plugin:unique_id())
  print("inserted " .. plugin:name() .. " on track " .. track:name())

  local mix = param(plugin, "Dry/wet")
  local out_gain = param(plugin, "Output gain")
  local model_inputs = param(plugin, "Model inputs")

  -- Away from the preset's values (mix 1, output gain 0 dB): a dry, quieter
  -- plugin, which the preset must undo.
  check(ARDOUR.LuaAPI.set_processor_param(proc, mix, 0.0), "set mix")
  check(ARDOUR.LuaAPI.set_processor_param(proc, out_gain, -6.0), "set output gain")
  check(get(proc, mix) == 0.0 and get(proc, out_gain) == -6.0,
        "controls not set before the preset:", get(proc, mix), get(proc, out_gain))

  local preset = plugin:preset_by_label(label)
  check(preset and preset.valid, "no preset labelled", label)
  print("preset " .. preset.label .. " <" .. preset.uri .. ">")
  check(plugin:load_preset(preset), "load_preset refused", preset.uri)
  local last = plugin:last_preset()
  check(last.valid and last.uri == preset.uri, "last_preset is", last.uri)
  check(get(proc, mix) == 1.0, "the preset did not set mix to 1:", get(proc, mix))
  check(get(proc, out_gain) == 0.0, "the preset did not set output gain to 0:",
        get(proc, out_gain))
  print(string.format("after the preset: mix %g, output gain %g dB",
                      get(proc, mix), get(proc, out_gain)))

  -- The engine runs the plugin while the transport is stopped: it reports
  -- the input width of the model it plays (1: audio only), 0 for none.
  for _ = 1, 20 do
    if get(proc, model_inputs) == 1.0 then break end
    ARDOUR.LuaAPI.usleep(100000)
  end
  check(get(proc, model_inputs) == 1.0, "model_inputs is", get(proc, model_inputs),
        "(no model playing?)")

  track:rec_enable_control():set_value(1, PBD.GroupControlDisposition.NoGroup)
  Session:maybe_enable_record(false)
  Session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
  ARDOUR.LuaAPI.usleep(math.floor(seconds * 1000000))
  Session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
  -- The take becomes a region once the transport has stopped and the
  -- butler has flushed it (about half a second; up to 10 s on a busy host).
  for _ = 1, 100 do
    ARDOUR.LuaAPI.usleep(100000)
    if not Session:transport_rolling() and track:playlist():region_list():size() > 0 then
      break
    end
  end
  check(not Session:transport_rolling(), "the transport did not stop")
  Session:disable_record(false, false)
  -- Disarm the track, and wait for it: rec-enable is a real-time control, set
  -- from the process thread. A session saved with the track still armed
  -- monitors the input when it is bounced and fades the disk in after it
  -- (the export then starts with a cycle of silence and a gain ramp).
  track:rec_enable_control():set_value(0, PBD.GroupControlDisposition.NoGroup)
  for _ = 1, 50 do
    if track:rec_enable_control():get_value() == 0 then break end
    ARDOUR.LuaAPI.usleep(20000)
  end
  check(track:rec_enable_control():get_value() == 0, "track T is still armed")
  check(not Session:actively_recording(), "the session is still recording")

  local regions = track:playlist():region_list()
  check(regions:size() == 1, "the track has", regions:size(), "regions after recording")
  local length = 0
  for r in regions:iter() do length = r:length():samples() end
  print(string.format("recorded %d samples", length))
  check(length > 48000 * seconds / 2, "recorded only", length, "samples")

  -- The plugin and its preset still in place after the roll.
  check(get(proc, mix) == 1.0 and get(proc, out_gain) == 0.0,
        "controls moved during the roll:", get(proc, mix), get(proc, out_gain))

  check(Session:save_state("", false, false, false, false, false) == 0, "save_state")
end

local ok, err = pcall(work)
if not ok then
  print("Error: " .. tostring(err))
end
collectgarbage()
collectgarbage()
if Session then
  close_session()
end
if not ok then
  os.exit(1)
end
print("OK ardour_record")
quit()
