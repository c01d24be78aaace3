#!/usr/bin/env bash
# Deploys one environment: with Helm directly, or by handing the repository
# to Argo CD (AppProject + ApplicationSet for every environment).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/deploy.sh [--env dev|staging|prod] [--via helm|argocd] [-- HELM_ARGS...]
       scripts/deploy.sh [--env ENV] --rollback [REVISION]

  --env ENV    environments/ENV/values.yaml (default: dev), namespace mail-ENV
  --via helm   helm upgrade --install mail-worker charts/mail-worker (default)
  --via argocd kubectl apply -f argocd/mail-worker.yaml: Argo CD creates
               mail-worker-dev, -staging and -prod from your fork
               (set its URL first: scripts/argocd-repo.sh); waits for
               the ones that sync by themselves (dev, staging)
  --rollback   helm rollback to the release's previous revision (or
               REVISION; helm -n mail-ENV history mail-worker lists them),
               then wait as a deploy does. Unlike kubectl argo rollouts undo,
               the release and the cluster then agree on the version.
Extra arguments after -- go to helm, e.g. -- --set-json faults.errorRate=0.5 (--set keeps 0.5 a string,
which the chart's schema refuses).
With --reuse-values the release keeps the values it has (the environment's
file is not applied again over your earlier --set).
With Helm, it waits for every workload, and for a Rollout until it is
Healthy or paused for you (kubectl argo rollouts promote). When the deploy
turns KEDA off, it waits for KEDA's HPA to go and gives the workers the
release's count again (the HPA may scale them out as it goes).
USAGE
}

env=dev
via=helm
rollback=""
extra=()
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --env) env="${2:?--env needs a value}"; shift 2 ;;
    --via) via="${2:?--via needs a value}"; shift 2 ;;
    --rollback)
      rollback=previous
      if [[ "${2:-}" =~ ^[0-9]+$ ]]; then rollback="$2"; shift; fi
      shift
      ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$MAIL_WORKER_ROOT"
[[ -f "environments/$env/values.yaml" ]] || die "no environments/$env/values.yaml (choose dev, staging or prod)"
need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"

# Helm waits for Deployments and StatefulSets, not for an Argo Rollout: wait
# until the Rollouts controller has taken up this release and calls it
# Healthy, or Paused (a canary step or a blue-green preview waiting for
# promotion); Degraded (an aborted or failing release) is an error. Matching
# generations are not enough: the controller also bumps observedGeneration
# when it only patches a condition, with the phase of the old pods. So when
# the pod template changed, wait for the controller to name a new pod hash,
# unless it keeps naming the old one for 10 seconds: then the change left
# the pods as they are (a template written back as the running one, as
# `deploy.sh --rollback` after `kubectl argo rollouts undo` does).
rollout_field() { kubectl -n "$1" get rollout "$2" -o "jsonpath={$3}" 2>/dev/null || true; }

wait_for_rollout() {
  local ns="$1" name="$2" template_before="$3" hash_before="$4" state last="" deadline=$((SECONDS + 600)) same_since=""
  [[ -n "$(rollout_field "$ns" "$name" .metadata.name)" ]] || return 0
  [[ "$(rollout_field "$ns" "$name" .spec.template)" != "$template_before" ]] || hash_before=""
  while :; do
    state="$(rollout_field "$ns" "$name" '.metadata.generation}/{.status.observedGeneration} {.status.currentPodHash} {.status.phase} {.status.message')"
    read -r generations hash phase _ <<<"$state"
    [[ "$state" != "$last" ]] && log "Rollout $name: ${state#* * }"
    last="$state"
    if [[ -n "$hash_before" && "${generations%/*}" == "${generations#*/}" && "$hash" == "$hash_before" ]]; then
      same_since="${same_since:-$SECONDS}"
      if ((SECONDS - same_since >= 10)); then
        log "Rollout $name: the pods already run this template"
        hash_before=""
      fi
    fi
    if [[ "${generations%/*}" == "${generations#*/}" && "$hash" != "$hash_before" ]]; then
      case "$phase" in
        Healthy | Paused) return 0 ;;
        Degraded) die "Rollout $name is Degraded: kubectl argo rollouts -n $ns get rollout $name" ;;
      esac
    fi
    ((SECONDS < deadline)) || die "Rollout $name is still $phase after 10 minutes: kubectl argo rollouts -n $ns get rollout $name"
    sleep 2
  done
}

