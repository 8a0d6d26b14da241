#!/usr/bin/env bash
# ic-server-probe beside Debian's prometheus-blackbox-exporter, probing the same local HTTP
# target (an /ok endpoint answering "ok" on loopback). Prints, for both:
#   * per-probe latency (client-side wall time of one /probe request, median and p99; and the
#     prober's own reported probe duration),
#   * CPU time per probe and resident memory,
#   * the time to probe 1,000 targets on 127.0.0.0/8 addresses: ic-server-probe in ONE /metrics
#     scrape; blackbox_exporter as Prometheus would drive it, 1,000 concurrent /probe requests
#     (and ic-server-probe's /probe driven the same way, for the like-for-like figure),
# and the ratios (blackbox / ic-server-probe: above 1 means ic-server-probe is better).
#
# Usage: bench/ic_server_probe.sh [dir with release binaries, default target/release]
# Needs: prometheus-blackbox-exporter, python3 (load generator and target server). Loopback only.
source "$(dirname "$0")/common.bash"
BIN_DIR=${1:-target/release}
PROBE_BIN="$BIN_DIR/ic-server-probe"
BLACKBOX=${BLACKBOX:-prometheus-blackbox-exporter}
N=${N:-2000}
TARGETS=${TARGETS:-1000}
[ -x "$PROBE_BIN" ] || { echo "missing $PROBE_BIN: run 'make release' first" >&2; exit 1; }
need "$BLACKBOX" "apt-get install prometheus-blackbox-exporter"
need python3 "apt-get install python3"

bench_init ic-bench

# 1,000 loopback addresses 127.77.<x>.<y> (plus 127.0.0.1) share the target port.
TARGET_PORT=$(free_port)
python3 - "$TARGETS" > "$WORK/addrs" <<'PY'
import sys
n = int(sys.argv[1])
for k in range(n):
    print(f"127.77.{k // 250}.{k % 250 + 1}")
PY

# The target: a minimal asyncio HTTP/1.1 server answering "ok" (keep-alive), on every address.
cat > "$WORK/target.py" <<'PY'
import asyncio, sys
port = int(sys.argv[1]); hosts = ["127.0.0.1"] + open(sys.argv[2]).read().split()
RESP = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
async def handle(r, w):
    try:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            w.write(RESP)
            await w.drain()
            if b"connection: close" in head.lower():
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        w.close()
async def main():
    srv = await asyncio.start_server(handle, hosts, port, backlog=4096)
    print("ready", flush=True)
    await srv.serve_forever()
asyncio.run(main())
PY
python3 "$WORK/target.py" "$TARGET_PORT" "$WORK/addrs" > "$WORK/target.log" 2>&1 &
PIDS+=($!)

# ic-server-probe: the 1,000 targets in its config (scrape mode); /probe for single probes.
IC_PORT=$(free_port)
{
  echo 'ocp_address = "bench"'
  printf 'ic_servers = [%s]\n' "$(sed 's/.*/"&"/' "$WORK/addrs" | paste -sd, -)"
  echo "health_url = \"http://<IP>:$TARGET_PORT/ok\""
  echo 'timeout = "5s"'
  echo 'expected_body = "ok"'
} > "$WORK/ic.toml"
"$PROBE_BIN" --config.file="$WORK/ic.toml" --web.listen-address="127.0.0.1:$IC_PORT" \
  --web.max-requests=0 --log.level=warn > "$WORK/ic.log" 2>&1 &
IC_PID=$!; PIDS+=($IC_PID)

# blackbox_exporter with the equivalent module: GET, 2xx, body must match "ok".
BB_PORT=$(free_port)
cat > "$WORK/blackbox.yml" <<'YML'
modules:
  http_ok:
    prober: http
    timeout: 5s
    http:
      method: GET
      preferred_ip_protocol: ip4
      fail_if_body_not_matches_regexp: ["ok"]
YML
"$BLACKBOX" --config.file="$WORK/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
  --log.level=warn > "$WORK/bb.log" 2>&1 &
BB_PID=$!; PIDS+=($BB_PID)

python3 - "$IC_PORT" "$IC_PID" "$BB_PORT" "$BB_PID" "$TARGET_PORT" "$WORK/addrs" "$N" <<'PY'
import asyncio, http.client, os, re, statistics, sys, time, urllib.parse
ic_port, ic_pid, bb_port, bb_pid, tport, addrs_file, n = sys.argv[1:8]
n = int(n); addrs = open(addrs_file).read().split()
TICK = os.sysconf("SC_CLK_TCK")

def cpu(pid):  # user+system seconds of a process
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK

def mem(pid, key):  # kB from /proc/<pid>/status
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(key + ":"):
            return int(l.split()[1]) * 1024
    return 0

def wait_ready(port):
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1); c.request("GET", "/"); c.getresponse().read(); return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing answers on {port}")

for p in (int(ic_port), int(bb_port), int(tport)):
    wait_ready(p)

