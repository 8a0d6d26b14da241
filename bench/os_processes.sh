#!/usr/bin/env bash
# os-exporter's configured process groups beside Debian's prometheus-process-exporter on the same
# processes, in one run: NGROUPS groups (default 200) of MEMBERS `sleep` processes each (default 10,
# so 2,000 processes) started here, every group matched by a command-line regex in both
# exporters' configs. os-exporter runs only its process_groups collector; process-exporter runs
# twice, as packaged (smaps and per-thread metrics on) and lean (-gather-smaps=false
# -threads=false, reading about what os-exporter reads: stat, fd, limits, cmdline). Before
# measuring, both must count MEMBERS in a sample of groups. Then, per exporter, N sequential gzip
# scrapes (as Prometheus asks) after a warm-up: median and p95 latency, CPU per scrape
# (utime+stime over the run), peak RSS, and CPU per second when nobody scrapes (os-exporter's
# process_cpu job, default 15 s); the ratios os-exporter / process-exporter (below 1: cheaper).
#
# Usage: bench/os_processes.sh [dir with release binaries, default target/release]
# Env: NGROUPS (200), MEMBERS (10), N (sequential scrapes, 100).
# Needs: prometheus-process-exporter, python3. Loopback only; every process started is stopped on exit.
source "$(dirname "$0")/common.bash"
BIN_DIR=${1:-target/release}
OS_BIN="$BIN_DIR/os-exporter"
PE=${PROCESS_EXPORTER:-/usr/bin/prometheus-process-exporter}
NGROUPS=${NGROUPS:-200}
MEMBERS=${MEMBERS:-10}
N=${N:-100}
[ -x "$OS_BIN" ] || { echo "missing $OS_BIN: run 'make release' first" >&2; exit 1; }
need "$PE" "apt-get install prometheus-process-exporter"
need python3 "apt-get install python3"

bench_init os-processes-bench

# The members: sleep processes whose command line names their group, `sleep 86000.<g>`.
for g in $(seq 1 "$NGROUPS"); do
  for _ in $(seq 1 "$MEMBERS"); do
    sleep "86000.$g" &
    PIDS+=($!)
  done
done

ALL="accounts addresses audit bonds conntrack cpu cron directories diskstats eth1_route filehandles filesystem interfaces kernel_log livepatch loadavg memory messages netdev ntp ping processes readonly services sockets tcp uptime vmstat"
{
  echo "[collectors]"
  printf 'disabled = [%s]\n' "$(printf '"%s", ' $ALL | sed 's/, $//')"
  echo "[audit]"
  echo "enabled = false"
  echo "[directories]"
  echo "state_file = \"$WORK/directories.json\""
  for g in $(seq 1 "$NGROUPS"); do
    printf '[[process]]\nname = "g%s"\ncmdline = [%s]\n' "$g" "'^sleep 86000\\.$g\$'"
  done
} > "$WORK/os.toml"
{
  echo "process_names:"
  for g in $(seq 1 "$NGROUPS"); do
    printf '  - name: "g%s"\n    cmdline:\n      - %s\n' "$g" "'^sleep 86000\\.$g\$'"
  done
} > "$WORK/pe.yml"

OS_PORT=$(free_port); PE_PORT=$(free_port); LEAN_PORT=$(free_port)
"$OS_BIN" --web.listen-address="127.0.0.1:$OS_PORT" --config.file="$WORK/os.toml" --log.level=warn 2>"$WORK/os.log" &
PIDS+=($!); OS_PID=$!
"$PE" -config.path "$WORK/pe.yml" -web.listen-address "127.0.0.1:$PE_PORT" >"$WORK/pe.log" 2>&1 &
PIDS+=($!); PE_PID=$!
"$PE" -config.path "$WORK/pe.yml" -web.listen-address "127.0.0.1:$LEAN_PORT" -gather-smaps=false -threads=false >"$WORK/lean.log" 2>&1 &
PIDS+=($!); LEAN_PID=$!

