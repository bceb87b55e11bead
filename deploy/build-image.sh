#!/usr/bin/env bash
# Build the acx image (deploy/Dockerfile) with podman or docker, whichever is there.
#
#   deploy/build-image.sh [-t NAME:TAG] [--local-base]
#
# Default: the Dockerfile's public base images (python:3.11-slim-bookworm, the uv image).
# --local-base: no registry needed. Debian bookworm is made here with debootstrap (cached under
# .data/image-base, so only the first build pays for it), imported as the base image, and uv comes
# from PyPI. Needs root (debootstrap) the first time.
#
# Without --local-base, when the uv image cannot be pulled, uv comes from PyPI instead (UV_SOURCE=pypi).
#
# Environment: CONTAINER_ENGINE (podman|docker), BASE_IMAGE / UV_IMAGE / UV_SOURCE (the Dockerfile's
# build arguments, e.g. a mirror's images), DEBIAN_MIRROR (debootstrap's mirror; default: the one apt
# uses here, else debootstrap's own), PODMAN_ISOLATION (default chroot: builds inside containers and
# CI sandboxes, where the OCI runtime cannot set up namespaces), SSL_CERT_FILE (a CA bundle for a
# TLS-intercepting proxy; passed as the `ca-bundle` build secret, never stored in the image).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="acx:dev"
local_base=false
while [ $# -gt 0 ]; do
    case "$1" in
        -t) tag="$2"; shift 2 ;;
        --local-base) local_base=true; shift ;;
        *) echo "usage: $0 [-t NAME:TAG] [--local-base]" >&2; exit 2 ;;
    esac
done

engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
    if command -v podman >/dev/null 2>&1; then
        engine=podman
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        engine=docker
    else
        echo "error: neither podman nor a running docker engine (Debian: apt-get install podman)" >&2
        exit 1
    fi
fi

# What debootstrap installs; the cache key covers it, so changing the list makes a new base.
debian_suite=bookworm
debian_include="python3,python3-venv,ca-certificates"
base_key="$(printf '%s %s v1' "$debian_suite" "$debian_include" | sha256sum | cut -c1-12)"
base_image="localhost/acx-base:${debian_suite}-${base_key}"
cache_dir="$repo/.data/image-base"
cache_tar="$cache_dir/${debian_suite}-${base_key}.tar"

image_exists() {
    if [ "$engine" = podman ]; then podman image exists "$1"; else docker image inspect "$1" >/dev/null 2>&1; fi
}

apt_mirror() {
    # The first deb822 URI apt is configured with (the same mirror apt-get uses on this machine).
    local sources=/etc/apt/sources.list.d/debian.sources
    [ -r "$sources" ] && awk '/^URIs:/ { print $2; exit }' "$sources"
}

make_base_tarball() {
    command -v debootstrap >/dev/null 2>&1 || { echo "error: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
    local rootfs="$cache_dir/rootfs.tmp" mirror="${DEBIAN_MIRROR:-$(apt_mirror || true)}"
    rm -rf "$rootfs" && mkdir -p "$rootfs"
    echo "build-image: debootstrap $debian_suite ($debian_include) into $rootfs"
    # shellcheck disable=SC2086  # an empty mirror means debootstrap's default
    debootstrap --variant=minbase --include="$debian_include" "$debian_suite" "$rootfs" $mirror >"$cache_dir/debootstrap.log" 2>&1 \
        || { tail -20 "$cache_dir/debootstrap.log" >&2; exit 1; }
    # Package caches and lists are of no use in an image; docs go too, copyright files stay.
    rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    tar -C "$rootfs" --numeric-owner -cf "$cache_tar.tmp" . && mv "$cache_tar.tmp" "$cache_tar"
    rm -rf "$rootfs"
}

build_args=()
if $local_base; then
    if ! image_exists "$base_image"; then
        mkdir -p "$cache_dir"
        [ -s "$cache_tar" ] || make_base_tarball
        echo "build-image: importing $cache_tar as $base_image"
        # The same PATH the public python image sets: the Dockerfile extends it.
        "$engine" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["python3"]' "$cache_tar" "$base_image" >/dev/null
    fi
    build_args+=(--build-arg "BASE_IMAGE=$base_image" --build-arg UV_SOURCE=pypi)
else
    [ -n "${BASE_IMAGE:-}" ] && build_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
    [ -n "${UV_IMAGE:-}" ] && build_args+=(--build-arg "UV_IMAGE=$UV_IMAGE")
    uv_source="${UV_SOURCE:-}"
    if [ -z "$uv_source" ]; then
        uv_version="$(awk -F= '/^ARG UV_VERSION=/ { print $2; exit }' "$repo/deploy/Dockerfile")"
        uv_image="${UV_IMAGE:-ghcr.io/astral-sh/uv:$uv_version}"
        if image_exists "$uv_image" || timeout 120 "$engine" pull -q "$uv_image" >/dev/null 2>&1; then
            uv_source=image
        else
            echo "build-image: cannot pull $uv_image; installing uv $uv_version from PyPI instead"
            uv_source=pypi
        fi
    fi
    build_args+=(--build-arg "UV_SOURCE=$uv_source")
fi
if [ -n "${SSL_CERT_FILE:-}" ] && [ -s "$SSL_CERT_FILE" ]; then
    build_args+=(--secret "id=ca-bundle,src=$SSL_CERT_FILE")
fi

cd "$repo"
started=$SECONDS
if [ "$engine" = podman ]; then
    podman build --isolation="${PODMAN_ISOLATION:-chroot}" --ignorefile deploy/Dockerfile.dockerignore \
        -f deploy/Dockerfile "${build_args[@]}" -t "$tag" .
else
    DOCKER_BUILDKIT=1 docker build -f deploy/Dockerfile "${build_args[@]}" -t "$tag" .
fi
echo "build-image: built $tag with $engine in $((SECONDS - started)) s"
