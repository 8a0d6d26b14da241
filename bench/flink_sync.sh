#!/usr/bin/env bash
# flink-sync-exporter beside `rsync -n -a -c --delete` (issue 15, scale item) on the same two
# trees of FILES files (default 100,000, about 830 MB a side as in the issue's measurement):
#   * the active's first walk (every file read and digested) and its unchanged re-check (digest
#     cache: one lstat per entry), from flink_sync_check_last_run_duration_seconds;
#   * the standby's first check and re-check (its own walk, fetching and parsing the active's
#     manifest over loopback, the comparison);
#   * `rsync -n -a -c --delete active/ standby/` (reads every file of both sides) twice, warm;
#   * peak RSS (VmHWM) of each exporter and of rsync (its processes' maxrss).
# Page cache is warm for every figure (the trees were just written); BENCH_DROP_CACHES=1 drops
# it (`echo 3 > /proc/sys/vm/drop_caches`, which affects the whole host: off by default) between
# the first rsync run and the exporters' start, so the exporters' first walks are cold.
#
# Usage: bench/flink_sync.sh [dir with release binaries, default target/release]
# Needs: rsync, python3. Loopback only.
source "$(dirname "$0")/common.bash"
BIN_DIR=${1:-target/release}
BIN="$BIN_DIR/flink-sync-exporter"
FILES=${FILES:-100000}
AVG_BYTES=${AVG_BYTES:-8300}
[ -x "$BIN" ] || { echo "missing $BIN: run 'make release' first" >&2; exit 1; }
need rsync "apt-get install rsync"
need python3 "apt-get install python3"

bench_init flink-bench

echo "writing two trees of $FILES files (~$((FILES * AVG_BYTES / 1000000)) MB each) under $WORK"
python3 - "$WORK" "$FILES" "$AVG_BYTES" <<'PY'
import os, random, sys
work, n, avg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(15)
for side in ("a", "b"):
    os.makedirs(f"{work}/{side}/conf", exist_ok=True)
blob = os.urandom(4 * avg)
for i in range(n):
    d = f"conf/d{i // 1000:03d}/e{(i // 50) % 20:02d}"
    size = rnd.randint(0, 2 * avg)
    off = rnd.randint(0, len(blob) - size - 1) if size else 0
    body = blob[off:off + size]
    for side in ("a", "b"):
        p = f"{work}/{side}/{d}"
        os.makedirs(p, exist_ok=True)
        with open(f"{p}/f{i}.xml", "wb") as f:
            f.write(body)
# Same content, same times on both sides (as after a sync).
for root, dirs, files in os.walk(f"{work}/a"):
    for name in files:
        pa = os.path.join(root, name)
        st = os.stat(pa)
        os.utime(pa.replace(f"{work}/a", f"{work}/b", 1), ns=(st.st_atime_ns, st.st_mtime_ns))
PY
du -sh "$WORK/a" "$WORK/b" | sed 's/^/  /'
# The digest cache skips files changed within 2 s of a walk; let the trees settle.
sleep 3

PA=$(free_port); PB=$(free_port)
for side in a b; do
  if [ "$side" = a ]; then role=active; peer=$PB; else role=standby; peer=$PA; fi
  cat > "$WORK/$side.toml" <<EOF
roots = ["/conf"]
role = "$role"
peer_url = "http://127.0.0.1:$peer"
max_entries = $((FILES * 2 + 10000))
check_interval = "${RECHECK_INTERVAL:-20s}"
fetch_timeout = "60s"
junk_roots = []
[collectors]
disabled = ["peer", "junk", "ha_log", "local_backup"]
[audit]
path = "$WORK/$side-audit.jsonl"
EOF
done

metric() { # PORT NAME: the first sample of NAME in one scrape, empty when absent
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
try:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
except Exception:
    sys.exit(0)
for l in body.splitlines():
    if l.startswith(name + " ") or l.startswith(name + "{"):
        print(l.rsplit(" ", 1)[1]); break
PY
}

