#!/usr/bin/env bash
# The browser tests drive Debian's chromium with Playwright (a Playwright browser
# download is not possible here). Install it when missing and we may; otherwise say
# why the browser tests will be skipped. Called by `make test`.
set -u
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    && exit 0
  echo "Could not install chromium; the browser tests will be skipped." >&2
else
  echo "chromium is not installed (apt-get install chromium); the browser tests will be skipped." >&2
fi
exit 0
