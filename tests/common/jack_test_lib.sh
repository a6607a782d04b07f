# Shell functions shared by the tests that run programs on a JACK server
# with the dummy driver (no sound card, real-time pacing) that the test
# starts itself: tests/lv2/test_jalv.sh and tests/live/test_live_jack.sh.
# Source it from bash after `set -euo pipefail`.
#
# The sourcing script provides:
#   tmp            a private folder (jackd's log is $tmp/jackd.log)
#   TRIES          how many times a window is tried
#   MAX_LOAD       percent of real time the tested client's audio thread
#                  may use
# and may set, for the window's CPU load, rt_pid and rt_tid: the process
# and the thread id of the tested client's real-time (JACK process) thread.
# The library keeps: jackd_pid, client_pids (programs to stop before
# jackd), failures, inconclusive (titles of windows the machine spoiled).
#
# Xruns: jackd2 reports every xrun it notifies to clients on its stderr:
#   "JackEngine::XRun: client = NAME was not finished, state = STATE"
#   "JackEngine::XRun: client NAME finished after current callback"
#       (JackEngine::CheckXRun: a client missed the cycle's deadline), and
#   "JackTimedDriver::Process XRun = N usec"
#       (the dummy driver's own thread woke too late),
# followed by "JackAudioDriver::ProcessGraphAsyncMaster: Process error" while
# a late graph is not finished. The detector counts those lines in jackd's
# log over a window. self_check proves it sees them: the tested client
# stopped (SIGSTOP) for 0.2 s must give an xrun naming it, and jack_cpu
# -c 99 (jackd2's client that busy-waits 99 % of each cycle; when installed)
# xruns naming it "not finished, state = Running"; were jackd's wording to
# change, the test fails there instead of passing blind.
#
# A machine shared with other work (a small VM with steal time, other
# real-time programs) makes xruns of its own: even an idle dummy server,
# with no client, logs "JackTimedDriver::Process XRun" there (most of those
# go while the test holds CPUs out of deep idle, see hold_cpu_idle_latency).
# So a window with xruns is tried again (TRIES tries); it passes when one
# try has none at all. When no try is clean: if every try's xruns are all
# the client's own (late while running, "state = Running", or "finished
# after current callback"), the test fails; if some try also shows the
# machine stalling (the driver thread late, other clients late, or the
# client woken but not scheduled, "state = Triggered"), the window is
# inconclusive (its title goes into `inconclusive`; the test skips, 77,
# naming it, unless something else failed). Apart from xruns, the client's
# audio thread must use under MAX_LOAD % of real time in every try (its CPU
# time from /proc, which the machine's stalls leave out).

