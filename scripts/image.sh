#!/usr/bin/env bash
# `make image`: build Steward's image with buildah on a base made from Debian packages, then start it and
# check it (scripts/image_check.py). No image registry is needed: the base comes from debootstrap (Debian
# bookworm, minimal, python3 3.11 + venv) and is kept as $STEWARD_IMAGE_BASE, reused by the next run.
#
#   scripts/image.sh              build the base if missing, build the image, check it
#   scripts/image.sh --new-base   build the base again first (e.g. for Debian's security updates)
#
# Environment: STEWARD_IMAGE (default localhost/steward:test), STEWARD_IMAGE_BASE (localhost/steward-base:bookworm),
# DEBIAN_MIRROR (http://deb.debian.org/debian), STEWARD_IMAGE_CA (CA bundle handed to pip as a build secret,
# default: the system's), STEWARD_TEST_POSTGRES_ADMIN (PostgreSQL for the check, as the test suite uses).
# Needs root (debootstrap, buildah's chroot isolation); installs buildah and debootstrap with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${STEWARD_IMAGE:-localhost/steward:test}
BASE=${STEWARD_IMAGE_BASE:-localhost/steward-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA=${STEWARD_IMAGE_CA:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}
NEW_BASE=0
[[ "${1:-}" == "--new-base" ]] && NEW_BASE=1

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

if [[ $(id -u) != 0 ]]; then
  echo "make image needs root (debootstrap and buildah's chroot isolation): run it with sudo" >&2
  exit 1
fi

missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if (( ${#missing[@]} )); then
  step "installing ${missing[*]} from Debian's packages"
  if ! command -v apt-get >/dev/null; then
    echo "install ${missing[*]} with your system's package manager, then run make image again" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" debian-archive-keyring >/dev/null
fi

# The base: Debian bookworm's minimal system with python3 (3.11) and its venv module, nothing else.
if (( NEW_BASE )) || ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  step "building the base $BASE with debootstrap from $MIRROR"
  work=$(mktemp -d /var/tmp/steward-base.XXXXXX)
  ctr=""
  cleanup_base() { [[ -n "$ctr" ]] && buildah rm "$ctr" >/dev/null 2>&1; rm -rf "$work"; }
  trap cleanup_base EXIT
  debootstrap --variant=minbase --include=python3,python3-venv bookworm "$work/rootfs" "$MIRROR" \
    > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  chroot "$work/rootfs" apt-get clean
  rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/usr/share/man/* "$work/rootfs/etc/resolv.conf"
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  cp -a "$work/rootfs/." "$mnt/"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd /bin/bash --label org.opencontainers.image.description="Debian bookworm minbase + python3 (debootstrap)" \
    "$ctr"
  buildah commit --quiet --rm "$ctr" "$BASE" >/dev/null
  ctr=""
  cleanup_base
  trap - EXIT
else
  step "reusing the base $BASE (scripts/image.sh --new-base builds it again)"
fi

step "building $IMAGE on $BASE"
previous=$(buildah inspect --type image --format '{{.FromImageID}}' "$IMAGE" 2>/dev/null || true)
secret=()
[[ -s "$CA" ]] && secret=(--secret "id=pip_ca,src=$CA")
# Docker format keeps the HEALTHCHECK (the OCI format has no field for it).
buildah build --isolation chroot --format docker --pull=never "${secret[@]}" \
  --build-arg BASE="$BASE" -t "$IMAGE" .
# The previous build of $IMAGE lost its name: drop it so repeated runs do not pile images up.
if [[ -n "$previous" && "$previous" != "$(buildah inspect --type image --format '{{.FromImageID}}' "$IMAGE")" ]]; then
  buildah rmi "$previous" >/dev/null 2>&1 || true
fi

step "starting $IMAGE and checking it"
python3 scripts/image_check.py "$IMAGE"
step "done"
