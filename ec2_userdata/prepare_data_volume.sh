#!/usr/bin/env bash
# prepare_data_volume.sh - find, (format once,) mount and persist the EBS data volume.
#
# Run by EC2 user-data on EVERY boot, so each step is idempotent:
#   1. resolve the device: by volume id under /dev/disk/by-id/ (Nitro exposes
#      EBS volumes as /dev/nvme<N>n1 in no fixed order, with a stable link
#      nvme-Amazon_Elastic_Block_Store_vol0abc...), or an explicit --device;
#      poll once a second until it appears or --timeout expires (exit 2);
#   2. refuse devices that hold / or are mounted/used elsewhere (exit 3);
#   3. format ONLY when `blkid -p` positively reports "nothing found" (exit
#      code 2); an existing filesystem is kept, a partition table or any other
#      signature or probing error makes the script fail instead (exit 3);
#   4. write exactly one fstab line "UUID=... <mount> <type> defaults,nofail,noatime 0 2"
#      (older lines for the same mount point or UUID are replaced, others kept);
#   5. mount by UUID if not already mounted there, and check that what got
#      mounted really is the resolved device;
#   6. create <mount>/db and <mount>/logs (mode 0750), chown with --owner.
#
# Exit codes: 0 ok, 1 unexpected error, 2 device did not appear, 3 refused
# (safety check), 64 usage error.
set -euo pipefail

readonly PROG=prepare_data_volume
readonly EBS_BY_ID_PREFIX=nvme-Amazon_Elastic_Block_Store_

volume_id=""
device=""
fallback_device=""
mount_point="" # required: the stack passes clinic_server.DATA_MOUNT (the installer gets the same as --data-dir)
fstab=/etc/fstab
timeout=300
fs_type=xfs
owner=""
by_id_dir=/dev/disk/by-id
subdirs=(db logs)

log() { printf '%s: %s\n' "$PROG" "$*"; }
err() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    local code=$1
    shift
    err "ERROR: $*"
    exit "$code"
}

usage() {
    cat <<EOF
Usage: $0 (--volume-id vol-0abc... | --device /dev/xyz) [options]

  --volume-id ID        EBS volume id (vol-0abc... or vol0abc...), looked up as
                        <by-id-dir>/${EBS_BY_ID_PREFIX}vol0abc...
  --device DEV          use this block device instead of a volume-id lookup
  --fallback-device DEV with --volume-id: also accept DEV (e.g. /dev/sdf on Xen
                        instances) once the device it points to exists
  --mount-point DIR     where to mount (required: the stack passes it, and the same
                        directory to the installer as --data-dir)
  --fstab FILE          fstab to maintain (default: $fstab)
  --timeout SECONDS     how long to wait for the device (default: $timeout)
  --fs-type TYPE        filesystem for a blank device: xfs or ext4 (default: $fs_type)
  --owner USER:GROUP    chown the db/ and logs/ subdirectories
  --by-id-dir DIR       directory of by-id links (default: $by_id_dir)
  -h, --help            this help
EOF
}

# ---------------------------------------------------------------- options
need_arg() {
    [[ $# -ge 2 && -n $2 ]] || { err "option $1 needs a value"; usage >&2; exit 64; }
}
while [[ $# -gt 0 ]]; do
    case $1 in
        --volume-id) need_arg "$@"; volume_id=$2; shift 2 ;;
        --device) need_arg "$@"; device=$2; shift 2 ;;
        --fallback-device) need_arg "$@"; fallback_device=$2; shift 2 ;;
        --mount-point) need_arg "$@"; mount_point=$2; shift 2 ;;
        --fstab) need_arg "$@"; fstab=$2; shift 2 ;;
        --timeout) need_arg "$@"; timeout=$2; shift 2 ;;
        --fs-type) need_arg "$@"; fs_type=$2; shift 2 ;;
        --owner) need_arg "$@"; owner=$2; shift 2 ;;
        --by-id-dir) need_arg "$@"; by_id_dir=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) err "unknown argument: $1"; usage >&2; exit 64 ;;
    esac
done

usage_error() { err "$*"; usage >&2; exit 64; }

if [[ -n $volume_id && -n $device ]] || [[ -z $volume_id && -z $device ]]; then
    usage_error "give exactly one of --volume-id or --device"
