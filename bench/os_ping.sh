#!/usr/bin/env bash
# os-exporter's ping job at the document's scale: 1,000 ESTABLISHED TCP peers (loopback addresses
# 127.0.1.1-127.0.4.232, connections held by a helper) in a network namespace this script makes
# and removes. Two os-exporters run side by side in it: one pinging every peer every 250 ms
# (passes back to back, so scrapes land during passes), one with the ping collector disabled.
# Prints: peers pinged and answering, the wall time of one pass (the job's own
# os_ping_last_run_duration_seconds, median of the passes seen), the CPU of one pass (the pinging
# exporter's utime+stime over the run minus the idle one's, divided by the passes), the largest
# RTT of a pass, and scrape latency (median, p95) of both exporters under the same scrape loop.
#
# Usage: bench/os_ping.sh [dir with release binaries, default target/release]
# Env: PEERS (default 1000), SECONDS_RUN (default 20), N (scrapes per exporter, default 300).
# Needs: root (a network namespace), python3. Traffic stays in the namespace's loopback.
source "$(dirname "$0")/common.bash"
BIN_DIR=${1:-target/release}
OS_BIN="$BIN_DIR/os-exporter"
PEERS=${PEERS:-1000}
SECONDS_RUN=${SECONDS_RUN:-20}
N=${N:-300}
[ -x "$OS_BIN" ] || { echo "missing $OS_BIN: run 'make release' first" >&2; exit 1; }
need python3 "apt-get install python3"
need ip "apt-get install iproute2"
[ "$(id -u)" = 0 ] || { echo "bench/os_ping.sh needs root (it makes a network namespace)" >&2; exit 1; }

bench_init os-ping-bench
NS="osping$$"
ip netns add "$NS"
trap 'bench_cleanup; ip netns del "$NS" 2>/dev/null || true' EXIT
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

cat > "$WORK/hold.py" <<'PY'
import ipaddress, socket, sys, time
n, keep = int(sys.argv[1]), []
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 7000)); srv.listen(4096)
base = ipaddress.ip_address("127.0.1.1")
for i in range(n):
    c = socket.socket(); c.bind((str(base + i), 0)); c.connect(("127.0.0.1", 7000))
    keep += [c, srv.accept()[0]]
print("ready", flush=True)
sys.stdin.read()
PY
mkfifo "$WORK/hold.in"
# Started with `ip netns exec` itself (not through a shell function), so $! is the process to kill.
ip netns exec "$NS" python3 "$WORK/hold.py" "$PEERS" < "$WORK/hold.in" > "$WORK/hold.out" &
PIDS+=($!)
exec 3>"$WORK/hold.in"
for _ in $(seq 100); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/hold.out" || { echo "the helper could not open $PEERS connections" >&2; exit 1; }

cat > "$WORK/ping.toml" <<EOF
[collectors]
disabled = ["audit", "directories", "ntp"]
[audit]
enabled = false
[ping]
interval = "250ms"
include_loopback = true
max_peers = 100000
EOF
cat > "$WORK/idle.toml" <<EOF
[collectors]
disabled = ["audit", "ping", "directories", "ntp"]
[audit]
enabled = false
EOF
ip netns exec "$NS" "$OS_BIN" --web.listen-address=127.0.0.1:9910 --config.file="$WORK/ping.toml" --log.level=warn >/dev/null 2>"$WORK/ping.log" &
PIDS+=($!); PING_PID=$!
ip netns exec "$NS" "$OS_BIN" --web.listen-address=127.0.0.1:9911 --config.file="$WORK/idle.toml" --log.level=warn >/dev/null 2>"$WORK/idle.log" &
PIDS+=($!); IDLE_PID=$!

cat > "$WORK/measure.py" <<'PY'
import http.client, statistics, sys, time
ping_pid, idle_pid, run_s, n = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0
def scrape(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    t = time.perf_counter(); c.request("GET", "/metrics"); body = c.getresponse().read().decode(); dt = time.perf_counter() - t
    c.close(); return body, dt
def value(body, name):
    for l in body.splitlines():
        if l.startswith(name + " ") or l.startswith(name + "{"):
            return float(l.rsplit(" ", 1)[1])
for _ in range(200):
    try:
        if value(scrape(9910)[0], "os_ping_last_run_success") == 1.0 and scrape(9911): break
    except OSError: pass
    time.sleep(0.1)
# Passes: watch the job's timestamp; idle baseline over the same wall time.
c0, i0, t0 = cpu(ping_pid), cpu(idle_pid), time.time()
stamps, durations, rtts, last = set(), [], [], None
while time.time() - t0 < run_s:
    b = scrape(9910)[0]
    ts = value(b, "os_ping_last_run_timestamp_seconds")
    if ts not in stamps:
        stamps.add(ts); durations.append(value(b, "os_ping_last_run_duration_seconds"))
        rtts.append(value(b, "os_ping_external_seconds") or 0.0); last = b
    time.sleep(0.05)
c1, i1, t1 = cpu(ping_pid), cpu(idle_pid), time.time()
passes = len(stamps)
ext = '{kind="external"}'
print(f"peers pinged {value(last, 'os_ping_targets' + ext):.0f}, answering {value(last, 'os_ping_targets_answering' + ext):.0f}")
print(f"passes {passes} in {t1 - t0:.1f} s; pass wall median {statistics.median(durations) * 1e3:.1f} ms, max {max(durations) * 1e3:.1f} ms")
print(f"CPU per pass {((c1 - c0) - (i1 - i0)) / max(passes, 1) * 1e3:.1f} ms (pinging exporter {c1 - c0:.2f} s, idle exporter {i1 - i0:.2f} s over the run)")
print(f"largest RTT of a pass: median {statistics.median(rtts) * 1e3:.3f} ms, max {max(rtts) * 1e3:.3f} ms")
for port, what in ((9910, "pinging"), (9911, "not pinging")):
    lat = sorted(scrape(port)[1] for _ in range(n))
    print(f"scrape latency, {what}: median {statistics.median(lat) * 1e3:.2f} ms, p95 {lat[int(0.95 * len(lat)) - 1] * 1e3:.2f} ms")
PY
echo "== os-exporter ping job, $PEERS loopback peers, $(nproc) CPUs"
in_ns python3 "$WORK/measure.py" "$PING_PID" "$IDLE_PID" "$SECONDS_RUN" "$N"
exec 3>&-
