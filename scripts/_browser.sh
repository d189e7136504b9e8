# Sourced by scripts/test: the headless browser the page and report tests drive (Debian's
# chromium and its chromedriver). Installed when missing and this user can install Debian
# packages; otherwise the browser tests skip, saying why.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing chromium and chromium-driver (Debian packages) for the browser tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: chromium/chromedriver not found and cannot be installed here: browser tests will skip" >&2
  fi
fi