jackd_pid=""
client_pids=()
failures=0
inconclusive=()
rt_pid=""
rt_tid=""
WINDOW_CLEAN_FROM=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Stop a program this test started, by pid.
stop_pid() {
  local pid=$1
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Drop pid $1 from client_pids (it has been waited for).
forget_pid() {
  local kept=() pid
  for pid in "${client_pids[@]}"; do
    [ "$pid" = "$1" ] || kept+=("$pid")
  done
  client_pids=("${kept[@]}")
}

# Stop every client, then the server (for the sourcing script's EXIT trap).
stop_jack_programs() {
  local pid
  for pid in "${client_pids[@]}"; do
    stop_pid "$pid"
  done
  client_pids=()
  if [ -n "$jackd_pid" ]; then
    stop_pid "$jackd_pid"
    jackd_pid=""
  fi
}

# Skip (77) unless every named program is installed.
require_programs() {
  local program
  for program in "$@"; do
    if ! command -v "$program" >/dev/null 2>&1; then
      echo "SKIP: $program is not installed (Debian packages: jackd2, jalv, sox)"
      exit 77
    fi
  done
}

# CPUs kept out of deep idle while the test runs, as real-time audio set-ups
# do (a PM QoS request of 0 us latency, held on fd 4 and dropped by the
# kernel when the calling shell exits; programs started in the background
# must not inherit fd 4: start them with 4>&-). On a virtual machine it
# matters most: a halted vCPU is woken by the host, often milliseconds late,
# and an idle dummy server there misses its period every few seconds; with
# the request, idle vCPUs poll and those xruns all but go. Needs root;
# skipped otherwise. Call it from the main shell, not a subshell.
hold_cpu_idle_latency() {
  if [ -w /dev/cpu_dma_latency ] && exec 4>/dev/cpu_dma_latency 2>/dev/null; then
    printf '0x00000000' >&4
    echo "note: CPU idle latency held at 0 us (/dev/cpu_dma_latency) during the test"
  else
    echo "note: /dev/cpu_dma_latency is not writable: CPUs may idle deeply (more xruns on a VM)"
  fi
}

# Wait until every named JACK port exists (10 s at most).
wait_ports() {
  local port
  for _ in $(seq 100); do
    local ports
    # jack_lsp waits for ever on a server that does not answer.
    ports=$(timeout 2 jack_lsp 2>/dev/null || true)
    local missing=0
    for port in "$@"; do
      grep -qxF "$port" <<<"$ports" || missing=1
    done
    [ "$missing" -eq 0 ] && return 0
    sleep 0.1
  done
  echo "FAIL: JACK ports did not appear: $*"
  timeout 2 jack_lsp 2>&1 || true
  exit 1
}

# Copy stdin to stdout, each line stamped with the time it came (seconds
# since the epoch, to the microsecond).
stamp_lines() {
  local line
  while IFS= read -r line; do
    printf '%s %s\n' "$EPOCHREALTIME" "$line"
  done
}

# Start `jackd -d dummy -r 48000 -p PERIOD` (PERIOD $2, else 128) as server
# $1 (exported as JACK_DEFAULT_SERVER, with JACK_NO_AUDIO_RESERVATION and
# JACK_NO_START_SERVER for its clients), its output in $tmp/jackd.log with
# each line stamped with the time it came; wait for its ports.
start_jackd() {
  export JACK_NO_AUDIO_RESERVATION=1 # no D-Bus device reservation
  export JACK_NO_START_SERVER=1      # a missing server is an error
  export JACK_DEFAULT_SERVER="$1"
  jackd -n "$JACK_DEFAULT_SERVER" -d dummy -r 48000 -p "${2:-128}" \
    > >(stamp_lines >"$tmp/jackd.log") 2>&1 3>&- 4>&- &
  jackd_pid=$!
  wait_ports system:playback_1
  if ! kill -0 "$jackd_pid" 2>/dev/null; then
    echo "FAIL: jackd exited"
    exit 1
  fi
}

# ---------------------------------------------------------------- xruns ----

log_offset() { wc -c <"$tmp/jackd.log"; }

# The xrun lines jackd wrote after byte offset $1 (without their stamps).
xrun_lines() {
  xrun_stamped_lines "$1" | cut -d' ' -f2- || true # a reader may stop early
}

# The same, each with the time it came first.
xrun_stamped_lines() {
  tail -c +"$(($1 + 1))" "$tmp/jackd.log" | grep -E 'XRun|Process error' || true
}

# The xruns after byte offset $1, told apart one late cycle at a time:
# reports that came within 5 ms of the one before are one event. Prints
# "EVENTS CLIENT_OWN MACHINE": how many events, how many were all client $2's
# own lateness while running (as xrun_verdict's "client"), and how many
# show the machine stalling (the driver thread late, another client late or
# a client woken but not scheduled) or name no client.
xrun_events() {
  xrun_stamped_lines "$1" | awk -v name="$2" '
    function close_event() {
      if (open) { events++; if (machine || !named) machines++; else own++ }
      open = 0; machine = 0; named = 0
    }
    {
      if (open && $1 - last > 0.005) close_event()
      open = 1; last = $1
      line = substr($0, index($0, " ") + 1)
      if (line ~ ("XRun: client = " name " was not finished, state = Running") ||
          line ~ ("XRun: client " name " finished after current callback")) {
        named = 1
      } else if (line !~ /Process error/) {
        machine = 1
      }
    }
    END { close_event(); printf "%d %d %d\n", events, own, machines }'
}

# Classify the xruns after offset $1 for client $2: prints "clean",
# "client" (all of them the client's own lateness while running) or
# "machine" (the machine stalled: see the header).
xrun_verdict() {
  local lines
  lines=$(xrun_lines "$1")
  if [ -z "$lines" ]; then
    echo clean
    return
  fi
  local name=$2
  local others
  others=$(grep -vE "XRun: client = $name was not finished, state = Running|XRun: client $name finished after current callback|Process error" <<<"$lines" || true)
  if [ -z "$others" ]; then
    echo client
  else
    echo machine
  fi
}

# CPU time (ns) the client's audio thread has used; empty when unknown.
thread_ns() {
  if [ -n "$rt_pid" ] && [ -n "$rt_tid" ]; then
    cut -d' ' -f1 "/proc/$rt_pid/task/$rt_tid/schedstat" 2>/dev/null || true
  fi
}

# The real-time thread of process $1 (JACK's process thread: the one with
# a real-time priority), or nothing.
rt_thread_of() {
  ps -L -o tid=,rtprio= -p "$1" | awk '$2 != "-" && $2 > 0 {print $1; exit}'
}

# Run window function $4 up to TRIES times until one try has no xrun, after
# function $3 (outside the window) each time; $1 names the window, $2 the
# client. Audio checks in the window function run only on a try without
# xruns (try_is_clean), so a failed check is not retried. In every try, the
# client's audio thread must use less than MAX_LOAD percent of real time.
run_window() {
  local title=$1 client=$2 prepare=$3 body=$4
  local try verdict offset client_tries=0 ns0 ns1 t0 t1 load=""
  for try in $(seq "$TRIES"); do
    "$prepare"
    offset=$(log_offset)
    WINDOW_CLEAN_FROM=$offset
    ns0=$(thread_ns)
    t0=$(date +%s%N)
    "$body"
    ns1=$(thread_ns)
    t1=$(date +%s%N)
    load=""
    if [ -n "$ns0" ] && [ -n "$ns1" ]; then
      load=$(awk -v a="$ns0" -v b="$ns1" -v t="$((t1 - t0))" \
        'BEGIN {printf "%.1f", 100 * (b - a) / t}')
      below "$load" "$MAX_LOAD" ||
        fail "$title: the client's audio thread used $load % of real time (limit $MAX_LOAD %)"
      load="; the client's audio thread used $load % of real time"
    fi
    sleep 0.2 # the last cycles' reports
    verdict=$(xrun_verdict "$offset" "$client")
    if [ "$verdict" = clean ]; then
      echo "ok: $title: no xrun (try $try)$load"
      return 0
    fi
    echo "$title, try $try: $(xrun_lines "$offset" | wc -l) xrun report(s), $verdict$load:"
    xrun_lines "$offset" | sed 's/= [0-9]* usec/= N usec/' | sort | uniq -c |
      sed 's/^/    /'
    if [ "$verdict" = client ]; then
      client_tries=$((client_tries + 1))
    fi
  done
  if [ "$client_tries" -eq "$TRIES" ]; then
    fail "$title: xruns in every try, all of them the client's own lateness"
  else
    echo "INCONCLUSIVE: $title: xruns in every try, the machine stalling in some"
    inconclusive+=("$title")
  fi
  return 0
}

# Whether the current try had no xrun so far (audio checks run only then:
# a late cycle leaves stale buffers in the recording).
try_is_clean() {
  [ -z "$(xrun_lines "$WINDOW_CLEAN_FROM")" ]
}

# Waits (up to 6 s) for 0.3 s without an xrun report: a client stopped
# and continued may take a while to catch up (seconds under ASan), and
# jackd names only the first late client of a cycle, so a client late
# after it would go unnamed.
wait_for_quiet() {
  local from tries=0
  while [ "$tries" -lt 20 ]; do
    from=$(log_offset)
    sleep 0.3
    [ -z "$(xrun_lines "$from")" ] && return 0
    tries=$((tries + 1))
  done
  return 1
}

# Whether jack_cpu (jackd2's test client), busy-waiting 99 % of every
# cycle for a second, is reported late while running.
hog_reported() {
  local offset
  wait_for_quiet || true
  offset=$(log_offset)
  timeout 10 jack_cpu --name hog -c 99 -t 1 >"$tmp/jack_cpu.log" 2>&1 3>&- 4>&- || true
  sleep 0.2
  HOG_REPORTS=$(xrun_lines "$offset" |
    grep -c "client = hog was not finished, state = Running" || true)
  [ "$HOG_REPORTS" -gt 0 ]
}

# The detector's self-check: client $1 (process $2) stopped for 0.2 s, and
# an overloaded client (jack_cpu), must be reported, the overloaded one as
# late while running (the pattern counted as a client's own lateness; a
# second run of it if the first was masked by another late client).
self_check() {
  local name=$1 pid=$2 offset
  offset=$(log_offset)
  kill -STOP "$pid"
  sleep 0.2
  kill -CONT "$pid"
  sleep 0.3
  if xrun_lines "$offset" | grep -q "client = $name was not finished"; then
    echo "ok: xrun detector self-check: $name stopped for 0.2 s: $(xrun_lines "$offset" | grep -c "client = $name") report(s) naming it"
  else
    fail "xrun detector self-check: $name stopped for 0.2 s, but no xrun naming it in jackd's log"
  fi
  if command -v jack_cpu >/dev/null 2>&1; then
    if hog_reported || hog_reported; then
      echo "ok: xrun detector self-check: jack_cpu -c 99 (a client using 99 % of each cycle): $HOG_REPORTS report(s) of it late while running"
    else
      fail "xrun detector self-check: jack_cpu -c 99 ran, but no xrun naming it late while running in jackd's log"
    fi
  else
    echo "note: jack_cpu is not installed: the overloaded-client self-check is not run"
  fi
}

# ---------------------------------------------------------------- audio ----

# "max min rms" of channel expression $2 (a sox remix spec) of file $1 after
# skipping $3 seconds.
stat_of() {
  local out
  out=$(sox -V1 "$1" -n trim "$3" remix -m "$2" stat 2>&1) || {
    echo "sox failed on $1: $out" >&2
    return 1
  }
  awk '/^Maximum amplitude/ {max=$3} /^Minimum amplitude/ {min=$3}
       /^RMS +amplitude/ {rms=$3} END {print max, min, rms}' <<<"$out"
}

# Largest absolute value of channel expression $2 of $1 after $3 seconds.
peak_of() {
  local s
  s=$(stat_of "$1" "$2" "$3")
  awk '{a = $1 < 0 ? -$1 : $1 + 0; b = $2 < 0 ? -$2 : $2 + 0; printf "%.6g\n", (a > b ? a : b)}' <<<"$s"
}

# Whether number $1 < $2.
below() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }

