#!/usr/bin/env bash
# install_clinic.sh - install (or update) the clinic web app from a release directory.
#
# cfn-init runs this on first boot AND on every update (cfn-hup re-runs
# cfn-init when the release asset changes), so every step is idempotent and
# safe on a live system; running it twice changes nothing and loses nothing:
#   1. packages (dnf: python, nginx, sqlite, logrotate)       [only with --root /]
#   2. the `clinic` system user (no login shell)              [not with --skip-user]
#   3. directories: <data>/db, <data>/logs (0750 clinic), /etc/clinic, /opt/clinic
#   4. venv /opt/clinic/venv; pip install --no-index from <release>/wheelhouse
#   5. /etc/clinic/clinic.env (0640 root:clinic), written atomically; the Django
#      secret key comes from Secrets Manager (never from user-data or the template)
#   6. online backup of an existing database to <data>/db/pre-migrate/ (last 5
#      kept), then `migrate`, `collectstatic`, `create_first_admin --secret-id`
#   7. systemd units, nginx site, logrotate from <release>/templates
#   8. systemctl daemon-reload / enable --now / restart what changed  [not with --no-systemd]
#   9. wait for /healthz through nginx (200)                           [not with --no-systemd]
#
# Mode ha (--database-secret-id): the database is RDS PostgreSQL. DATABASE_URL
# is built from the RDS secret (host, port, name, user; the password is read at
# connect time by the app, so rotation needs no re-install), step 6 runs
# `migrate_locked` (once per release across instances) and no SQLite backup,
# and the SQLite backup timer is not installed (PITR + AWS Backup instead).
#
# Every path written (/etc, /opt, /var, /run and the default data dir) is
# prefixed with --root, so tests can install into a scratch directory.
# Exit codes: 0 ok, 1 failed (reason on stderr, in /var/log/clinic-bootstrap.log
# and in --reason-file), 64 usage error.
set -Eeuo pipefail
shopt -s lastpipe # `... | write_file` sets $changed in this shell
umask 022

readonly PROG=install_clinic
readonly APP_USER_DEFAULT=clinic

release=/opt/clinic/release
root=/
data_dir=""
python=python3.12
bucket=""
backup_bucket=""
backup_prefix=backups/
region=""
allowed_hosts=""
csrf_origins=""
secret_key_secret_id=""
secret_key_file=""
admin_secret_id=""
admin_password_file=""
database_secret_id=""
database_secret_file=""
https=1
http_port=80
trusted_proxies=0.0.0.0/0,::/0
health_timeout=120
reason_file=""
no_systemd=0
skip_user=0
no_packages=0

