# chroot.sh: what the image builders (build-bench-images, build-dom0) share to install Debian
# into a mounted filesystem: mirrors, chroot mounts that an exit trap always undoes, apt with a
# shared .deb cache, and the cleanup that leaves no build-host file or cache in the image.
# Source it; it defines functions and the mounted array, and runs nothing.
#
# The caller sets:
#   PROG        its name, for log lines
#   SUITE       the Debian suite (bookworm)
#   root        the image's root directory once mounted, "" before and after
#   deb_cache   the directory of downloaded .debs, bind-mounted as apt's archive cache
#   mirror      the Debian mirror ("" to take it from this machine's apt sources)
# and calls choose_mirrors before it writes apt sources. Every mount under $root goes through
# mount_tracked; the caller's EXIT trap calls unmount_all, which unmounts everything at or
# below $root (also what debootstrap left mounted when it failed), deepest first.

# shellcheck shell=bash disable=SC2154 # the caller sets root, deb_cache, mirror, SUITE, PROG

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

mounted=()

# Prints the URIs of the configured Debian entries for one suite, one per line.
uris_for_suite() {
  local want=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v s="$want" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                      if ($(i + 1) == s) print $i }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v s="$want" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ")) { n = split(uris, u, " "); for (k = 1; k <= n; k++) print u[k] }
                         types = uris = suites = "" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
        if (key == "types") types = $0; else if (key == "uris") uris = $0; else if (key == "suites") suites = $0 }
      END { flush() }' "$f"
  done
}

# Sets mirror (when empty), updates_mirror and security_mirror from this machine's sources.
choose_mirrors() {
  if [[ -z $mirror ]]; then
    mirror=$(uris_for_suite "$SUITE" | head -n1)
    [[ -n $mirror ]] || die "no '$SUITE' entry in /etc/apt/sources.list*; pass --mirror URL"
  fi
  security_mirror=$(uris_for_suite "$SUITE-security" | head -n1)
  updates_mirror=$(uris_for_suite "$SUITE-updates" | head -n1)
}

# Kills the processes whose root directory is inside the chroot: only ones this build started.
kill_chroot_processes() {
  local p link pids=()
  for p in /proc/[0-9]*; do
    link=$(readlink "$p/root" 2>/dev/null) || continue
    [[ $link == "$root" || $link == "$root"/* ]] && pids+=("${p#/proc/}")
  done
  ((${#pids[@]})) || return 0
  log "stopping processes left in the chroot: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  sleep 1
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

unmount_all() {
  [[ -n $root ]] || return 0
  kill_chroot_processes
  # Everything mounted at or below the root, deepest first: the tracked mounts and any that
  # debootstrap made itself and left behind when it failed.
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || { sleep 1; umount "$m" 2>/dev/null; } || umount -l "$m" ||
      log "warning: could not unmount $m"
  done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print length($2), $2 }' /proc/mounts |
    sort -rn | cut -d' ' -f2-)
  mounted=()
  rmdir "$root" 2>/dev/null || true
  root=""
}

mount_tracked() { # mount ARGS... TARGET; TARGET is recorded for the trap
  mount "$@"
  mounted+=("${!#}")
}

unmount_last() { # unmounts the most recent tracked mount, which must be TARGET
  local last=${mounted[-1]}
  [[ $last == "$1" ]] || die "internal: unmount order ($last != $1)"
  umount "$last"
  unset 'mounted[-1]'
}

mount_chroot_fs() {
  mkdir -p "$root/proc" "$root/sys" "$root/dev"
  mount_tracked -t proc proc "$root/proc"
  mount_tracked -t sysfs sysfs "$root/sys"
  mount_tracked --bind /dev "$root/dev"
  mount_tracked --bind /dev/pts "$root/dev/pts"
}

unmount_chroot_fs() {
  unmount_last "$root/dev/pts"
  unmount_last "$root/dev"
  unmount_last "$root/sys"
  unmount_last "$root/proc"
}

# Runs a command in the chroot with a clean environment (SOURCE_DATE_EPOCH passes through).
in_chroot() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
    ${SOURCE_DATE_EPOCH:+SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH} "$@"
}

write_apt_sources() {
  {
    echo "deb $mirror $SUITE main"
    [[ -z $updates_mirror ]] || echo "deb $updates_mirror $SUITE-updates main"
    [[ -z $security_mirror ]] || echo "deb $security_mirror $SUITE-security main"
  } >"$root/etc/apt/sources.list"
}

# A policy-rc.d that forbids starting services, the build host's resolv.conf, and the mounts.
prepare_chroot() {
  printf '#!/bin/sh\n# provisioner image build: never start services in the chroot\nexit 101\n' \
    >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  rm -f "$root/etc/resolv.conf"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount_chroot_fs
}

apt_install() { # PACKAGES...
  (($#)) || return 0
  mkdir -p "$root/var/cache/apt/archives"
  mount_tracked --bind "$deb_cache" "$root/var/cache/apt/archives"
  in_chroot apt-get update -q
  in_chroot apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "$@"
  unmount_last "$root/var/cache/apt/archives"
}

# Removes apt's caches and lists, the policy-rc.d and the build host's resolv.conf.
clean_chroot() {
  in_chroot apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  mkdir -p "$root/var/lib/apt/lists/partial"
  rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
}

# Unmounts the chroot's mounts, punches holes for freed blocks, and unmounts the image.
trim_and_unmount() {
  unmount_chroot_fs
  kill_chroot_processes
  sync
  fstrim -v "$root" >&2 || log "warning: fstrim failed; freed blocks keep their old data"
  unmount_all
}