# ----------------------------------------------------------------- load ----

# The machine's own xruns: the server and the clients running now for $1
# seconds, with nothing of ours among them; prints "EVENTS SECONDS".
machine_baseline() {
  local offset
  offset=$(log_offset)
  sleep "$1"
  echo "$(xrun_events "$offset" none | cut -d' ' -f1) $1"
}

# A control for a long window: jack_cpu (jackd2's test client) as client
# "control", busy for CONTROL_LOAD % of every cycle for $1 seconds, beside
# the client under test. Its work is a fixed busy loop, so any lateness of
# its own is the machine's: how often it is late alone while running says
# how often the machine makes a client with that much work late.
start_control() {
  jack_cpu --name control -c "$CONTROL_LOAD" -t "$1" >"$tmp/control.log" 2>&1 3>&- 4>&- &
  control_pid=$!
  client_pids+=("$control_pid")
  wait_ports control:input control:output
}

stop_control() {
  stop_pid "$control_pid"
  forget_pid "$control_pid"
}

# Judge a long window of client $1 that began at byte offset $2 of jackd's
# log, $3 seconds long, the client's audio thread having used $4 % of real
# time (empty: unknown), with the control (start_control) running beside
# it: print its xrun events (xrun_events), the control's, and the verdict.
# An event of the client's own (late alone, while running) can be the
# machine's too (a stolen CPU, with nothing else to show for it), so the
# client passes when it was late alone no more often than CONTROL_MARGIN
# times the control was (plus CONTROL_MARGIN); false otherwise, or when the
# load reached MAX_LOAD. LOAD_EVENTS, LOAD_OWN, LOAD_MACHINE and
# CONTROL_OWN keep the counts.
judge_load_window() {
  local name=$1 offset=$2 seconds=$3 load=$4 control_events control_machine
  read -r LOAD_EVENTS LOAD_OWN LOAD_MACHINE <<<"$(xrun_events "$offset" "$name")"
  read -r control_events CONTROL_OWN control_machine <<<"$(xrun_events "$offset" control)"
  local cpu=""
  if [ -n "$load" ]; then
    cpu="; the client's audio thread used $load % of real time"
  fi
  echo "    $seconds s: $LOAD_EVENTS xrun event(s): $LOAD_OWN the client late alone while running, $LOAD_MACHINE showing the machine stall$cpu"
  echo "    the control (a fixed $CONTROL_LOAD % of each cycle) was late alone while running $CONTROL_OWN time(s)"
  if [ "$LOAD_EVENTS" -gt 0 ]; then
    xrun_lines "$offset" | sed 's/= [0-9]* usec/= N usec/' | sort | uniq -c |
      sed 's/^/      /'
  fi
  if [ -n "$load" ] && ! below "$load" "$MAX_LOAD"; then
    fail "$name: the audio thread used $load % of real time (limit $MAX_LOAD %)"
    return 1
  fi
  [ "$LOAD_OWN" -le $((CONTROL_MARGIN * CONTROL_OWN + CONTROL_MARGIN)) ]
}