usage() {
    cat <<EOF
Usage: $0 --bucket B --region R --allowed-hosts H[,H...] (--secret-key-secret-id ARN | --secret-key-file F)
          [--admin-secret-id ARN | --admin-password-file F] [options]

  --release DIR              unpacked release (default: $release)
  --root DIR                 prefix for every path written (default: /)
  --data-dir DIR             data volume, NOT prefixed (default: <root>/data)
  --python CMD               interpreter for the venv (default: $python)
  --bucket NAME              photo bucket (CLINIC_PHOTO_BUCKET)
  --backup-bucket NAME       bucket for database backups (default: --bucket)
  --backup-prefix PREFIX     key prefix for backups (default: $backup_prefix)
  --region REGION            AWS region (AWS_REGION)
  --allowed-hosts H,H        DJANGO_ALLOWED_HOSTS (the front door's domain first)
  --csrf-origins O,O         DJANGO_CSRF_TRUSTED_ORIGINS (default: https://<each allowed host>)
  --secret-key-secret-id ID  Secrets Manager secret holding the Django secret key
  --secret-key-file FILE     ... or a file holding it (tests)
  --admin-secret-id ID       Secrets Manager secret holding the first administrator's password
  --admin-password-file FILE ... or a file holding it (tests)
  --database-secret-id ID    mode ha: the RDS secret (JSON: username, password, host, port, dbname)
  --database-secret-file F   ... or a file holding that JSON (tests; the password goes into DATABASE_URL)
  --https 0|1                CLINIC_HTTPS (default: $https)
  --http-port PORT           nginx listen port (default: $http_port)
  --trusted-proxy-cidr C,C   peers whose X-Forwarded-For nginx believes (the security group admits
                             only CloudFront to the port, so: any); nginx takes the viewer's
                             address from the LAST hop, the one CloudFront appended
                             (default: $trusted_proxies)
  --health-timeout SECONDS   how long to wait for /healthz (default: $health_timeout)
  --reason-file FILE         on failure, write a one-line reason here (for cfn-signal --reason)
  --no-systemd               write units and configs but call neither systemctl nor nginx; no health wait
  --skip-user                do not create the clinic user; run everything as the current user
  --no-packages              do not call dnf
  -h, --help                 this help
EOF
}

need_arg() {
    [[ $# -ge 2 && -n $2 ]] || { printf '%s: option %s needs a value\n' "$PROG" "$1" >&2; usage >&2; exit 64; }
}
while [[ $# -gt 0 ]]; do
    case $1 in
        --release) need_arg "$@"; release=$2; shift 2 ;;
        --root) need_arg "$@"; root=$2; shift 2 ;;
        --data-dir) need_arg "$@"; data_dir=$2; shift 2 ;;
        --python) need_arg "$@"; python=$2; shift 2 ;;
        --bucket) need_arg "$@"; bucket=$2; shift 2 ;;
        --backup-bucket) need_arg "$@"; backup_bucket=$2; shift 2 ;;
        --backup-prefix) need_arg "$@"; backup_prefix=$2; shift 2 ;;
        --region) need_arg "$@"; region=$2; shift 2 ;;
        --allowed-hosts) need_arg "$@"; allowed_hosts=$2; shift 2 ;;
        --csrf-origins) need_arg "$@"; csrf_origins=$2; shift 2 ;;
        --secret-key-secret-id) need_arg "$@"; secret_key_secret_id=$2; shift 2 ;;
        --secret-key-file) need_arg "$@"; secret_key_file=$2; shift 2 ;;
        --admin-secret-id) need_arg "$@"; admin_secret_id=$2; shift 2 ;;
        --admin-password-file) need_arg "$@"; admin_password_file=$2; shift 2 ;;
        --database-secret-id) need_arg "$@"; database_secret_id=$2; shift 2 ;;
        --database-secret-file) need_arg "$@"; database_secret_file=$2; shift 2 ;;
        --https) need_arg "$@"; https=$2; shift 2 ;;
        --http-port) need_arg "$@"; http_port=$2; shift 2 ;;
        --trusted-proxy-cidr) need_arg "$@"; trusted_proxies=$2; shift 2 ;;
        --health-timeout) need_arg "$@"; health_timeout=$2; shift 2 ;;
        --reason-file) need_arg "$@"; reason_file=$2; shift 2 ;;
        --no-systemd) no_systemd=1; shift ;;
        --skip-user) skip_user=1; shift ;;
        --no-packages) no_packages=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) printf '%s: unknown argument: %s\n' "$PROG" "$1" >&2; usage >&2; exit 64 ;;
    esac
done

usage_error() { printf '%s: %s\n' "$PROG" "$*" >&2; usage >&2; exit 64; }

