#!/usr/bin/env bash
# Some tests need a program from Debian's packages: chromium (the browser tests drive it
# with Playwright, which may not download a browser of its own here) and PostgreSQL's
# server (tests/conftest.py starts a throwaway cluster). Install PACKAGE when CHECK fails
# and we may; otherwise say why WHAT will be skipped. Always exits 0. Called by `make test`.
#   scripts/ensure-debian-package.sh PACKAGE WHAT CHECK
#   scripts/ensure-debian-package.sh chromium "the browser tests" 'command -v chromium'
set -u
package="$1" what="$2" check="$3"
if bash -c "$check" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's $package for $what..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$package" >/dev/null \
    && exit 0
  echo "Could not install $package; $what will be skipped." >&2
else
  echo "$package is not installed (apt-get install $package); $what will be skipped." >&2
fi
exit 0
