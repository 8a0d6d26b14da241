#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the repository's real captures and fixtures (run from the
# repository root). Only needed to rebuild the corpus from scratch: the minimised corpus is
# checked in. Big captures are cut into pieces of about 4 KB, libFuzzer's default input size.
set -euo pipefail
cd "$(dirname "$0")/../.."
C=fuzz/corpus
RS=$'\x1e'

seed() { # target file...
    local t=$1; shift
    mkdir -p "$C/$t"
    for f in "$@"; do
        [ -f "$f" ] || continue
        if [ "$(stat -c %s "$f")" -gt 4096 ]; then
            split -C 4000 -d -a 3 "$f" "$C/$t/$(echo "$f" | tr / _)."
        else
            cp "$f" "$C/$t/$(echo "$f" | tr / _)"
        fi
    done
}
text() { # target name text
    mkdir -p "$C/$1"
    printf '%s' "$3" > "$C/$1/$2"
}

OS=exporters/os-exporter/tests/fixtures
KA=exporters/keepalived-exporter/tests/fixtures
ET=exporters/etcd-probe/tests/fixtures
IC=exporters/ic-server-probe/tests/fixtures
LT=common/src/log_tail/fixtures

# common
for d in 500ms 1m30s 2h 1.5d 0 10s 1w2d3h4m5s6ms; do text common_duration "$d" "$d"; done
seed common_toml_config exporters/*/*.example.toml
text common_query probe 'target=http%3A%2F%2F127.0.0.1%3A8088%2Fok&module=a+b&ocp_address=%E4%B8%AD'
text common_accept_headers prometheus 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2'
text common_accept_headers encoding 'gzip, deflate;q=0.5, br;q=0, *;q=0.1, x-gzip;q=1.0'
for f in $LT/ugly/crlf.log $LT/ugly/one-line.log $LT/family/ha.log $LT/family/ha.log.1 $ET/etcd-3.4.23-capnslog-m1.log; do
    mkdir -p $C/common_log_lines
    { printf '\x03'; head -c 3000 "$f"; } > "$C/common_log_lines/$(basename "$f")"
done
mkdir -p $C/common_journal_json
printf '%s\n' '{"__REALTIME_TIMESTAMP":"1764590000000000","__CURSOR":"s=89900ce91fa842efad9844251cf8bc63;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=644e2a01fcc00;x=22788438fe0e9932","_SYSTEMD_UNIT":"keepalived.service","SYSLOG_IDENTIFIER":"Keepalived_vrrp","PRIORITY":"6","_PID":"4242","MESSAGE":"(VI_1) Entering MASTER STATE"}' '{"__CURSOR":"c2","MESSAGE":[98,97,100,32,255,254],"SYSLOG_IDENTIFIER":["a","b"],"PRIORITY":null}' > $C/common_journal_json/capture
for f in $LT/ugly/crlf.log $LT/family/ha.log; do
    mkdir -p $C/common_log_tail
    { head -c 60 "$f"; printf '\x1e'; tail -c +61 "$f"; } > "$C/common_log_tail/$(basename "$f")"
done
mkdir -p $C/common_log_family
{ cat $LT/family/ha.log.2.gz; printf '\x1e'; cat $LT/family/ha.log.1; printf '\x1e'; cat $LT/family/ha.log; } > $C/common_log_family/family
{ cat $LT/ugly/garbage.log.1.gz; printf '\x1e\x1e'; cat $LT/ugly/crlf.log; } > $C/common_log_family/garbage
seed common_pid_stat $OS/*/proc/*/stat $OS/*/proc/stat
seed common_parse_helpers $OS/ugly/proc/meminfo $OS/swap/proc/vmstat $OS/ugly/proc/net/snmp $OS/ugly/proc/self/mountinfo $OS/swap/proc/sys/fs/file-nr
text common_glob devices "sd[a-z]*${RS}sda1"
text common_glob braces "/etc/keepalived/{conf.d,extra}/*.conf${RS}/etc/keepalived/conf.d/../x.conf"
text common_glob class "[!0-9]?[]-]*${RS}]x-"
mkdir -p $C/common_icmp_reply
printf '\x00\x00\xf7\xff\x12\x34\x00\x07ops-exporter-suite' > $C/common_icmp_reply/v4-datagram
printf '\x45\x00\x00\x24\x00\x00\x00\x00\x40\x01\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01\x00\x00\xf7\xff\x12\x34\x00\x07' > $C/common_icmp_reply/v4-raw
printf '\x81\x00\x00\x00\x12\x34\x00\x07' > $C/common_icmp_reply/v6
text common_web_config users $'basic_auth_users:\n  alice: $2y$04$Rn6Q8uPq0dJ7U9m0QW7ZFeq6gkP6RkQxwzQ0Q9cAq1Zt0o4w9fN3W\n'
text common_web_config tls $'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS12\n  max_version: TLS13\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n'
text common_http_answer ok $'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok'
text common_http_answer chunked $'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n{"health":"false"\r\n1\r\n}\r\n0\r\n\r\n'
text common_http_answer close $'HTTP/1.0 200 OK\r\n\r\n{"health":"true","reason":""}'