# KEDA's HPA outlives its ScaledObject by a moment. When a deploy turns KEDA
# off (dev's values, a rollback), Helm sets the workers' replicas first and
# deletes the ScaledObject after; KEDA then puts back the count it found and
# the garbage collector removes the HPA. An HPA sync in between, while jobs
# still wait, scales the workers out again, and nothing is left to scale them
# in. So once that HPA is gone, give the workers the count the release says.
worker_scaledobject() { kubectl -n "$1" get scaledobject mail-worker-worker -o name 2>/dev/null || true; }

settle_workers_after_keda() {
  local ns="$1" manifest want have
  manifest="$(helm get manifest mail-worker -n "$ns")"
  ! grep -q '^kind: ScaledObject$' <<<"$manifest" || return 0
  kubectl -n "$ns" wait scaledobject/mail-worker-worker hpa/keda-hpa-mail-worker-worker --for=delete --timeout=2m >/dev/null
  want="$(awk '/^# Source: /{source = $3} source ~ /worker-deployment.yaml$/ && /^  replicas: /{print $2; exit}' <<<"$manifest")"
  have="$(kubectl -n "$ns" get deployment mail-worker-worker -o jsonpath='{.spec.replicas}')"
  [[ -n "$want" && "$want" != "$have" ]] || return 0
  log "KEDA's HPA scaled the workers to $have as it went: back to the release's $want"
  kubectl -n "$ns" scale deployment mail-worker-worker --replicas "$want"
  kubectl -n "$ns" rollout status deployment mail-worker-worker --timeout 5m
}

case "$via" in
  helm)
    need helm "install Helm 3 or 4: https://helm.sh/docs/intro/install/"
    helm_flags=()
    while IFS= read -r flag; do helm_flags+=("$flag"); done < <(helm_release_flags helm)
    # The environment's file comes first, unless the release's own values are
    # reused: applied again, it would undo what an earlier --set changed.
    values=(-f "environments/$env/values.yaml")
    [[ " ${extra[*]} " == *" --reuse-values "* ]] && values=()
    keda_before="$(worker_scaledobject "mail-$env")"
    template_before="$(rollout_field "mail-$env" mail-worker-web .spec.template)"
    hash_before="$(rollout_field "mail-$env" mail-worker-web .status.currentPodHash)"
    if [[ -n "$rollback" ]]; then
      revision=()
      [[ "$rollback" == previous ]] || revision=("$rollback")
      log "helm rollback mail-worker ${revision[*]:-(previous revision)} in namespace mail-$env"
      helm rollback mail-worker "${revision[@]}" -n "mail-$env" "${helm_flags[@]}"
    else
      log "helm upgrade --install mail-worker ($env) into namespace mail-$env ${helm_flags[*]} ${values[*]} ${extra[*]}"
      helm upgrade --install mail-worker charts/mail-worker -n "mail-$env" --create-namespace \
        "${helm_flags[@]}" "${values[@]}" "${extra[@]}"
    fi
    wait_for_rollout "mail-$env" mail-worker-web "$template_before" "$hash_before"
    [[ -z "$keda_before" ]] || settle_workers_after_keda "mail-$env"
    ;;
  argocd)
    kubectl get namespace argocd >/dev/null 2>&1 || die "Argo CD is not installed: scripts/install-addons.sh"
    log "applying the AppProject and ApplicationSet (repository: $(sed -n 's/.*&repo \([^[:space:]]*\).*/\1/p' argocd/mail-worker.yaml))"
    kubectl apply -n argocd -f argocd/mail-worker.yaml
    kubectl -n argocd wait applicationset/mail-worker --timeout 2m \
      --for 'jsonpath={.status.conditions[?(@.type=="ResourcesUpToDate")].status}=True' >/dev/null ||
      die "the ApplicationSet made no Applications: kubectl -n argocd describe applicationset mail-worker says why"
    mapfile -t automated < <(kubectl -n argocd get applications -l app.kubernetes.io/part-of=mail-worker \
      -o jsonpath='{range .items[?(@.spec.syncPolicy.automated)]}{.metadata.name}{"\n"}{end}')
    log "waiting for the ones that sync by themselves: ${automated[*]}"
    for app in "${automated[@]}"; do
      for condition in '{.status.sync.status}=Synced' '{.status.health.status}=Healthy' '{.status.operationState.phase}=Succeeded'; do
        kubectl -n argocd wait "application/$app" --timeout 10m --for "jsonpath=$condition" >/dev/null ||
          die "$app is not ${condition#*=}: kubectl -n argocd get application $app -o yaml says why (status.conditions, status.operationState)"
      done
    done
    kubectl -n argocd get applications -l app.kubernetes.io/part-of=mail-worker
    log "prod syncs when you say so: argocd app sync mail-worker-prod (or the GUI's Sync)"
    ;;
  *) die "--via must be helm or argocd, not $via" ;;
esac
