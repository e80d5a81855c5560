#!/usr/bin/env bash
# End-to-end on a real Kubernetes cluster, for machines with Docker (it cannot run on the
# project's CI machines, which have no container engine; keep it correct by review).
# Creates a kind cluster with three zone-labelled workers, builds and loads the image, installs
# MinIO, the chart and a three-zone cluster, then runs a produce/consume smoke test.
#   needs: docker, kind, kubectl, helm
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER="${KIND_CLUSTER:-automq-e2e}"
IMAGE="${IMAGE:-automq-ts:e2e}"

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "kind-e2e: $tool is required" >&2; exit 1; }
done

cfg="$(mktemp)"; trap 'rm -f "$cfg"' EXIT
cat > "$cfg" <<KIND
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
    labels: {topology.kubernetes.io/zone: zone-a}
  - role: worker
    labels: {topology.kubernetes.io/zone: zone-b}
  - role: worker
    labels: {topology.kubernetes.io/zone: zone-c}
KIND
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --config "$cfg" --wait 120s
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

kubectl apply -f examples/minio/minio.yaml
kubectl -n automq rollout status deploy/minio --timeout=180s
kubectl -n automq wait --for=condition=complete job/minio-create-bucket --timeout=180s

kubectl apply --server-side -f crds/
helm upgrade --install automq-operator charts/automq-operator -n automq-system --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never --wait

kubectl apply -f - <<CR
apiVersion: automq.io/v1alpha1
kind: AutoMQCluster
metadata: {name: e2e, namespace: automq}
spec:
  image: $IMAGE
  imagePullPolicy: Never
  replicas: 3
  zones: [{name: zone-a}, {name: zone-b}, {name: zone-c}]
  objectStorage:
    bucket: automq-data
    endpoint: http://minio.automq.svc:9000
    pathStyle: true
    credentials: {secretRef: {name: minio-credentials}}
CR
kubectl -n automq wait --for=condition=Ready automqcluster/e2e --timeout=300s
kubectl -n automq get amq e2e

for z in a b c; do
  zone=$(kubectl -n automq get pods -l automq.io/zone=zone-$z -o jsonpath='{.items[0].spec.nodeName}' | xargs -I{} kubectl get node {} -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/zone}')
  [[ "$zone" == "zone-$z" ]] || { echo "kind-e2e: zone-$z broker runs in $zone" >&2; exit 1; }
done

kubectl apply -f - <<TT
apiVersion: automq.io/v1alpha1
kind: TableTopic
metadata: {name: smoke, namespace: automq}
spec: {clusterRef: {name: e2e}, partitions: 3}
TT
kubectl -n automq wait --for=condition=Ready tabletopic/smoke --timeout=120s

# Produce and consume through the bootstrap Service with a throwaway pod running the same image's Node.
kubectl -n automq run smoke-client --rm -i --restart=Never --image="$IMAGE" --image-pull-policy=Never --command -- node -e '
const { Kafka } = require("kafkajs");
(async () => {
  const kafka = new Kafka({ brokers: ["e2e-bootstrap.automq.svc:9092"] });
  const p = kafka.producer(); await p.connect();
  await p.send({ topic: "smoke", messages: Array.from({ length: 100 }, (_, i) => ({ value: String(i) })) });
  await p.disconnect();
  const c = kafka.consumer({ groupId: "smoke" }); await c.connect();
  await c.subscribe({ topic: "smoke", fromBeginning: true });
  let n = 0;
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("consumed only " + n + " of 100")), 60000);
    c.run({ eachMessage: async () => { if (++n === 100) { clearTimeout(t); resolve(); } } });
  });
  await c.disconnect();
  console.log("smoke test: produced and consumed 100 records");
})().catch((e) => { console.error(e); process.exit(1); });'
echo "kind-e2e: passed (delete with: kind delete cluster --name $CLUSTER)"
