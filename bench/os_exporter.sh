#!/usr/bin/env bash
# os-exporter beside Debian's prometheus-node-exporter (default collectors) on this host, in one
# run. For both: sequential scrapes after a warm-up, then concurrent ones, then sequential ones
# asking for gzip as Prometheus does; median and p95 scrape latency, CPU seconds per scrape
# (utime+stime of the exporter process over the run), peak RSS (VmHWM) and bytes per scrape;
# then the ratios os-exporter / node_exporter (below 1 means os-exporter is cheaper; the targets
# are latency and CPU <= 0.5, RSS <= 0.33).
# Then the floor: the CPU of a loop (scrape-floor, built beside the exporters) that makes only the
# kernel reads one scrape makes, found by tracing a real scrape with strace (files under /proc and
# /sys, listings, statfs, the sock_diag TCP dump; /proc/<pid>/... for every current process), with
# no parsing and no encoding; and os-exporter's CPU per scrape as a multiple of it.
# Then what both exporters spend when nobody scrapes (their background jobs), and the cost per
# pass of os-exporter's sockets job with 100,000 TCP sockets open on loopback (50,000 connections
# held by a few helper processes, each under the per-process fd limit).
#
# Usage: bench/os_exporter.sh [dir with release binaries, default target/release]
# Env: N (sequential scrapes, default 300), C (concurrent clients, default 8), SOCKETS (100000).
# Needs: prometheus-node-exporter, python3, strace (for the floor). Loopback only; everything started is stopped on exit.
source "$(dirname "$0")/common.bash"
BIN_DIR=${1:-target/release}
OS_BIN="$BIN_DIR/os-exporter"
NODE=${NODE_EXPORTER:-prometheus-node-exporter}
N=${N:-300}
C=${C:-8}
SOCKETS=${SOCKETS:-100000}
[ -x "$OS_BIN" ] || { echo "missing $OS_BIN: run 'make release' first" >&2; exit 1; }
need "$NODE" "apt-get install prometheus-node-exporter"
need python3 "apt-get install python3"

bench_init os-bench

# TIME_WAIT sockets left by an earlier bench (the ic-server one opens thousands) sit in the kernel's
# socket hash, which the sockets job's sock_diag dump walks while node_exporter reads no socket
# table: wait (at most 65 s, their lifetime is 60 s) so both
# exporters are measured on the same quiet host.
tw() { awk '/^TCP:/ {for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1)}' /proc/net/sockstat; }
if [ "$(tw)" -gt 1000 ]; then
  echo "waiting for $(tw) TIME_WAIT sockets from earlier runs to expire"
  for _ in $(seq 65); do [ "$(tw)" -gt 1000 ] || break; sleep 1; done
fi

OS_PORT=$(free_port)
NODE_PORT=$(free_port)
# No pings or NTP questions (node_exporter has neither, and they would leave loopback):
# bench/os_ping.sh measures the pings.
cat > "$WORK/os.toml" <<EOF
[collectors]
disabled = ["ping", "ntp"]
[audit]
path = "$WORK/audit.jsonl"
[directories]
state_file = "$WORK/directories.json"
EOF
"$OS_BIN" --web.listen-address="127.0.0.1:$OS_PORT" --config.file="$WORK/os.toml" --log.level=warn 2>"$WORK/os.log" &
PIDS+=($!); OS_PID=$!
"$NODE" --web.listen-address="127.0.0.1:$NODE_PORT" --log.level=warn 2>"$WORK/node.log" &
PIDS+=($!); NODE_PID=$!

cat > "$WORK/load.py" <<'PY'
import http.client, statistics, sys, threading, time

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0  # utime + stime in USER_HZ (100 on Linux)

def hwm(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM:"):
            return int(l.split()[1]) * 1024
    return 0

def scrape(conn, gzip=False):
    t = time.perf_counter()
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"} if gzip else {})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"scrape answered {r.status}")
    if gzip and r.getheader("Content-Encoding") != "gzip":
        raise SystemExit("asked for gzip, got a plain body")
    return time.perf_counter() - t, len(body)

def wait_ready(port):
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); scrape(c); return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"exporter on {port} never answered")

