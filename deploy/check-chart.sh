#!/usr/bin/env bash
# Checks the Helm chart in deploy/jobboard offline: `helm lint`, then every manifest
# `helm template` renders (default values, and every optional object switched on) validated
# strictly by kubeconform against the Kubernetes JSON schemas of the oldest and the newest
# Kubernetes version checked (ServiceMonitor against deploy/schemas/, our own subset: the
# CRD has no schema to fetch offline).
#
# Tools install on first use into bin/tools/ (git-ignored; the version in each name, so a new
# pin reinstalls): helm and kubeconform with `go install`, the schemas from PyPI's kubernetes-validate package
# (`pip download`; kubeconform would fetch its schemas from GitHub). Later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.19.5
KUBECONFORM_VERSION=v0.7.0
KUBERNETES_VALIDATE_VERSION=1.37.0
# The chart's kubeVersion floor (Chart.yaml) and the newest schemas of the package.
KUBE_VERSIONS=(1.30.0 1.37.0)

TOOLS=$PWD/bin/tools
HELM=$TOOLS/helm-$HELM_VERSION
KUBECONFORM=$TOOLS/kubeconform-$KUBECONFORM_VERSION
SCHEMAS=$TOOLS/kubernetes-json-schema-$KUBERNETES_VALIDATE_VERSION
say() { echo "chart: $*" >&2; }

install_go_tool() { # PACKAGE VERSION DEST
  [ -x "$3" ] && return
  say "go install $1@$2"
  local tmp; tmp=$(mktemp -d)
  GOBIN=$tmp go install "$1@$2"
  mkdir -p "$(dirname "$3")"; mv "$tmp/$(basename "$1")" "$3"; rmdir "$tmp"
}

install_schemas() {
  [ -f "$SCHEMAS/.complete" ] && return
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || {
    say "apt-get install python3-pip (for pip download)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
  }
  local dl; dl=$(mktemp -d)
  say "pip download kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (its JSON schemas)"
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$dl" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  rm -rf "$SCHEMAS"
  # The wheel's schemas refer to their definitions as https://kubernetes.io/api/_definitions.json
  # (their $id): dropping the $id and making the reference relative lets kubeconform resolve
  # it next to the file instead of on the internet.
  python3 - "$dl"/kubernetes_validate-*.whl "$SCHEMAS" "${KUBE_VERSIONS[@]}" <<'PY'
import json, os, sys, zipfile
wheel, out, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
dirs = {f"v{v}-local-strict" for v in versions}
prefix = "kubernetes_validate/kubernetes-json-schema/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        rel = name[len(prefix):] if name.startswith(prefix) else ""
        if not rel.endswith(".json") or rel.split("/")[0] not in dirs:
            continue
        schema = json.loads(z.read(name))
        schema.pop("$id", None)
        os.makedirs(os.path.join(out, os.path.dirname(rel)), exist_ok=True)
        with open(os.path.join(out, rel), "w") as f:
            f.write(json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#'))
for d in dirs:
    if not os.path.isfile(os.path.join(out, d, "deployment-apps-v1.json")):
        sys.exit(f"kubernetes-validate has no schemas {d}")
PY
  rm -rf "$dl"
  touch "$SCHEMAS/.complete"
}

install_go_tool helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$HELM"
install_go_tool github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" "$KUBECONFORM"
install_schemas
# The Go test of the chart (cmd/jobboard) runs this helm.
ln -sfn "helm-$HELM_VERSION" "$TOOLS/helm"

"$HELM" lint --strict deploy/jobboard
for v in "${KUBE_VERSIONS[@]}"; do
  for values in "" "--set metrics.serviceMonitor.enabled=true --set roles.scheduler.replicas=2"; do
    # shellcheck disable=SC2086 # values are words
    "$HELM" template jobboard deploy/jobboard --kube-version "$v" $values |
      "$KUBECONFORM" -strict -summary -kubernetes-version "$v" \
        -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        -schema-location "deploy/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" -
  done
done
