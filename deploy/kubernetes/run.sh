#!/bin/sh
# One benchmark from n pods, one verdict: ./run.sh [start delay in seconds, default 60]
# Before: the image (Dockerfile), `kubectl apply -f results-pvc.yaml`, and the run's files:
#   kubectl create configmap idtool-bench --from-file=scenario.yaml --from-file=clouds.yaml
#   kubectl create secret generic idtool-bench --from-file=secure.yaml --from-file=pool.jsonl
# Exits 0 when the gate passes, 1 when it fails (or a shard, or the merge, does).
set -eu
cd "$(dirname "$0")"
delay=${1:-60}

# wait_job NAME SECONDS: prints Complete or Failed (Failed after SECONDS)
wait_job() {
  end=$(( $(date +%s) + $2 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    state=$(kubectl get job "$1" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
    case "$state" in
      *Failed*) echo Failed; return ;;
      *Complete*) echo Complete; return ;;
    esac
    sleep 5
  done
  echo Failed
}

# one start time for every shard, far enough ahead for every pod to be scheduled and warmed up
start_at=$(( ($(date +%s) + delay) * 1000 ))
kubectl delete job idtool-bench idtool-verdict --ignore-not-found
kubectl create configmap idtool-bench-run --from-literal=start-at="$start_at" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f bench-job.yaml
if [ "$(wait_job idtool-bench 7200)" != Complete ]; then
  echo "a shard failed: kubectl logs -l app.kubernetes.io/name=idtool-bench" >&2
  exit 1
fi
kubectl apply -f verdict-job.yaml
verdict=$(wait_job idtool-verdict 600)
kubectl logs job/idtool-verdict
[ "$verdict" = Complete ]
