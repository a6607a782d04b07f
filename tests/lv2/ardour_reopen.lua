-- ardour7-lua ardour_reopen.lua DIR NAME PLUGIN_URI PRESET_URI DRY_SNAPSHOT
--
-- Second half of tests/lv2/test_ardour.sh: reopen the session that
-- ardour_record.lua saved and check that the plugin came back where it was,
-- with the preset's name and control values and a model playing; then save
-- the snapshot DRY_SNAPSHOT with the plugin deactivated (the same session,
-- bounced without the plugin, gives the signal the plugin was fed). The
-- session's own snapshot NAME is left as it was saved. Prints
-- "OK ardour_reopen" last; any failed check raises a Lua error (exit
-- status 1).

local dir, name, uri, preset_uri, dry = arg[1], arg[2], arg[3], arg[4], arg[5]
assert(dir and name and uri and preset_uri and dry,
       "usage: ardour_reopen.lua DIR NAME PLUGIN_URI PRESET_URI DRY_SNAPSHOT")

local function check(cond, ...)
  if not cond then
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    error("check failed: " .. table.concat(parts, " "), 2)
  end
end

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
  backend:set_device_name("Silence")
  backend:set_buffer_size(128)
  backend:set_sample_rate(48000)
  check(load_session(dir, name), "load_session", dir, name)
  check(Session, "no session after load_session")

  local track = Session:route_by_name("T")
  check(not track:isnil(), "track T is gone")
  local proc = track:nth_plugin(0)
  check(not proc:isnil(), "track T has no plugin")
  check(proc:active(), "the plugin came back inactive")
  local plugin = proc:to_insert():plugin(0)
  check(plugin:unique_id() == uri, "the plugin on T is", plugin:unique_id())
  check(track:nth_plugin(1):isnil(), "track T has more than one plugin")
  check(track:rec_enable_control():get_value() == 0, "track T was saved armed")
  print("restored " .. plugin:name() .. " <" .. plugin:unique_id() .. "> on " .. track:name())

  local last = plugin:last_preset()
  check(last.valid and last.uri == preset_uri, "last preset restored as", last.uri)
  print("last preset " .. last.label .. " <" .. last.uri .. ">")

  local mix = param(plugin, "Dry/wet")
  local out_gain = param(plugin, "Output gain")
  local in_gain = param(plugin, "Input gain")
  local model_inputs = param(plugin, "Model inputs")
  check(get(proc, mix) == 1.0 and get(proc, out_gain) == 0.0 and get(proc, in_gain) == 0.0,
        "controls restored as mix", get(proc, mix), "output gain", get(proc, out_gain),
        "input gain", get(proc, in_gain))
  for _ = 1, 20 do
    if get(proc, model_inputs) == 1.0 then break end
    ARDOUR.LuaAPI.usleep(100000)
  end
  check(get(proc, model_inputs) == 1.0, "model_inputs is", get(proc, model_inputs),
        "(no model playing after the state was restored?)")

  proc:deactivate()
  check(not proc:active(), "the plugin would not deactivate")
  check(Session:save_state(dry, false, false, false, false, false) == 0, "save_state", dry)
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
print("OK ardour_reopen")
quit()
