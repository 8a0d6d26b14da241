#!/usr/bin/env bash
# The server under load and abuse: os-exporter beside Debian's prometheus-node-exporter (whose
# server is Go's net/http with exporter-toolkit), both behind the same basic-auth web config
# (bcrypt cost 10, htpasswd -B's default) and the usual 1,024 open-file limit (soft and hard), in
# one run. For each:
#   1. quiet: sequential scrapes with the right password (p50, p95);
#   2. 64 concurrent scrapers, 10 scrapes each (p50, p95, how many answered 503);
#   3. 600 wrong-password connections at once, and meanwhile right-password scrapes (p50, max);
#   4. 1,500 idle connections, and meanwhile right-password scrapes (p50, max, failures);
#   5. 10,000 idle connections opened and closed in batches under the limit (RSS before, peak,
#      after), and the exporter's open fds at the end.
# Then ratios os-exporter / node_exporter (below 1 means os-exporter held up better).
#
# Usage: bench/load.sh [dir with release binaries, default target/release]
# Needs: prometheus-node-exporter, python3 with bcrypt support in its crypt (or the `bcrypt`
# module), prlimit. Loopback only; everything started is stopped on exit.
source "$(dirname "$0")/common.bash"
BIN_DIR=${1:-target/release}
OS_BIN="$BIN_DIR/os-exporter"
NODE=${NODE_EXPORTER:-prometheus-node-exporter}
[ -x "$OS_BIN" ] || { echo "missing $OS_BIN: run 'make release' first" >&2; exit 1; }
need "$NODE" "apt-get install prometheus-node-exporter"
need python3 "apt-get install python3"
need prlimit "apt-get install util-linux"

bench_init load-bench

# A bcrypt hash of "s3cret" at cost 10, as `htpasswd -nbB` makes it.
python3 -W ignore::DeprecationWarning - "$WORK/hash" <<'PY'
import sys
try:
    import bcrypt
    h = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(10)).decode()
except ImportError:
    import crypt
    h = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024))
open(sys.argv[1], "w").write(h)
PY
HASH=$(cat "$WORK/hash")
case "$HASH" in '$2'*) ;; *) echo "could not make a bcrypt hash (got '$HASH')" >&2; exit 1 ;; esac
printf 'basic_auth_users:\n  alice: %s\n' "$HASH" > "$WORK/web.yml"
printf '[collectors]\ndisabled = ["ping", "ntp"]\n[audit]\npath = "%s/audit.jsonl"\n[directories]\nstate_file = "%s/directories.json"\n' "$WORK" "$WORK" > "$WORK/os.toml"

OS_PORT=$(free_port)
NODE_PORT=$(free_port)
prlimit --nofile=1024:1024 -- "$OS_BIN" --web.listen-address="127.0.0.1:$OS_PORT" \
  --web.config.file="$WORK/web.yml" --config.file="$WORK/os.toml" --log.level=warn 2>"$WORK/os.log" &
PIDS+=($!); OS_PID=$!
prlimit --nofile=1024:1024 -- "$NODE" --web.listen-address="127.0.0.1:$NODE_PORT" \
  --web.config.file="$WORK/web.yml" --log.level=warn 2>"$WORK/node.log" &
PIDS+=($!); NODE_PID=$!

cat > "$WORK/load.py" <<'PY'
import base64, http.client, json, os, resource, socket, statistics, sys, threading, time

PORT, PID = int(sys.argv[1]), int(sys.argv[2])
RIGHT = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
WRONG = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def status_kb(field):
    for l in open(f"/proc/{PID}/status"):
        if l.startswith(field + ":"):
            return int(l.split()[1])
    return 0

def fds():
    return len(os.listdir(f"/proc/{PID}/fd"))

def scrape(headers=RIGHT, timeout=30):
    t = time.perf_counter()
    try:
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
        c.request("GET", "/metrics", headers=headers)
        r = c.getresponse(); r.read(); c.close()
        return time.perf_counter() - t, r.status
    except OSError:
        return time.perf_counter() - t, 0

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000

out = {}
for _ in range(100):
    if scrape()[1] == 200: break
    time.sleep(0.1)

# 1. quiet
quiet = [scrape()[0] for _ in range(30)]
out["quiet_p50_ms"], out["quiet_p95_ms"] = pct(quiet, .5), pct(quiet, .95)

# 2. 64 concurrent scrapers
lat, codes, lock = [], [], threading.Lock()
def scraper():
    for _ in range(10):
        d, s = scrape()
        with lock: lat.append(d); codes.append(s)
ts = [threading.Thread(target=scraper) for _ in range(64)]
[t.start() for t in ts]; [t.join() for t in ts]
out["c64_p50_ms"], out["c64_p95_ms"] = pct(lat, .5), pct(lat, .95)
out["c64_non_200"] = sum(1 for s in codes if s != 200)

# 3. wrong-password flood
flood = [threading.Thread(target=scrape, args=(WRONG, 120)) for _ in range(600)]
[t.start() for t in flood]
during = [scrape()[0] for _ in range(10)]
[t.join() for t in flood]
out["flood_right_p50_ms"], out["flood_right_max_ms"] = pct(during, .5), max(during) * 1000

# 4. 1,500 idle connections
idle = []
for _ in range(1500):
    s = socket.socket(); s.settimeout(5)
    try: s.connect(("127.0.0.1", PORT)); idle.append(s)
    except OSError: s.close()
time.sleep(0.5)
during = [scrape(timeout=15) for _ in range(5)]
out["idle1500_right_p50_ms"] = pct([d for d, _ in during], .5)
out["idle1500_right_max_ms"] = max(d for d, _ in during) * 1000
out["idle1500_failed"] = sum(1 for _, s in during if s != 200)
for s in idle: s.close()
time.sleep(1)

# 5. 10,000 connections, opened 1,000 at a time (each batch held 1 s), then closed
out["rss_before_kb"] = status_kb("VmRSS")
peak = 0
for _ in range(10):
    batch = []
    for _ in range(1000):
        s = socket.socket(); s.settimeout(5)
        try: s.connect(("127.0.0.1", PORT)); batch.append(s)
        except OSError: s.close()
    time.sleep(1)
    peak = max(peak, status_kb("VmRSS"))
    for s in batch: s.close()
time.sleep(5)
scrape()
out["rss_peak_kb"], out["rss_after_kb"], out["fds_after"] = peak, status_kb("VmRSS"), fds()
print(json.dumps(out))
PY

python3 "$WORK/load.py" "$OS_PORT" "$OS_PID" > "$WORK/os.json"
python3 "$WORK/load.py" "$NODE_PORT" "$NODE_PID" > "$WORK/node.json"

python3 - "$WORK/os.json" "$WORK/node.json" <<'PY'
import json, sys
ours, node = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{'measure':<24}{'os-exporter':>14}{'node_exporter':>16}{'ratio':>9}")
for k in ours:
    a, b = ours[k], node[k]
    ratio = f"{a / b:.2f}" if b else "-"
    print(f"{k:<24}{a:>14.1f}{b:>16.1f}{ratio:>9}")
PY
echo "os-exporter log lines: $(wc -l < "$WORK/os.log"), 'accept failed': $(grep -c 'accept failed' "$WORK/os.log" || true)"
echo "node_exporter log lines: $(wc -l < "$WORK/node.log")"
