#!/bin/sh
# Installs Debian's headless-capable Chromium for the HTML report tests
# (tests/test_renderers_html_*.py).
# Does nothing when /usr/bin/chromium already exists; without root it only says what to run,
# and the browser tests then skip with that same message.
set -eu

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install-browser: /usr/bin/chromium is missing and this is not root;" \
         "run 'sudo apt-get install -y chromium' for the browser tests" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get here; install Chromium by hand for the browser tests" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
