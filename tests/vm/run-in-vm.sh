#!/usr/bin/env bash
# Runs one command inside a throw-away VM booted from Debian 12's stock kernel, for the tests that
# need what this host's kernel lacks (bonding, IPVS, netem). The VM sees the host's root
# filesystem (its /tmp included) read-only under a tmpfs overlay (its writes vanish with it), so
# host-built binaries and a test's files run there unchanged; /proc, /sys, /dev and /run are the
# VM's own. It has no network beyond its own loopback.
#
#   tests/vm/run-in-vm.sh [-t SECONDS] [-m MODULE]... [-s] COMMAND [ARG...]
#
#   -t  hard timeout of the whole VM (default 120 s)
#   -m  a kernel module to load in the VM before COMMAND runs, dependencies first (repeatable)
#   -s  boot the host's systemd as PID 1 (this host's own PID 1 is not systemd) and run COMMAND
#       as the oneshot unit suite-vm.service, the only unit the boot asks for besides what it
#       depends on (basic.target): the host's enabled services do not start
#
# COMMAND's stdout and stderr reach ours; its exit status is ours (124 on timeout). When the VM
# itself fails, the end of its console log is printed.
#
# On first use it downloads the kernel package `linux-image-amd64` depends on with `apt-get
# download` (never installed: /boot and /lib/modules are left alone) and keeps vmlinuz, the
# modules and a modules.dep in $SUITE_VM_CACHE (default: target/vm under the workspace).
# Needs qemu-system-x86, busybox-static and xz-utils (`make deps` installs them). Software
# emulation (TCG): this host's /dev/kvm cannot run a stock kernel.
set -euo pipefail

timeout_s=120
modules=()
systemd=
usage="usage: $0 [-t SECONDS] [-m MODULE]... [-s] COMMAND [ARG...]"
while getopts "t:m:s" opt; do
  case "$opt" in
    t) timeout_s=$OPTARG ;;
    m) modules+=("$OPTARG") ;;
    s) systemd=1 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "$#" -gt 0 ] || { echo "$usage" >&2; exit 2; }
if [ -n "$systemd" ] && [ ! -x /lib/systemd/systemd ]; then
  echo "$0: -s needs systemd installed on the host (make deps installs it)" >&2; exit 2
fi

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${SUITE_VM_CACHE:-${CARGO_TARGET_DIR:-$root/target}/vm}
mkdir -p "$cache"
for tool in qemu-system-x86_64 busybox xz; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing (make deps installs it)" >&2; exit 2; }
done