url = f"http://127.0.0.1:{tport}/ok"
paths = {
    "ic": f"/probe?target={urllib.parse.quote(url, safe='')}",
    "bb": f"/probe?target={urllib.parse.quote(url, safe='')}&module=http_ok",
}
ports = {"ic": int(ic_port), "bb": int(bb_port)}
pids = {"ic": int(ic_pid), "bb": int(bb_pid)}
dur_metric = {"ic": r"^ic_server_probe_duration_seconds\{[^}]*\} (\S+)", "bb": r"^probe_duration_seconds (\S+)"}
ok_metric = {"ic": r"^ic_server_health\{[^}]*\} 1(\.0)?$", "bb": r"^probe_success 1(\.0)?$"}

res = {}
for k in ("ic", "bb"):
    conn = http.client.HTTPConnection("127.0.0.1", ports[k], timeout=10)
    for _ in range(50):  # warm-up
        conn.request("GET", paths[k]); conn.getresponse().read()
    c0 = cpu(pids[k]); lat = []; reported = []; ok = 0
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", paths[k]); body = conn.getresponse().read().decode()
        lat.append(time.perf_counter() - t)
        m = re.search(dur_metric[k], body, re.M)
        reported.append(float(m.group(1)) if m else float("nan"))
        ok += bool(re.search(ok_metric[k], body, re.M))
    c1 = cpu(pids[k])
    lat.sort()
    res[k] = dict(p50=statistics.median(lat), p99=lat[int(len(lat) * 0.99) - 1],
                  reported=statistics.median(reported), cpu=(c1 - c0) / n, ok=ok,
                  rss=mem(pids[k], "VmRSS"))

async def fetch(port, path, hdr=""):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET {path} HTTP/1.0\r\nHost: x\r\n{hdr}\r\n".encode()); await w.drain()
    data = await r.read(); w.close()
    return data.decode(errors="replace")

async def fan_out(k):
    q = {"ic": "", "bb": "&module=http_ok"}[k]
    bodies = await asyncio.gather(*(fetch(ports[k], f"/probe?target={urllib.parse.quote(f'http://{a}:{tport}/ok', safe='')}{q}") for a in addrs))
    return sum(bool(re.search(ok_metric[k], b, re.M)) for b in bodies)

many = {}
# ic-server-probe, scrape mode: all targets in one /metrics scrape.
c0 = cpu(pids["ic"]); t = time.perf_counter()
body = asyncio.run(fetch(ports["ic"], "/metrics", "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n"))
many["ic_scrape"] = dict(secs=time.perf_counter() - t, cpu=cpu(pids["ic"]) - c0,
                         ok=len(re.findall(ok_metric["ic"], body, re.M)))
for k in ("ic", "bb"):
    c0 = cpu(pids[k]); t = time.perf_counter()
    ok = asyncio.run(fan_out(k))
    many[k + "_fanout"] = dict(secs=time.perf_counter() - t, cpu=cpu(pids[k]) - c0, ok=ok)
peak = {k: mem(pids[k], "VmHWM") for k in ("ic", "bb")}

ic, bb = res["ic"], res["bb"]
ratio = lambda b, i: (b / i) if i > 0 else float("inf")
print(f"single target, {n} sequential /probe requests (keep-alive), successes ic={ic['ok']} bb={bb['ok']}")
print(f"{'':34}{'ic-server-probe':>16}{'blackbox':>14}{'ratio bb/ic':>13}")
def row(name, a, b, fmt):
    print(f"{name:34}{fmt(a):>16}{fmt(b):>14}{ratio(b, a):>12.2f}x")
ms = lambda v: f"{v * 1000:.3f} ms"
row("latency per probe, median", ic["p50"], bb["p50"], ms)
row("latency per probe, p99", ic["p99"], bb["p99"], ms)
row("reported probe duration, median", ic["reported"], bb["reported"], ms)
row("CPU per probe", ic["cpu"], bb["cpu"], ms)
row("RSS after single probes", ic["rss"], bb["rss"], lambda v: f"{v / 1048576:.1f} MiB")
print()
print(f"{len(addrs)} targets on 127.77.0.0/16")
s, fi, fb = many["ic_scrape"], many["ic_fanout"], many["bb_fanout"]
print(f"  ic-server-probe, one /metrics scrape:       {s['secs']:.3f} s wall, {s['cpu']:.2f} s CPU, {s['ok']} healthy")
print(f"  ic-server-probe, {len(addrs)} concurrent /probe:   {fi['secs']:.3f} s wall, {fi['cpu']:.2f} s CPU, {fi['ok']} healthy")
print(f"  blackbox_exporter, {len(addrs)} concurrent /probe: {fb['secs']:.3f} s wall, {fb['cpu']:.2f} s CPU, {fb['ok']} healthy")
print(f"  peak RSS: ic-server-probe {peak['ic'] / 1048576:.1f} MiB, blackbox {peak['bb'] / 1048576:.1f} MiB "
      f"(ratio {ratio(peak['bb'], peak['ic']):.2f}x)")
print(f"  ratio time blackbox fan-out / ic one scrape:  {ratio(fb['secs'], s['secs']):.2f}x")
print(f"  ratio CPU  blackbox fan-out / ic one scrape:  {ratio(fb['cpu'], s['cpu']):.2f}x")
print(f"  ratio time blackbox fan-out / ic fan-out:     {ratio(fb['secs'], fi['secs']):.2f}x")
PY