[[ $root == /* ]] || usage_error "--root must be an absolute path"
root=$(realpath -m -- "$root")
prefix() { printf '%s%s' "${root%/}" "$1"; }
[[ -n $data_dir ]] || data_dir=$(prefix /data)
[[ $data_dir == /* ]] || usage_error "--data-dir must be an absolute path"
data_dir=$(realpath -m -- "$data_dir")
[[ -n $bucket ]] || usage_error "--bucket is required"
[[ -n $region ]] || usage_error "--region is required"
[[ -n $allowed_hosts ]] || usage_error "--allowed-hosts is required"
[[ -n $secret_key_secret_id || -n $secret_key_file ]] || usage_error "give --secret-key-secret-id or --secret-key-file"
[[ -z $secret_key_secret_id || -z $secret_key_file ]] || usage_error "give only one of --secret-key-secret-id, --secret-key-file"
[[ -z $admin_secret_id || -z $admin_password_file ]] || usage_error "give only one of --admin-secret-id, --admin-password-file"
[[ -z $database_secret_id || -z $database_secret_file ]] || usage_error "give only one of --database-secret-id, --database-secret-file"
ha=0
[[ -z $database_secret_id && -z $database_secret_file ]] || ha=1
[[ $https == 0 || $https == 1 ]] || usage_error "--https must be 0 or 1"
[[ $http_port =~ ^[0-9]+$ ]] || usage_error "--http-port must be a number"
[[ $health_timeout =~ ^[0-9]+$ ]] || usage_error "--health-timeout must be a whole number of seconds"
[[ $trusted_proxies =~ ^[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*$ ]] || usage_error "--trusted-proxy-cidr must be a comma-separated list of CIDRs"
backup_bucket=${backup_bucket:-$bucket}
[[ $backup_prefix == */ ]] || backup_prefix="$backup_prefix/"
if [[ -z $csrf_origins ]]; then
    IFS=, read -r -a _hosts <<<"$allowed_hosts"
    for h in "${_hosts[@]}"; do
        [[ -z $h || $h == .* ]] || csrf_origins+="${csrf_origins:+,}https://$h"
    done