# The kernel, once per cache; a lock keeps parallel tests from unpacking it twice.
exec 9>"$cache/.lock"
flock 9
if [ ! -s "$cache/vmlinux" ]; then
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || { echo "$0: no kernel package behind linux-image-amd64 (apt-get update?)" >&2; exit 1; }
  work=$(mktemp -d "$cache/unpack.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg")
  dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work" --wildcards './boot/vmlinuz-*' './lib/modules/*'
  ver=$(basename "$work"/lib/modules/*)
  # The stock bzImage decompresses itself slowly under emulation and needs a BIOS: boot the xz
  # payload as a plain ELF through QEMU's PVH entry point instead.
  offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$work/boot/vmlinuz-$ver" | head -n 1 | cut -d: -f1)
  tail -c +"$((offset + 1))" "$work/boot/vmlinuz-$ver" | xz -dc --single-stream > "$work/vmlinux" 2>/dev/null || true
  [ -s "$work/vmlinux" ] || { echo "$0: could not extract vmlinux from vmlinuz-$ver" >&2; exit 1; }
  # Debian ships no modules.dep (depmod runs in postinst) and this host has no kmod.
  busybox depmod -b "$work" "$ver"
  rm -rf "$cache/modules"
  mv "$work/lib/modules/$ver" "$cache/modules"
  mv "$work/vmlinux" "$cache/vmlinux.tmp"
  rm -rf "$work"
  trap - EXIT
  mv "$cache/vmlinux.tmp" "$cache/vmlinux"
fi
flock -u 9

run=$(mktemp -d "$cache/run.XXXXXX")
qemu_pid=
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The modules the VM needs (the host root over 9p, the overlay) and the requested ones, each after
# its dependencies, from modules.dep.
closure() {
  local m=$1 line deps d
  line=$(grep -E "(^|/)${m//_/[-_]}\.ko:" "$cache/modules/modules.dep" | head -n 1) ||
    { echo "$0: no module $m in the kernel package" >&2; return 1; }
  deps=${line#*:}
  for d in $deps; do closure "$(basename "$d" .ko)"; done
  echo "${line%%:*}"
}
base=(virtio_pci 9pnet_virtio 9p overlay)
ordered=$(for m in "${base[@]}" "${modules[@]}"; do closure "$m"; done | awk '!seen[$0]++')

initrd=$run/initrd
mkdir -p "$initrd"/{bin,mods,proc,sys,dev,host,upper,root}
cp "$(command -v busybox)" "$initrd/bin/busybox"
i=0
for rel in $ordered; do
  cp "$cache/modules/$rel" "$initrd/mods/$(printf '%03d' $i)-$(basename "$rel")"
  i=$((i + 1))
done
# What runs in the VM: the caller's cwd and PATH, then the command, its output on ttyS1.
{
  printf 'cd %q\n' "$PWD"
  printf 'export PATH=%q\n' "$PATH"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} > "$initrd/cmd"
[ -n "$systemd" ] && touch "$initrd/systemd"
cat > "$initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /mods/*.ko; do insmod "$m" || echo "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=mmap,msize=262144 hostroot /host
mount -t tmpfs tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w /root
for d in proc sys dev; do mount --move /$d /root/$d; done
mount -t tmpfs -o mode=755 tmpfs /root/run
cp /cmd /root/run/vm-cmd
if [ -f /systemd ]; then
  # The command as a oneshot unit in the overlay's /etc (gone with the VM); it powers off.
  mkdir -p /root/etc/systemd/system
  cat > /root/run/vm-wrap <<'WRAP'
#!/bin/sh
ip link set lo up
stty -opost < /dev/ttyS1 2>/dev/null
bash /run/vm-cmd > /dev/ttyS1 2>&1 < /dev/null
echo "SUITE_VM_EXIT=$?" > /dev/ttyS0
systemctl poweroff --force --force
WRAP
  chmod +x /root/run/vm-wrap
  printf '%s\n' '[Unit]' 'Description=The suite test command' 'Wants=dbus.socket' 'After=basic.target dbus.socket' \
    '[Service]' 'Type=oneshot' 'ExecStart=/run/vm-wrap' > /root/etc/systemd/system/suite-vm.service
  printf '%s\n' '[Unit]' 'Description=The suite test command and what it needs' 'Requires=suite-vm.service' \
    'After=suite-vm.service' 'AllowIsolate=yes' > /root/etc/systemd/system/suite-vm.target
  # The host's /.dockerenv would make systemd think it runs in a container (and read its options
  # from its own argv rather than the kernel's command line): the VM is a machine.
  rm -f /root/.dockerenv
  # Debian's tmpfiles.d/tmp.conf empties /tmp at boot, where the test's files are.
  mkdir -p /root/etc/tmpfiles.d
  : > /root/etc/tmpfiles.d/tmp.conf
  exec switch_root /root /lib/systemd/systemd systemd.unit=suite-vm.target
fi
chroot /root /bin/sh -c 'ip link set lo up; stty -opost < /dev/ttyS1 2>/dev/null; bash /run/vm-cmd > /dev/ttyS1 2>&1 < /dev/null'
echo "SUITE_VM_EXIT=$?"
poweroff -f
EOF
chmod +x "$initrd/init"
(cd "$initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$run/initrd.gz"

console=$run/console.log
timeout "$timeout_s" qemu-system-x86_64 \
  -accel tcg -m 768 -nographic -no-reboot -nodefaults \
  -kernel "$cache/vmlinux" -initrd "$run/initrd.gz" \
  -append "console=ttyS0 panic=-1 no_timer_check quiet rdinit=/init${systemd:+ systemd.unit=suite-vm.target}" \
  -serial "file:$console" -serial stdio \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -nic none < /dev/null &
qemu_pid=$!
rc=0
wait "$qemu_pid" || rc=$?
qemu_pid=
if [ "$rc" -eq 124 ]; then
  echo "$0: the VM did not finish within ${timeout_s}s; console:" >&2
  tail -n 30 "$console" >&2
  exit 124
fi
status=$(grep -ao 'SUITE_VM_EXIT=[0-9]*' "$console" | tail -n 1 | cut -d= -f2 || true)
if [ -z "$status" ]; then
  echo "$0: the VM stopped before the command finished (qemu exit $rc); console:" >&2
  tail -n 30 "$console" >&2
  exit 1
fi
exit "$status"
