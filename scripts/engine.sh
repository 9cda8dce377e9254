#!/usr/bin/env bash
# Make a Docker engine answer, then make sure the base images that the project's Dockerfiles and
# tests name exist. Safe to run anywhere and as often as you like:
# - an engine that already answers (Docker Desktop, a CI runner) is used as it is;
# - otherwise Debian's docker.io is installed when missing and dockerd is started with image pulls
#   pointed at a closed loopback port, so a pull fails at once instead of leaving the machine;
# - a missing base image gets an offline stand-in built from Debian packages, labelled as such.
#   Existing images are never overwritten and no container is touched.
# Set CONTAINERKIT_ALLOW_PULL=1 to pull a missing base image from a registry instead.
set -euo pipefail

readonly ENGINE_WAIT_SECONDS=${CONTAINERKIT_ENGINE_WAIT_SECONDS:-60}
readonly DOCKERD_LOG=${CONTAINERKIT_DOCKERD_LOG:-/var/log/containerkit-dockerd.log}
readonly STAND_IN_LABEL="pytest-containerkit.stand-in=true"
readonly PYTHON_IMAGE="python:3.11-slim"
readonly BUSYBOX_IMAGE="busybox:1.36"

say() { echo "engine.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

engine_answers() { docker info >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "'$*' needs root; run this script as root or install sudo"
  fi
}

apt_install() {
  command -v apt-get >/dev/null || die "no Docker engine answers and there is no apt-get to install one; start Docker yourself"
  say "installing $* from Debian's packages"
  as_root apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

start_engine() {
  command -v dockerd >/dev/null || apt_install docker.io
  say "starting dockerd (pulls disabled), log in $DOCKERD_LOG"
  as_root env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=localhost,127.0.0.1 \
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  local waited=0
  until engine_answers; do
    if [ "$waited" -ge "$((ENGINE_WAIT_SECONDS * 10))" ]; then
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      die "dockerd did not answer within ${ENGINE_WAIT_SECONDS}s (its last log lines are above)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

pull_allowed() { [ "${CONTAINERKIT_ALLOW_PULL:-0}" = 1 ] && docker pull -q "$1" >/dev/null 2>&1; }

build_python_stand_in() {
  command -v mmdebstrap >/dev/null || apt_install mmdebstrap
  say "building offline stand-in $PYTHON_IMAGE from Debian bookworm (about 30 s)"
  mmdebstrap --variant=minbase --include=python3,python3-pip --quiet bookworm - |
    docker import \
      -c 'ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1' \
      -c "LABEL $STAND_IN_LABEL" \
      -c 'CMD ["python3"]' - "$PYTHON_IMAGE" >/dev/null
}

build_busybox_stand_in() {
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || apt_install busybox-static
  say "building offline stand-in $BUSYBOX_IMAGE from Debian's busybox-static"
  local context
  context=$(mktemp -d)
  cp /bin/busybox "$context/busybox"
  printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' \
    'RUN ["/bin/busybox", "--install", "-s", "/bin"]' 'CMD ["sh"]' >"$context/Dockerfile"
  local output
  output=$(DOCKER_BUILDKIT=0 docker build -q --label "$STAND_IN_LABEL" -t "$BUSYBOX_IMAGE" "$context" 2>&1) ||
    die "building $BUSYBOX_IMAGE failed: $output"
  rm -rf "$context"
}

ensure_image() {
  local name=$1 recipe=$2
  image_exists "$name" || pull_allowed "$name" || "$recipe"
}

engine_answers || start_engine
ensure_image "$BUSYBOX_IMAGE" build_busybox_stand_in
ensure_image "$PYTHON_IMAGE" build_python_stand_in