fi
[[ -z $fallback_device || -n $volume_id ]] || usage_error "--fallback-device needs --volume-id"
[[ $timeout =~ ^[0-9]+$ ]] || usage_error "--timeout must be a whole number of seconds"
case $fs_type in xfs | ext4) ;; *) usage_error "--fs-type must be xfs or ext4" ;; esac
[[ -n $mount_point ]] || usage_error "--mount-point is required"
[[ $mount_point == /* ]] || usage_error "--mount-point must be an absolute path"
[[ $mount_point != *[[:space:]]* ]] || usage_error "--mount-point must not contain whitespace"
mount_point=$(realpath -m -- "$mount_point") # canonical, as findmnt reports it
[[ $mount_point != / ]] || usage_error "--mount-point must not be /"
[[ $fstab == /* ]] || usage_error "--fstab must be an absolute path"
[[ -z $owner || $owner =~ ^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$ ]] || usage_error "--owner must be USER or USER:GROUP"

vol_label=""
if [[ -n $volume_id ]]; then
    [[ $volume_id =~ ^vol-?([0-9a-f]{8,17})$ ]] || usage_error "bad volume id: $volume_id"
    vol_hex=${BASH_REMATCH[1]}
    vol_label="vol-$vol_hex"
fi

[[ $EUID -eq 0 ]] || die 1 "must run as root"
for tool in blkid findmnt lsblk mount mountpoint; do
    command -v "$tool" >/dev/null 2>&1 || die 1 "required tool not found: $tool"
done

# Serialise concurrent runs (e.g. user-data and a manual run) on the fstab's
# directory; advisory only, nothing is written there by the lock itself.
if command -v flock >/dev/null 2>&1 && [[ -d $(dirname "$fstab") ]]; then
    exec 9<"$(dirname "$fstab")"
    flock 9
fi

# ---------------------------------------------------------------- 1. resolve
# Print the block device behind the first candidate that exists, or nothing.
find_device() {
    local candidates=() c target
    if [[ -n $volume_id ]]; then
        candidates+=("$by_id_dir/${EBS_BY_ID_PREFIX}vol$vol_hex"
            "$by_id_dir/${EBS_BY_ID_PREFIX}vol${vol_hex}_1")
        [[ -z $fallback_device ]] || candidates+=("$fallback_device")
    else
        candidates+=("$device")
    fi
    for c in "${candidates[@]}"; do
        [[ -e $c ]] || continue # also false for a dangling symlink
        target=$(readlink -f -- "$c") || continue
        if [[ -b $target ]]; then
            printf '%s\n' "$target"
            return 0
        fi
    done
    return 0
}

what=${vol_label:+volume $vol_label}
what=${what:-$device}
log "waiting up to ${timeout} s for the device for $what"
dev=""
deadline=$((SECONDS + timeout))
while :; do
    dev=$(find_device)
    [[ -z $dev ]] || break
    if ((SECONDS >= deadline)); then
        if [[ -n $vol_label ]]; then
            err "device for volume $vol_label did not appear within $timeout s"
        else
            err "device $device did not appear within $timeout s"
        fi
        exit 2
    fi
    sleep 1
done
log "device for $what is $dev"
dev_name=$(basename -- "$dev")

# ---------------------------------------------------------------- 2. safety
# The disk that holds / (and, if / is on a partition, its parent disk).
root_src=$(findmnt -n -o SOURCE --target / 2>/dev/null || true)
if [[ $root_src == /dev/* && -b $root_src ]]; then
    root_dev=$(readlink -f -- "$root_src")
    root_parent=$(lsblk -ndo PKNAME -- "$root_dev" 2>/dev/null || true)
    if [[ $dev == "$root_dev" || (-n $root_parent && $dev_name == "$root_parent") ]]; then
        die 3 "$dev holds the root filesystem; refusing"
    fi
fi

# Mounted (or used as swap) anywhere but the target, itself or a partition of it.
while IFS= read -r mnt; do
    [[ -z $mnt || $mnt == "$mount_point" ]] && continue
    die 3 "$dev (or a partition of it) is in use at $mnt, not $mount_point; refusing"
done < <(lsblk -nro MOUNTPOINT -- "$dev" 2>/dev/null | sed 's/\\x20/ /g'
    findmnt -rn -o TARGET --source "$dev" 2>/dev/null || true)

# Claimed by device-mapper / md / ... (e.g. an LVM PV, a RAID member).
holders=()
if [[ -d /sys/class/block/$dev_name/holders ]]; then
    for h in "/sys/class/block/$dev_name/holders"/*; do
        if [[ -e $h ]]; then holders+=("$(basename -- "$h")"); fi
    done
fi
[[ ${#holders[@]} -eq 0 ]] || die 3 "$dev is held by ${holders[*]}; refusing"

# The mount point must be free or already hold this very device.
mounted_src=""
if mountpoint -q -- "$mount_point" 2>/dev/null; then
    mounted_src=$(findmnt -n -o SOURCE --mountpoint "$mount_point" | tail -n 1)
    if [[ $(readlink -f -- "$mounted_src") != "$dev" ]]; then
        die 3 "$mount_point already has $mounted_src mounted, not $dev; refusing"
    fi
fi

# ---------------------------------------------------------------- 3. probe / format
# Low-level probe (-p: no cache). Exit 0 = something found, 2 = nothing found,
# anything else (e.g. 8 = ambivalent signatures) = don't know -> never format.
probe() {
    local rc=0
    probe_out=$(blkid -p -o export -- "$dev" 2>&1) || rc=$?
    probe_rc=$rc
}
probe_field() { sed -n "s/^$1=//p" <<<"$probe_out" | head -n 1; }

probe
case $probe_rc in
    0) ;;
    2)
        # blkid also exits 2 when it cannot open the device (missing, EPERM,
        # ...), printing an error: only silence plus a readable device means
        # "blank".
        [[ -z $probe_out ]] || die 3 "blkid -p $dev failed, not formatting: $probe_out"
        [[ -b $dev ]] || die 1 "$dev vanished while probing"
        dd if="$dev" of=/dev/null bs=4096 count=1 status=none 2>/dev/null ||
            die 3 "cannot read $dev, not formatting"
        log "blkid finds no filesystem and no partition table on $dev: formatting as $fs_type"
        command -v "mkfs.$fs_type" >/dev/null 2>&1 || die 1 "required tool not found: mkfs.$fs_type"
        case $fs_type in
            # No -f / -F: mkfs refuses on its own if it sees any signature.
            xfs) mkfs.xfs -q -- "$dev" </dev/null ;;
            ext4) mkfs.ext4 -q -- "$dev" </dev/null ;;
        esac
        probe
        [[ $probe_rc -eq 0 ]] || die 1 "blkid does not find the new filesystem on $dev (exit $probe_rc): $probe_out"
        ;;
    *) die 3 "blkid -p $dev failed (exit $probe_rc), not formatting: $probe_out" ;;
esac

pt_type=$(probe_field PTTYPE)
found_type=$(probe_field TYPE)
usage_kind=$(probe_field USAGE)
uuid=$(probe_field UUID)
if [[ -n $pt_type && -z $found_type ]]; then
    die 3 "$dev has a partition table ($pt_type); expected a whole-disk filesystem, refusing to format or mount"
fi
[[ -n $found_type ]] || die 3 "blkid reports no filesystem type on $dev: $probe_out"
[[ $usage_kind == filesystem ]] || die 3 "$dev holds $found_type (usage: ${usage_kind:-unknown}), not a filesystem; refusing"
[[ -n $uuid ]] || die 3 "$dev has a $found_type filesystem without a UUID; refusing"
if [[ $found_type != "$fs_type" ]]; then
    log "keeping the existing $found_type filesystem on $dev (asked for $fs_type only for blank devices)"
else
    log "filesystem on $dev: $found_type UUID=$uuid"
fi

# ---------------------------------------------------------------- 4. fstab
readonly mount_opts=defaults,nofail,noatime
fstab_line="UUID=$uuid $mount_point $found_type $mount_opts 0 2"
[[ -e $fstab ]] || : >"$fstab"
# Keep every line except entries for the same mount point or the same UUID.
new_fstab=$(awk -v mp="$mount_point" -v id="UUID=$uuid" -v idq="UUID=\"$uuid\"" '
    /^[ \t]*#/ || NF < 2 { print; next }
    { m = $2; sub(/\/+$/, "", m) }
    m == mp || $1 == id || $1 == idq { next }
    { print }' "$fstab")
new_fstab=${new_fstab:+$new_fstab$'\n'}$fstab_line
if [[ $(cat -- "$fstab") == "$new_fstab" ]]; then
    log "$fstab already up to date"
else
    tmp=$(mktemp -- "$fstab.XXXXXX")
    trap 'rm -f -- "$tmp"' EXIT
    printf '%s\n' "$new_fstab" >"$tmp"
    chmod --reference="$fstab" -- "$tmp" 2>/dev/null || chmod 0644 -- "$tmp"
    mv -f -- "$tmp" "$fstab"
    trap - EXIT
    log "wrote to $fstab: $fstab_line"
    if [[ $fstab == /etc/fstab && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        systemctl daemon-reload || err "warning: systemctl daemon-reload failed"
    fi
fi

# ---------------------------------------------------------------- 5. mount
mkdir -p -- "$mount_point"
if [[ -n $mounted_src ]]; then
    log "$dev already mounted at $mount_point"
else
    log "mounting UUID=$uuid at $mount_point"
    if [[ $fstab == /etc/fstab ]]; then
        mount -- "$mount_point" # uses (and so checks) the fstab line
    else
        mount -t "$found_type" -o "$mount_opts" UUID="$uuid" "$mount_point"
    fi
fi
# A duplicate UUID (e.g. a snapshot of another volume) could have made mount
# pick another device; make sure the resolved one is what is mounted.
mounted_src=$(findmnt -n -o SOURCE --mountpoint "$mount_point" | tail -n 1)
if [[ $(readlink -f -- "$mounted_src") != "$dev" ]]; then
    die 1 "expected $dev at $mount_point but found ${mounted_src:-nothing} (duplicate UUID?)"
fi

# ---------------------------------------------------------------- 6. layout
for d in "${subdirs[@]}"; do
    mkdir -p -- "$mount_point/$d"
    chmod 0750 -- "$mount_point/$d"
    [[ -z $owner ]] || chown -- "$owner" "$mount_point/$d"
done
log "directories ${subdirs[*]} ready under $mount_point${owner:+ (owner $owner)}"

log "done: device=$dev uuid=$uuid type=$found_type mount_point=$mount_point fstab=$fstab"
