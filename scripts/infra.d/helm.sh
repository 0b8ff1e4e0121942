# shellcheck shell=bash
# The deploy and fault-injection tests' tools, built from source with the local Go
# toolchain (no binary downloads here) into $CACHE_DIR/tools/bin, once:
#   helm (templates, lint), kustomize (the k8s/ overlays), adapter-check
#   (the prometheus-adapter rules against prometheus-adapter's own loader), compose-check
#   (docker-compose.yml against the Compose Specification's own loader),
#   toxiproxy-server (network faults between the services and their dependencies).

HELM_VERSION="v3.22.0"
# What `helm template` assumes the cluster runs (helm's own build sets it the same way).
HELM_KUBE_MINOR="33"
KUSTOMIZE_VERSION="v5.7.1"
TOXIPROXY_VERSION="v2.12.0"
TOOLS_BIN="$CACHE_DIR/tools/bin"

go_bin() {
  command -v go 2>/dev/null && return
  [[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go
}

# Builds TOOL with `go install` into $TOOLS_BIN unless a build of this version is there.
# Usage: go_tool NAME VERSION PACKAGE [LDFLAGS] (run from DIR with GO_TOOL_DIR=DIR;
# GO_TOOL_BUILT=X when the package's binary is called X rather than NAME)
go_tool() {
  local name=$1 version=$2 package=$3 ldflags=${4:-} go stamp="$TOOLS_BIN/.$1.version"
  if [[ -x $TOOLS_BIN/$name && $(cat "$stamp" 2>/dev/null) == "$version" ]]; then
    echo "$TOOLS_BIN/$name"
    return
  fi
  go=$(go_bin) || die "$name is missing and Go is not installed to build it"
  mkdir -p "$TOOLS_BIN"
  log "building $name $version with $("$go" version | cut -d' ' -f3) (minutes, once)..."
  (
    [[ -n ${GO_TOOL_DIR:-} ]] && cd "$GO_TOOL_DIR"
    GOBIN="$TOOLS_BIN" GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTOOLCHAIN=local \
      "$go" install -ldflags "-s -w $ldflags" "$package" >&2
  ) || die "go install $name $version failed"
  [[ -z ${GO_TOOL_BUILT:-} ]] || mv -f "$TOOLS_BIN/$GO_TOOL_BUILT" "$TOOLS_BIN/$name"
  echo "$version" >"$stamp"
  echo "$TOOLS_BIN/$name"
}

helm_install() {
  go_tool helm "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_KUBE_MINOR"
}

kustomize_install() {
  go_tool kustomize "$KUSTOMIZE_VERSION" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

# compose-check is ours (deploy/tools/compose-check); its go.sum pins compose-go.
compose_check_install() {
  local dir="$REPO_ROOT/deploy/tools/compose-check"
  GO_TOOL_DIR="$dir" go_tool compose-check "$(sha256sum "$dir/go.sum" "$dir/main.go" | sha256sum | cut -c1-12)" .
}

# adapter-check is ours (deploy/tools/adapter-check): the chart's
# prometheus-adapter rules loaded and compiled by prometheus-adapter's own code.
adapter_check_install() {
  local dir="$REPO_ROOT/deploy/tools/adapter-check"
  GO_TOOL_DIR="$dir" go_tool adapter-check "$(sha256sum "$dir/go.sum" "$dir/main.go" | sha256sum | cut -c1-12)" .
}

# Toxiproxy (the fault-injection tests' TCP proxy, driven over its HTTP API).
toxiproxy_install() {
  GO_TOOL_BUILT=server go_tool toxiproxy-server "$TOXIPROXY_VERSION" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
}

# Every deploy and fault-injection tool; prints `export PARLEY_HELM=...` lines for the tests.
deploy_tools_install() {
  echo "export PARLEY_HELM=$(helm_install)"
  echo "export PARLEY_TOXIPROXY=$(toxiproxy_install)"
  echo "export PARLEY_KUSTOMIZE=$(kustomize_install)"
  echo "export PARLEY_COMPOSE_CHECK=$(compose_check_install)"
  echo "export PARLEY_ADAPTER_CHECK=$(adapter_check_install)"
}
