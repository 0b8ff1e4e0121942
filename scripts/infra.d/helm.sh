# shellcheck shell=bash
# helm v3, built from source with the local Go toolchain (no binary downloads here).

HELM_VERSION="v3.16.4"

go_bin() {
  command -v go 2>/dev/null && return
  [[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go
}

# Prints the path of an existing helm (PATH first, then GOPATH/bin); status 1 if none.
helm_path() {
  local go gopath
  command -v helm 2>/dev/null && return
  go=$(go_bin) || return 1
  gopath=$("$go" env GOPATH 2>/dev/null) || return 1
  [[ -x $gopath/bin/helm ]] && echo "$gopath/bin/helm"
}

# Builds helm when missing (takes minutes); prints its path.
helm_install() {
  local go path
  if path=$(helm_path); then echo "$path"; return; fi
  go=$(go_bin) || die "helm is missing and Go is not installed to build it"
  log "building helm $HELM_VERSION with $("$go" version | cut -d' ' -f3) (several minutes)..."
  # -X sets what `helm version` prints; go install alone would say "v3.16".
  GOFLAGS=-buildvcs=false CGO_ENABLED=0 "$go" install \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2 || die "go install helm $HELM_VERSION failed"
  echo "$("$go" env GOPATH)/bin/helm"
}
