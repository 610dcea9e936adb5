#!/usr/bin/env bash
# The metadata tests also run on a real PostgreSQL server, which tests/conftest.py starts
# in a temporary folder (initdb, pg_ctl). Install Debian's server when it is missing and
# we may; otherwise say why those tests will be skipped. Called by `make test`.
set -u
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's PostgreSQL server for the metadata tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
    && exit 0
  echo "Could not install PostgreSQL; the PostgreSQL tests will be skipped." >&2
else
  echo "PostgreSQL is not installed (apt-get install postgresql); its tests will be skipped." >&2
fi
exit 0
