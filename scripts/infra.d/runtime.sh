# shellcheck shell=bash
# The Node.js runtime every script runs on (sourced, never executed).
#
# .node-version pins the release the services, images and tests use. A machine
# whose `node` is that major line at or past the pin keeps its own; any other
# machine gets the pinned release from the npm registry's node-linux-<arch>
# package (checked against the integrity below) in ${PARLEY_CACHE_DIR}/node/
# (as root: /opt/parley/node, or $PARLEY_NODE_DIR), put first on PATH for this
# script and everything it starts. corepack (for pnpm) comes the same way when
# the machine has none.

PARLEY_NODE_VERSION="$(tr -d ' \n' <"$(dirname "${BASH_SOURCE[0]}")/../../.node-version")"
# npm's dist.integrity of node-linux-<arch>@$PARLEY_NODE_VERSION and corepack@0.36.0.
declare -A PARLEY_NODE_INTEGRITY=(
  [x64]='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
  [arm64]='sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw=='
)
PARLEY_COREPACK_VERSION=0.36.0
PARLEY_COREPACK_INTEGRITY='sha512-SiiJsBhZqdBiPHTEl6OT3sASrRrKIcYTQMsVGXx6EE/gM8WFMwYjeIX8Tt8RiU4Iv2J6LbT8KpGfCOsBpRWB/w=='

# True when version $1 (x.y.z) is at least $2.
_parley_version_ge() {
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

# _parley_fetch_npm PACKAGE VERSION INTEGRITY DIR: the package's tarball from
# the registry, checked, unpacked into DIR (its `package/` folder's contents).
_parley_fetch_npm() {
  local name=$1 version=$2 integrity=$3 dir=$4
  local registry="${npm_config_registry:-${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org/}}"
  local tmp
  tmp="$(mktemp -d)"
  echo "parley: fetching $name@$version from the npm registry" >&2
  if ! curl -fsSL --retry 3 -o "$tmp/pkg.tgz" "${registry%/}/$name/-/$name-$version.tgz"; then
    rm -rf "$tmp"
    echo "parley: could not download $name@$version from $registry" >&2
    return 1
  fi
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$tmp/pkg.tgz" | base64 -w0)"
  if [[ $got != "$integrity" ]]; then
    rm -rf "$tmp"
    echo "parley: $name@$version does not match its pinned integrity ($got)" >&2
    return 1
  fi
  mkdir -p "$tmp/out"
  tar -xzf "$tmp/pkg.tgz" -C "$tmp/out"
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$tmp/out/package" "$dir"
  chmod -R a+rX "$dir"
  rm -rf "$tmp"
}

# parley_node_runtime: makes `node` (and corepack) on PATH the pinned line.
parley_node_runtime() {
  # Never wait for an answer: tests run pnpm with a stdin nobody writes to.
  export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
  local cache="${PARLEY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/parley}"
  local want=$PARLEY_NODE_VERSION have
  have="$(node --version 2>/dev/null || true)"
  have=${have#v}
  if [[ -n $have && ${have%%.*} == "${want%%.*}" ]] && _parley_version_ge "$have" "$want"; then
    return 0
  fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *)
      echo "parley: no Node.js $want for $(uname -m); install it and run again" >&2
      return 1
      ;;
  esac
  # As root, where every user can run it: Postgres (as its own user) runs parley-dr's
  # archive and restore commands with this node, and root's home is closed to others.
  local base="$cache/node"
  [[ $(id -u) != 0 ]] || base="${PARLEY_NODE_DIR:-/opt/parley/node}"
  local dir="$base/$want-$arch"
  if [[ ! -x $dir/bin/node ]]; then
    _parley_fetch_npm "node-linux-$arch" "$want" "${PARLEY_NODE_INTEGRITY[$arch]}" "$dir" || return 1
  fi
  # npm and pnpm read their global settings (a registry, a CA file) from <node's prefix>/etc/npmrc:
  # the machine's own apply to this node too.
  if [[ ! -e $dir/etc/npmrc ]]; then
    local machine
    for machine in /usr/etc/npmrc /usr/local/etc/npmrc /etc/npmrc; do
      if [[ -f $machine ]]; then
        mkdir -p "$dir/etc" && ln -s "$machine" "$dir/etc/npmrc"
        break
      fi
    done
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  # The registry's package holds node alone; corepack (and through it pnpm) is fetched beside it.
  if ! command -v corepack >/dev/null 2>&1; then
    local cp="$base/corepack-$PARLEY_COREPACK_VERSION"
    if [[ ! -f $cp/dist/corepack.js ]]; then
      _parley_fetch_npm corepack "$PARLEY_COREPACK_VERSION" "$PARLEY_COREPACK_INTEGRITY" "$cp" || return 1
    fi
    ln -sf "$cp/dist/corepack.js" "$dir/bin/corepack"
    hash -r
  fi
}