def p95(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]

def run(port, pid, n, conc):
    wait_ready(port)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(20):
        scrape(c)  # warm-up
    c0 = cpu(pid); lat = []; size = 0
    for _ in range(n):
        d, size = scrape(c); lat.append(d)
    seq_cpu = (cpu(pid) - c0) / n
    clat = []; lock = threading.Lock()
    per = max(1, n // conc)
    def worker():
        cc = http.client.HTTPConnection("127.0.0.1", port, timeout=30); mine = []
        for _ in range(per):
            mine.append(scrape(cc)[0])
        with lock:
            clat.extend(mine)
    c1 = cpu(pid)
    ts = [threading.Thread(target=worker) for _ in range(conc)]
    t0 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    wall = time.perf_counter() - t0
    con_cpu = (cpu(pid) - c1) / len(clat)
    # As Prometheus scrapes: it always asks for gzip.
    c2 = cpu(pid); glat = []; gsize = 0
    for _ in range(n):
        d, gsize = scrape(c, gzip=True); glat.append(d)
    gz_cpu = (cpu(pid) - c2) / n
    return dict(seq_med=statistics.median(lat), seq_p95=p95(lat), seq_cpu=seq_cpu,
                con_med=statistics.median(clat), con_p95=p95(clat), con_cpu=con_cpu,
                con_rate=len(clat) / wall, rss=hwm(pid), bytes=size,
                gz_med=statistics.median(glat), gz_cpu=gz_cpu, gz_bytes=gsize)

def idle(pid, seconds):
    """CPU per second of an exporter nobody scrapes: its background jobs."""
    c0 = cpu(pid); time.sleep(seconds); return (cpu(pid) - c0) / seconds

os_port, os_pid, node_port, node_pid, n, conc = map(int, sys.argv[1:7])
# Interleave nothing: one exporter at a time, so each has the two cores to itself.
o = run(os_port, os_pid, n, conc)
d = run(node_port, node_pid, n, conc)
IDLE = 30
o_idle, d_idle = idle(os_pid, IDLE), idle(node_pid, IDLE)
rows = [("sequential latency median", "seq_med", "ms", 1e3), ("sequential latency p95", "seq_p95", "ms", 1e3),
        ("sequential CPU per scrape", "seq_cpu", "ms", 1e3),
        (f"concurrent ({conc}) latency median", "con_med", "ms", 1e3), (f"concurrent ({conc}) latency p95", "con_p95", "ms", 1e3),
        ("concurrent CPU per scrape", "con_cpu", "ms", 1e3), ("concurrent scrapes/s", "con_rate", "1/s", 1),
        ("gzip latency median", "gz_med", "ms", 1e3), ("gzip CPU per scrape", "gz_cpu", "ms", 1e3),
        ("gzip bytes per scrape", "gz_bytes", "KiB", 1 / 1024),
        ("peak RSS (VmHWM)", "rss", "MiB", 1 / 1048576), ("bytes per scrape", "bytes", "KiB", 1 / 1024)]
print(f"{'':34} {'os-exporter':>12} {'node_exporter':>14} {'ratio os/node':>14}")
for label, k, unit, scale in rows:
    ratio = o[k] / d[k] if d[k] else float("nan")
    print(f"{label + ' (' + unit + ')':34} {o[k]*scale:12.3f} {d[k]*scale:14.3f} {ratio:14.3f}")
print(f"(N={n} sequential scrapes per exporter after 20 warm-up scrapes, then N with Accept-Encoding: gzip as Prometheus sends; CPU from /proc/<pid>/stat at 10 ms resolution)")
# What the scrape numbers leave out: the background jobs (socket table, logs, directories, audit),
# which run on their own intervals whoever scrapes. Both exporters left alone for IDLE seconds.
print(f"background, nobody scraping ({IDLE} s): os-exporter {o_idle*1e3:.2f} ms CPU per second, node_exporter {d_idle*1e3:.2f}")
per15 = lambda r, bg: r["gz_cpu"] + 15 * bg
print(f"per 15 s scrape interval, gzip scrape + 15 s of background: os-exporter {per15(o, o_idle)*1e3:.3f} ms, node_exporter {per15(d, d_idle)*1e3:.3f} ms, ratio {per15(o, o_idle)/per15(d, d_idle):.3f}")
# The floor: scrape-floor's CPU per pass of the kernel reads of one traced scrape (N passes after
# 20 warm-up ones, CPU read the same way), against os-exporter's sequential CPU per scrape.
floor_ms, floor_what = float(sys.argv[7]), sys.argv[8]
if floor_ms == floor_ms and floor_ms > 0:
    print(f"floor: {floor_ms:.3f} ms CPU per pass of the same kernel reads, no parsing or encoding ({floor_what})")
    print(f"os-exporter: {o['seq_cpu']*1e3:.3f} ms CPU per scrape = {o['seq_cpu']*1e3/floor_ms:.2f} x floor"
          f" (gzip: {o['gz_cpu']*1e3:.3f} ms = {o['gz_cpu']*1e3/floor_ms:.2f} x floor)")
else:
    print(f"floor: {floor_what or 'not measured'}")
PY
# ---- the floor: one traced scrape names the kernel reads, scrape-floor repeats only them -------
get() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=30).read()' "$1"; }
floor_measure() {
  local floor_bin="$BIN_DIR/scrape-floor" url="http://127.0.0.1:$OS_PORT/metrics" st t
  [ -x "$floor_bin" ] || { echo "not measured: missing $floor_bin (make release)"; return; }
  command -v strace >/dev/null || { echo "not measured: missing strace (apt-get install strace)"; return; }
  for _ in $(seq 200); do get "$url" 2>/dev/null && break; sleep 0.05; done
  get "$url"  # a warm-up scrape: the traced one is a steady-state one
  strace -f -y -qq -e trace=openat,getdents64,statx,newfstatat,statfs,socket \
    -o "$WORK/scrape.trace" -p "$OS_PID" 2>"$WORK/strace.log" &
  st=$!; PIDS+=("$st")
  # Traced once every thread of the exporter names a tracer.
  for _ in $(seq 100); do
    t=1; for s in /proc/"$OS_PID"/task/*/status; do grep -q '^TracerPid:[[:space:]]*0$' "$s" && t=0; done
    [ "$t" = 1 ] && break; sleep 0.05
  done
  [ "$t" = 1 ] || { kill "$st" 2>/dev/null; echo "not measured: strace could not attach ($(head -1 "$WORK/strace.log"))"; return; }
  get "$url"
  kill -INT "$st" 2>/dev/null || true; wait "$st" 2>/dev/null || true
  "$floor_bin" "$WORK/scrape.trace" "$OS_PID" "$N" 2>&1 || echo "not measured: scrape-floor failed"
}
floor_measure > "$WORK/floor.out"
FLOOR_MS=$(awk '/^cpu_ms_per_pass / {print $2}' "$WORK/floor.out")
FLOOR_WHAT=$(grep -v "^cpu_ms_per_pass " "$WORK/floor.out" | head -1 || true)

echo "== os-exporter vs node_exporter $("$NODE" --version 2>&1 | head -1 | awk '{print $3}'), $(nproc) CPUs"
python3 "$WORK/load.py" "$OS_PORT" "$OS_PID" "$NODE_PORT" "$NODE_PID" "$N" "$C" "${FLOOR_MS:-nan}" "$FLOOR_WHAT"

# ---- the sockets job with SOCKETS sockets open ---------------------------------------------
[ "$SOCKETS" -gt 0 ] || exit 0
# Two more os-exporters reading the socket table every second, one through netlink (the default)
# and one through the text tables, for comparison; their audit sampler and log jobs are off.
sockets_exporter() {  # name, source: starts it, sets PORT_<name> and PID_<name>
  local port; port=$(free_port)
  cat > "$WORK/$1.toml" <<EOF
[collectors]
disabled = ["audit", "ping", "ntp", "messages", "cron", "directories", "kernel_log"]
[audit]
enabled = false
[directories]
state_file = "$WORK/$1-directories.json"
[sockets]
source = "$2"
interval = "1s"
EOF
  "$OS_BIN" --web.listen-address="127.0.0.1:$port" --config.file="$WORK/$1.toml" --log.level=warn 2>"$WORK/$1.log" &
  PIDS+=($!)
  printf -v "PORT_$1" '%s' "$port"; printf -v "PID_$1" '%s' "$!"
}
sockets_exporter netlink netlink
sockets_exporter procfs procfs
cat > "$WORK/hold.py" <<'PY'
# Holds `n` loopback connections (2n sockets) until stdin closes; prints "ready" once open.
import resource, socket, sys
n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(4096)
keep = []
for _ in range(n):
    c = socket.create_connection(ls.getsockname(), timeout=5)
    s, _ = ls.accept()
    keep += [c, s]
print("ready", flush=True)
sys.stdin.read()
PY
HARD=$(ulimit -Hn)
PER=$(( (HARD - 100) / 2 )); [ "$PER" -gt 12000 ] && PER=12000
CONNS=$(( SOCKETS / 2 ))
HOLDERS=$(( (CONNS + PER - 1) / PER ))
echo
echo "== sockets job with $SOCKETS loopback sockets ($HOLDERS holder processes x <= $PER connections)"
# Every holder is fed from a FIFO kept open here; closing it (or the trap) ends them.
LEFT=$CONNS
for i in $(seq 1 "$HOLDERS"); do
  k=$(( LEFT < PER ? LEFT : PER )); LEFT=$(( LEFT - k ))
  mkfifo "$WORK/in$i"
  timeout 300 python3 "$WORK/hold.py" "$k" < "$WORK/in$i" > "$WORK/ready$i" &
  PIDS+=($!)
  exec {fd}>"$WORK/in$i"
done
for i in $(seq 1 "$HOLDERS"); do
  for _ in $(seq 1 1200); do grep -q ready "$WORK/ready$i" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$WORK/ready$i" || { echo "holder $i did not open its sockets" >&2; exit 1; }
done
python3 - "$PORT_netlink" "$PID_netlink" "$PORT_procfs" "$PID_procfs" <<'PY'
import http.client, re, statistics, sys, time
def measure(label, port, pid):
    """The sockets job every second for 10 s: wall time of its passes, CPU per pass."""
    def cpu():
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / 100.0
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    def sample(name):
        c.request("GET", "/metrics"); body = c.getresponse().read().decode()
        m = re.search(rf'^{name} (\S+)', body, re.M)
        return float(m.group(1)) if m else None
    # Wait for a pass over the full table (the holders opened their sockets before).
    for _ in range(100):
        if (sample("os_tcp_sockets") or 0) > 1000: break
        time.sleep(0.1)
    c0, last, durs = cpu(), sample("os_sockets_last_run_timestamp_seconds"), []
    for _ in range(10):
        time.sleep(1)
        t = sample("os_sockets_last_run_timestamp_seconds")
        if t != last:
            durs.append(sample("os_sockets_last_run_duration_seconds")); last = t
    if not durs:
        raise SystemExit(f"{label}: no sockets pass in 10 s")
    cpu_per = (cpu() - c0) / len(durs)
    socks = sample("os_tcp_sockets") or 0
    print(f"{label}: sockets examined {socks:.0f}; {len(durs)} passes, median {statistics.median(durs)*1e3:.1f} ms wall (max {max(durs)*1e3:.1f}); "
          f"CPU per pass {cpu_per*1e3:.1f} ms (with one small scrape per second)")
measure("netlink sock_diag (default)", int(sys.argv[1]), int(sys.argv[2]))
measure("/proc/net/tcp{,6} streamed ", int(sys.argv[3]), int(sys.argv[4]))
PY
t0=$(date +%s.%N); ss -tn | wc -l >/dev/null; t1=$(date +%s.%N)
echo "for comparison, the document's method 'ss -tn' over the same sockets: $(python3 -c "print(f'{($t1-$t0)*1e3:.1f}')") ms"