cat > "$WORK/load.py" <<'PY'
import gzip, http.client, re, statistics, sys, time

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0  # utime + stime in USER_HZ (100 on Linux)

def hwm(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM:"):
            return int(l.split()[1]) * 1024
    return 0

def scrape(conn):
    t = time.perf_counter()
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"scrape answered {r.status}")
    if r.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return time.perf_counter() - t, body.decode()

def connect(port):
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60); scrape(c); return c
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"exporter on {port} never answered")

def wait_counts(c, name, label, groups, members):
    """Both exporters must see every member of a sample of groups before anything is measured."""
    sample = sorted({1, groups, (groups + 1) // 2})
    for _ in range(300):
        body = scrape(c)[1]
        got = [re.search(rf'^{name}{{[^}}]*{label}="g{g}"[^}}]*}} (\S+)', body, re.M) for g in sample]
        if all(m and float(m.group(1)) == members for m in got):
            return
        time.sleep(0.2)
    raise SystemExit(f"{name}: groups {sample} never reached {members} members")

def p95(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]

def run(c, pid, n):
    for _ in range(5):
        scrape(c)  # warm-up
    c0 = cpu(pid); lat = []
    for _ in range(n):
        lat.append(scrape(c)[0])
    return dict(med=statistics.median(lat), p95=p95(lat), cpu=(cpu(pid) - c0) / n, rss=hwm(pid))

def idle(pid, seconds):
    c0 = cpu(pid); time.sleep(seconds); return (cpu(pid) - c0) / seconds

os_port, os_pid, pe_port, pe_pid, lean_port, lean_pid, n, groups, members = map(int, sys.argv[1:10])
oc, pc, lc = connect(os_port), connect(pe_port), connect(lean_port)
wait_counts(oc, "os_process_members", "process", groups, members)
wait_counts(pc, "namedprocess_namegroup_num_procs", "groupname", groups, members)
wait_counts(lc, "namedprocess_namegroup_num_procs", "groupname", groups, members)
# One exporter at a time, so each has the two cores to itself.
o, p, l = run(oc, os_pid, n), run(pc, pe_pid, n), run(lc, lean_pid, n)
IDLE = 30
oi, pi, li = idle(os_pid, IDLE), idle(pe_pid, IDLE), idle(lean_pid, IDLE)
rows = [("latency median", "med", "ms", 1e3), ("latency p95", "p95", "ms", 1e3),
        ("CPU per scrape", "cpu", "ms", 1e3), ("peak RSS (VmHWM)", "rss", "MiB", 1 / 1048576)]
print(f"{'':26} {'os-exporter':>12} {'process-exp':>12} {'ratio':>7} {'p-e lean':>10} {'ratio':>7}")
for label, k, unit, scale in rows:
    print(f"{label + ' (' + unit + ')':26} {o[k]*scale:12.3f} {p[k]*scale:12.3f} {o[k]/p[k]:7.3f} {l[k]*scale:10.3f} {o[k]/l[k]:7.3f}")
print(f"{'idle CPU (ms per second)':26} {oi*1e3:12.3f} {pi*1e3:12.3f} {'':7} {li*1e3:10.3f}")
print(f"({groups} groups x {members} sleep members; N={n} sequential gzip scrapes per exporter after 5 warm-up ones; "
      f"CPU from /proc/<pid>/stat at 10 ms resolution; idle = nobody scraping for {IDLE} s, os-exporter's process_cpu job every 15 s)")
PY
echo "== os-exporter process groups vs $("$PE" -version 2>&1 | head -1), $(nproc) CPUs, $((NGROUPS * MEMBERS)) member processes"
python3 "$WORK/load.py" "$OS_PORT" "$OS_PID" "$PE_PORT" "$PE_PID" "$LEAN_PORT" "$LEAN_PID" "$N" "$NGROUPS" "$MEMBERS"