# wait_run PORT PREV_TS: waits until the check job finishes a run after the one that ended at
# PREV_TS (0: any run); prints that run's end timestamp and duration.
wait_run() {
  local port=$1 prev=$2 ts
  for _ in $(seq 1 3000); do
    ts=$(metric "$port" flink_sync_check_last_run_timestamp_seconds)
    if [ -n "$ts" ] && [ "$ts" != "0" ] && [ "$ts" != "$prev" ]; then
      echo "$ts $(metric "$port" flink_sync_check_last_run_duration_seconds)"; return
    fi
    sleep 0.2
  done
  echo "timeout timeout"; return 1
}
hwm() { awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status"; }

rsync_run() {
  python3 - "$WORK" <<'PY'
import resource, subprocess, sys, time
w = sys.argv[1]
t = time.monotonic()
out = subprocess.run(["rsync", "-n", "-a", "-c", "--delete", "-i", f"{w}/a/", f"{w}/b/"], capture_output=True)
el = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
changes = sum(1 for l in out.stdout.decode(errors="replace").splitlines() if not l.startswith(".d") and not l.startswith(".f"))
print(f"{el:.2f} {rss:.1f} {changes} {out.returncode}")
PY
}
# Written pages go to disk first, so neither tool competes with writeback; rsync runs once
# before the exporters and once after them.
sync
read -r R1 RSS_R C1 RC1 < <(rsync_run)
if [ "${BENCH_DROP_CACHES:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
"$BIN" --config.file="$WORK/a.toml" --path.rootfs="$WORK/a" --web.listen-address="127.0.0.1:$PA" --log.level=warn &
PIDS+=($!); PID_A=$!
read -r TA A1 < <(wait_run "$PA" 0)
"$BIN" --config.file="$WORK/b.toml" --path.rootfs="$WORK/b" --web.listen-address="127.0.0.1:$PB" --log.level=warn &
PIDS+=($!); PID_B=$!
read -r TB B1 < <(wait_run "$PB" 0)
OK=$(metric "$PB" flink_sync_check_success)
read -r _ A2 < <(wait_run "$PA" "$TA")
read -r _ B2 < <(wait_run "$PB" "$TB")
DIG=$(metric "$PA" flink_sync_manifest_files_digested)
ENTRIES=$(metric "$PA" flink_sync_manifest_entries)
HWM_A=$(hwm "$PID_A"); HWM_B=$(hwm "$PID_B")
SYNC_OK=$(metric "$PB" flink_sync_ok)

read -r R2 RSS_R2 _ _ < <(rsync_run)

echo
echo "entries in the active's manifest: $ENTRIES; standby comparison ok=$SYNC_OK check_success=$OK; rsync itemised changes: $C1 (exit $RC1)"
printf '%-58s %10s\n' "what" "seconds"
printf '%-58s %10s\n' "flink-sync active: first walk (read + xxh3 every file)" "$A1"
printf '%-58s %10s\n' "flink-sync active: unchanged re-check (digest cache)" "$A2"
printf '%-58s %10s\n' "flink-sync standby: first check (walk + fetch + compare)" "$B1"
printf '%-58s %10s\n' "flink-sync standby: unchanged re-check" "$B2"
printf '%-58s %10s\n' "rsync -n -a -c --delete, run before the exporters (warm)" "$R1"
printf '%-58s %10s\n' "rsync -n -a -c --delete, run after them (warm)" "$R2"
echo "peak RSS: active exporter $HWM_A, standby exporter $HWM_B, rsync $RSS_R MiB (largest of its processes)"
python3 - "$A1" "$A2" "$B1" "$B2" "$R1" "$R2" <<'PY'
import sys
a1, a2, b1, b2, r1, r2 = map(float, sys.argv[1:])
r = min(r1, r2)
print(f"ratios (best rsync warm run / ours, above 1: ours is faster): both first checks {r / (a1 + b1):.2f}x "
      f"(side by side, each node walks its own tree: {r / max(a1, b1):.2f}x); "
      f"unchanged re-check {r / (a2 + b2):.1f}x (per node {r / max(a2, b2):.1f}x)")
PY