fi
first_host=${allowed_hosts%%,*}
first_host=${first_host#.}

# ---------------------------------------------------------------- paths
release=$(realpath -m -- "$release")
etc_dir=$(prefix /etc/clinic)
env_file=$etc_dir/clinic.env
gunicorn_conf=$etc_dir/gunicorn.conf.py
opt_dir=$(prefix /opt/clinic)
venv=$opt_dir/venv
bin_dir=$opt_dir/bin
static_root=$opt_dir/static
systemd_dir=$(prefix /etc/systemd/system)
nginx_conf=$(prefix /etc/nginx/conf.d/clinic.conf)
logrotate_conf=$(prefix /etc/logrotate.d/clinic)
bootstrap_log=$(prefix /var/log/clinic-bootstrap.log)
socket=$(prefix /run/clinic/gunicorn.sock)
db_dir=$data_dir/db
log_dir=$data_dir/logs
db=$db_dir/clinic.sqlite3
templates=$release/templates

# ---------------------------------------------------------------- logging
mkdir -p -- "$(dirname -- "$bootstrap_log")"
step="start"
log() { printf '%s %s: %s\n' "$(date -u +%FT%TZ)" "$PROG" "$*" | tee -a -- "$bootstrap_log"; }
fail() {
    local reason="$PROG: $step: $*"
    reason=${reason//$'\n'/ }
    printf '%s ERROR %s\n' "$(date -u +%FT%TZ)" "$reason" >>"$bootstrap_log" 2>/dev/null || true
    printf 'ERROR %s\n' "$reason" >&2
    if [[ -n $reason_file ]]; then printf '%s\n' "${reason:0:250}" >"$reason_file" 2>/dev/null || true; fi
    exit 1
}
on_error() { fail "command failed (exit $1, line $2): $3"; }
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

# ---------------------------------------------------------------- preflight
step="preflight"
[[ -f $release/RELEASE && -d $release/wheelhouse && -f $release/requirements.txt ]] ||
    fail "$release is not a release directory (RELEASE, wheelhouse/, requirements.txt)"
release_id=$(head -n 1 -- "$release/RELEASE")
if [[ $root == / && $EUID -ne 0 ]]; then fail "must run as root to install into /"; fi
if [[ -n $reason_file ]]; then rm -f -- "$reason_file"; fi
log "installing release ${release_id:0:12} from $release (root $root, data $data_dir)"

# ---------------------------------------------------------------- 1. packages
step="packages"
if [[ $root == / && $no_packages -eq 0 ]]; then
    # dnf is idempotent: installed packages are left alone.
    dnf install -y -q --setopt=install_weak_deps=False "$python" nginx sqlite logrotate
fi
python_bin=$(command -v -- "$python") || fail "python interpreter not found: $python"

# ---------------------------------------------------------------- 2. user
step="user"
if [[ $skip_user -eq 1 ]]; then
    app_user=$(id -un)
    app_group=$(id -gn)
    as_app() { "$@"; }
else
    app_user=$APP_USER_DEFAULT
    app_group=$APP_USER_DEFAULT
    if ! getent passwd "$app_user" >/dev/null; then
        useradd --system --user-group --home-dir /opt/clinic --no-create-home \
            --shell /sbin/nologin --comment "Clinic web app" "$app_user"
        log "created system user $app_user"
    fi
    as_app() { runuser -u "$app_user" -- "$@"; }
fi
owned() { if [[ $skip_user -eq 0 ]]; then chown "$@"; fi; }

# ---------------------------------------------------------------- 3. directories
step="directories"
install -d -m 0755 -- "$opt_dir" "$bin_dir" "$systemd_dir" "$(dirname -- "$nginx_conf")" "$(dirname -- "$logrotate_conf")"
install -d -m 0750 -- "$etc_dir" "$data_dir/db" "$log_dir" "$db_dir/pre-migrate"
install -d -m 0755 -- "$static_root"
owned "root:$app_group" "$etc_dir"
owned "$app_user:$app_group" "$db_dir" "$log_dir" "$db_dir/pre-migrate" "$static_root"
# --no-systemd (tests): systemd is not there to create RuntimeDirectory=clinic.
if [[ $no_systemd -eq 1 ]]; then install -d -m 0755 -- "$(dirname -- "$socket")"; fi

# Write stdin to DEST (mode MODE, owner OWNER) only if it differs; atomic.
# Sets changed=1 when the file was (re)written.
changed=0
write_file() {
    local dest=$1 mode=$2 owner=$3 tmp
    tmp=$(mktemp -- "$dest.XXXXXX")
    cat >"$tmp"
    chmod "$mode" -- "$tmp"
    owned "$owner" "$tmp"
    if [[ -f $dest ]] && cmp -s -- "$tmp" "$dest" &&
        [[ $(stat -c %a -- "$dest") == "${mode#0}" ]]; then
        rm -f -- "$tmp"
        changed=0
    else
        mv -f -- "$tmp" "$dest"
        changed=1
        log "wrote $dest"
    fi
}

# ---------------------------------------------------------------- 4. venv
step="venv"
want_version=$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
have_version=""
if [[ -x $venv/bin/python ]]; then
    have_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
fi
if [[ $have_version != "$want_version" ]]; then
    log "creating venv $venv (python $want_version${have_version:+, replacing $have_version})"
    rm -rf -- "$venv"
    # No ensurepip: pip itself comes from the wheelhouse, like everything else.
    "$python_bin" -m venv --without-pip -- "$venv"
    pip_wheel=$(find "$release/wheelhouse" -maxdepth 1 -name 'pip-*.whl' | sort | tail -n 1)
    [[ -n $pip_wheel ]] || fail "no pip wheel in $release/wheelhouse"
    "$venv/bin/python" "$pip_wheel/pip" install --quiet --no-index --disable-pip-version-check "$pip_wheel"
    rm -f -- "$venv/.release"
fi
pip_install() {
    PIP_CONFIG_FILE=/dev/null "$venv/bin/python" -m pip install --quiet --no-index --no-input \
        --disable-pip-version-check --no-cache-dir --find-links "$release/wheelhouse" "$@"
}
installed_release=$(cat -- "$venv/.release" 2>/dev/null || true)
app_changed=0
if [[ $installed_release != "$release_id" ]]; then
    log "installing the wheelhouse into $venv (no index)"
    pip_install --requirement "$release/requirements.txt"
    # Same version number, new code (e.g. a redeploy): force the app's own wheel.
    app_wheel=$(find "$release/wheelhouse" -maxdepth 1 -name 'clinic_app-*.whl' | sort | tail -n 1)
    [[ -n $app_wheel ]] || fail "no clinic_app wheel in $release/wheelhouse"
    pip_install --no-deps --force-reinstall "$app_wheel"
    printf '%s\n' "$release_id" >"$venv/.release"
    app_changed=1
else
    log "venv already has release ${release_id:0:12}"
fi
install -m 0755 -- "$release/clinic_dbbackup.py" "$bin_dir/clinic_dbbackup.py"
install -m 0755 -- "$release/healthcheck.sh" "$bin_dir/healthcheck.sh"

# ---------------------------------------------------------------- 5. environment file
step="secrets"
# Values are written single-quoted, which systemd's EnvironmentFile and a shell
# `.` read the same way, provided they hold no quote, backslash, $ or whitespace.
safe_value() { [[ $1 != *[\'\"\\\$\`[:space:]]* ]]; }
fetch_secret() {
    # The venv's boto3 honours AWS_ENDPOINT_URL / AWS_REGION; prints the SecretString
    # (or the "secret_key" / "password" member of a JSON secret), never logs it.
    AWS_REGION=$region AWS_DEFAULT_REGION=$region "$venv/bin/python" - "$1" <<'PY'
import json, sys
import boto3
value = boto3.client("secretsmanager").get_secret_value(SecretId=sys.argv[1]).get("SecretString") or ""
try:
    data = json.loads(value)
except ValueError:
    data = None
if isinstance(data, dict):
    value = str(data.get("secret_key") or data.get("password") or "")
sys.stdout.write(value)
PY
}
if [[ -n $secret_key_file ]]; then
    secret_key=$(<"$secret_key_file") || fail "cannot read $secret_key_file"
else
    secret_key=$(fetch_secret "$secret_key_secret_id" 2>>"$bootstrap_log") ||
        fail "cannot read the Django secret key from Secrets Manager ($secret_key_secret_id): check the instance role and the secretsmanager endpoint"
fi
[[ ${#secret_key} -ge 32 ]] || fail "the Django secret key is shorter than 32 characters"
safe_value "$secret_key" || fail "the Django secret key holds quotes, backslashes, \$ or whitespace: generate it with exclude_punctuation"

database_url=""
if [[ $ha -eq 1 ]]; then
    step="database-secret"
    # Prints postgres://user[:password]@host:port/dbname?sslmode=require from the
    # RDS secret; the password only when it comes from a file (tests).
    database_url=$(AWS_REGION=$region AWS_DEFAULT_REGION=$region "$venv/bin/python" - "$database_secret_id" "$database_secret_file" 2>>"$bootstrap_log" <<'PY'
import json, sys
from urllib.parse import quote
secret_id, secret_file = sys.argv[1], sys.argv[2]
if secret_file:
    data = json.loads(open(secret_file).read())
else:
    import boto3
    data = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
user = quote(data["username"], safe="")
password = ":" + quote(data["password"], safe="") if secret_file else ""
ssl = data.get("sslmode", "require")
sys.stdout.write(f"postgres://{user}{password}@{data['host']}:{int(data['port'])}/{quote(data['dbname'], safe='')}?sslmode={ssl}")
PY
) || fail "cannot read the database secret (${database_secret_id:-$database_secret_file}): check the instance role and the secretsmanager endpoint"
    safe_value "$database_url" || fail "the database URL holds quotes, backslashes, \$ or whitespace"
fi

step="env-file"
for v in "$bucket" "$backup_bucket" "$backup_prefix" "$region" "$allowed_hosts" "$csrf_origins" "$admin_secret_id"; do
    safe_value "$v" || fail "unsafe character in a value for the environment file: $v"
done
env_line() { printf "%s='%s'\n" "$1" "$2"; }
{
    printf '# Written by install_clinic.sh from stack values; re-run the installer instead of editing.\n'
    env_line DJANGO_SETTINGS_MODULE clinic.settings
    env_line DJANGO_SECRET_KEY "$secret_key"
    env_line DJANGO_DEBUG 0
    env_line DJANGO_ALLOWED_HOSTS "$allowed_hosts"
    env_line DJANGO_CSRF_TRUSTED_ORIGINS "$csrf_origins"
    env_line CLINIC_HTTPS "$https"
    env_line CLINIC_DATA_DIR "$data_dir"
    env_line CLINIC_STATIC_ROOT "$static_root"
    env_line CLINIC_PHOTO_BUCKET "$bucket"
    env_line CLINIC_BACKUP_BUCKET "$backup_bucket"
    env_line CLINIC_BACKUP_PREFIX "$backup_prefix"
    env_line CLINIC_ADMIN_SECRET_ID "$admin_secret_id"
    env_line AWS_REGION "$region"
    env_line AWS_DEFAULT_REGION "$region"
    env_line PYTHONDONTWRITEBYTECODE 1
    if [[ $ha -eq 1 ]]; then
        env_line DATABASE_URL "$database_url"
        [[ -z $database_secret_id ]] || env_line CLINIC_DB_SECRET_ID "$database_secret_id"
    fi
} | write_file "$env_file" 0640 "root:$app_group"
env_changed=$changed
unset secret_key database_url

# ---------------------------------------------------------------- manage wrapper
step="manage-wrapper"
write_file "$bin_dir/clinic-manage" 0755 root:root <<EOF
#!/bin/bash
# Django management commands with the app's environment, as the app's user:
#   sudo $bin_dir/clinic-manage <command> [args]
set -euo pipefail
set -a
. $env_file
set +a
cd /
if [[ \$EUID -eq 0 && $skip_user -eq 0 ]]; then
    exec runuser -u $app_user -- $venv/bin/django-admin "\$@"
fi
exec $venv/bin/django-admin "\$@"
EOF
manage() { "$bin_dir/clinic-manage" "$@"; }

# ---------------------------------------------------------------- 6. database
step="pre-migrate-backup"
if [[ $ha -eq 0 && -s $db ]]; then
    as_app "$venv/bin/python" "$bin_dir/clinic_dbbackup.py" snapshot --db "$db" \
        --dest-dir "$db_dir/pre-migrate" --keep 5
fi
step="migrate"
if [[ $ha -eq 1 ]]; then
    manage migrate_locked # once per release across instances (advisory lock)
else
    manage migrate --noinput
fi
step="collectstatic"
manage collectstatic --noinput --verbosity 0
step="first-admin"
if [[ -n $admin_password_file ]]; then
    manage create_first_admin --password-file "$admin_password_file"
elif [[ -n $admin_secret_id ]]; then
    manage create_first_admin --secret-id "$admin_secret_id"
else
    log "no --admin-secret-id: first administrator not created"
fi

# ---------------------------------------------------------------- 7. units and configs
step="configs"
render() {
    sed -e "s|@VENV@|$venv|g" -e "s|@ENV_FILE@|$env_file|g" -e "s|@GUNICORN_CONF@|$gunicorn_conf|g" \
        -e "s|@DATA_DIR@|$data_dir|g" -e "s|@LOG_DIR@|$log_dir|g" -e "s|@DB@|$db|g" \
        -e "s|@STATIC_ROOT@|$static_root|g" -e "s|@SOCKET@|$socket|g" -e "s|@BIN_DIR@|$bin_dir|g" \
        -e "s|@APP_USER@|$app_user|g" -e "s|@APP_GROUP@|$app_group|g" -e "s|@HTTP_PORT@|$http_port|g" \
        -- "$templates/$1"
}
render gunicorn.conf.py | write_file "$gunicorn_conf" 0644 root:root
gunicorn_changed=$changed
units_changed=0
units=(clinic-gunicorn.service)
# Mode ha: no SQLite to back up (RDS point-in-time recovery and AWS Backup).
[[ $ha -eq 1 ]] || units+=(clinic-backup.service clinic-backup.timer)
for unit in "${units[@]}"; do
    render "$unit" | write_file "$systemd_dir/$unit" 0644 root:root
    units_changed=$((units_changed | changed))
done
# One `set_real_ip_from` line per trusted proxy range, in place of the placeholder line.
real_ip_lines=""
IFS=, read -r -a _cidrs <<<"$trusted_proxies"
for c in "${_cidrs[@]}"; do real_ip_lines+="    set_real_ip_from $c;"$'\n'; done
render nginx-clinic.conf | while IFS= read -r line; do
    if [[ $line == *@SET_REAL_IP_FROM@* ]]; then printf '%s' "$real_ip_lines"; else printf '%s\n' "$line"; fi
done | write_file "$nginx_conf" 0644 root:root
nginx_changed=$changed
render logrotate-clinic | write_file "$logrotate_conf" 0644 root:root

# ---------------------------------------------------------------- 8. services
step="services"
if [[ $no_systemd -eq 1 ]]; then
    log "--no-systemd: units written, services not touched"
    log "done: release ${release_id:0:12} installed (services not started)"
    exit 0
fi
if [[ $units_changed -eq 1 ]]; then systemctl daemon-reload; fi
timers=()
[[ $ha -eq 1 ]] || timers=(clinic-backup.timer)
systemctl enable --quiet clinic-gunicorn.service "${timers[@]}" nginx.service
if [[ $((app_changed | env_changed | gunicorn_changed | units_changed)) -eq 1 ]]; then
    log "restarting clinic-gunicorn"
    systemctl restart clinic-gunicorn.service
else
    systemctl start clinic-gunicorn.service
fi
[[ ${#timers[@]} -eq 0 ]] || systemctl start "${timers[@]}"
step="nginx"
nginx -t -q 2>&1 | tee -a -- "$bootstrap_log" >&2
if [[ $nginx_changed -eq 1 ]] && systemctl is-active --quiet nginx.service; then
    systemctl reload nginx.service
else
    systemctl start nginx.service
fi

# ---------------------------------------------------------------- 9. health
step="healthz"
if ! "$bin_dir/healthcheck.sh" --url "http://127.0.0.1:$http_port/healthz" --host "$first_host" \
    --timeout "$health_timeout" 2>>"$bootstrap_log"; then
    journal=$(journalctl -u clinic-gunicorn.service -n 5 --no-pager -o cat 2>/dev/null | tail -n 1 || true)
    fail "/healthz did not answer 200 through nginx within ${health_timeout} s; gunicorn: $(systemctl is-active clinic-gunicorn.service || true) ${journal}"
fi
# ---------------------------------------------------------------- 10. prune
# cfn-init unpacks every release into its own /opt/clinic/releases/<hash>;
# keep the running one and the two newest before it (manual rollback).
releases_dir=$(dirname -- "$release")
if [[ $(basename -- "$releases_dir") == releases ]]; then
    find "$releases_dir" -mindepth 1 -maxdepth 1 -type d ! -path "$release" -printf '%T@ %p\n' |
        sort -rn | tail -n +3 | cut -d' ' -f2- | while IFS= read -r old; do
        rm -rf -- "$old"
        log "pruned old release $old"
    done
fi
log "done: release ${release_id:0:12} installed and healthy"
