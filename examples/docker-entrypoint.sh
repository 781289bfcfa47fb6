#!/bin/sh
# The container's entry point: refuse to serve without a mounted vendor registry, then run deskguard.
#
# The image ships no registry (a sample one would verify nobody's real vendors, silently). Mount the
# DIRECTORY that holds your vendors.yml at /etc/deskguard/registry: an editor saves by writing a new
# file and renaming it over the old one, which a single-file bind mount never sees, so the running
# service would never reload.
set -eu
registry=${DESKGUARD_REGISTRY:-/etc/deskguard/registry/vendors.yml}
if [ "${1:-serve}" = serve ] && [ ! -f "$registry" ]; then
    echo "deskguard: no vendor registry at $registry: mount the directory holding your vendors.yml," \
        "e.g. docker run -v \"\$PWD/registry:/etc/deskguard/registry:ro\" ... (or set DESKGUARD_REGISTRY)" >&2
    exit 2
fi
exec deskguard "$@"