# os-exporter
seed os_diskstats $OS/ugly/proc/diskstats
seed os_file_nr $OS/*/proc/sys/fs/file-nr
seed os_loadavg $OS/*/proc/loadavg
seed os_meminfo $OS/*/proc/meminfo
seed os_mountinfo $OS/*/proc/self/mountinfo
seed os_net_dev $OS/ugly/proc/net/dev
seed os_net_tcp $OS/*/proc/net/tcp $OS/ugly/proc/net/tcp6
seed os_stat $OS/*/proc/stat
seed os_uptime $OS/*/proc/uptime
seed os_vmstat $OS/swap/proc/vmstat
seed os_disk_ignore_file $OS/ugly/tmp/os_disk_io_ignore_devices
mkdir -p $C/os_netstat
cat $OS/ugly/proc/net/netstat > $C/os_netstat/ugly; printf '\x1e' >> $C/os_netstat/ugly; cat $OS/ugly/proc/net/snmp >> $C/os_netstat/ugly
mkdir -p $C/os_netclass
for i in $OS/ugly/sys/class/net/*; do
    { cat $i/flags 2>/dev/null || true; printf "\x1e"; cat $i/operstate 2>/dev/null || true; printf "\x1e"; cat $i/carrier 2>/dev/null || true; } > "$C/os_netclass/$(basename $i)"
done

# keepalived-exporter
seed keepalived_json_dump $KA/*.json
seed keepalived_text_dump $KA/*.data $KA/*.stats
seed keepalived_conf $KA/keepalived-a.conf
{ printf 'include conf.d/*.conf\ninclude /etc/keepalived/conf.d/{0,1}.conf\n'; printf '\x1e'; cat $KA/keepalived-a.conf; printf '\x1einclude ../keepalived.conf\n'; } > $C/keepalived_conf/includes
seed keepalived_log_line $KA/*.log $KA/*.messages
mkdir -p $C/keepalived_arp_frame
printf '\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x02\x08\x06\x00\x01\x08\x00\x06\x04\x00\x02\x02\x00\x00\x00\x00\x02\x0a\x00\x00\x64\x02\x00\x00\x00\x00\x01\x0a\x00\x00\x01' > $C/keepalived_arp_frame/reply
text keepalived_arp_frame mac '52:54:00:12:34:56'
seed keepalived_ip_addr_json $KA/ip-addr.json

# etcd-probe
seed etcd_log_line $ET/*.log
mkdir -p $C/etcd_metrics
grep -E '^(# (HELP|TYPE) )?(etcd_server_|etcd_disk_wal_fsync|etcd_mvcc_db|process_resident|etcd_debugging_mvcc_keys_total|grpc_server_handled_total\{grpc_code="(OK|Unavailable)",grpc_method="(Range|Put)")' $ET/etcd-3.4.23-metrics.txt | split -C 4000 -d -a 3 - $C/etcd_metrics/etcd-3.4.23-metrics.
text etcd_health v34 '{"health":"true"}'
text etcd_health v35 '{"health":"false","reason":"ALARM NOSPACE"}'
text etcd_health version '{"etcdserver":"3.5.11","etcdcluster":"3.5.0"}'
seed etcd_gateway $ET/gateway-*.json
text etcd_state_file state "{\"cluster_id\":14841639068965178418,\"revision\":120,\"keys\":40,\"cluster_id_changed\":0,\"revision_backwards\":1,\"keys_dropped\":0,\"last_event_unix\":1764590000.5}${RS}ABCDEFGH12345678abcdefgh"

# ic-server-probe
text ic_target addr "http://<IP>:18088/ok${RS}10.1.0.2:18088"
text ic_target v6 "https://<IP>/health?x=1${RS}fe80::1"
text ic_target url "http://<IP>:8088/ok${RS}https://[::1]:9/ok"
for p in $IC/host/proc/*/cmdline; do
    d=$(dirname $p)
    mkdir -p $C/ic_process_match
    { printf 'ic-server\x1e'; cat $d/comm; printf '\x1e'; cat $p; } > "$C/ic_process_match/$(basename $d)"
done
mkdir -p $C/ic_server_log
{ printf 'error,Exception,FATAL\x1e'; cat $IC/server.log; } > $C/ic_server_log/server.log
