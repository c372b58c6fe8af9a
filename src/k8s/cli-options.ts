// Kept free of heavy imports: `sluice run` parses these flags even in file mode.

/** `sluice run` options of Kubernetes mode, in node:util parseArgs form (merged into run's own). */
export const KUBERNETES_RUN_OPTIONS = {
  kubernetes: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  'lease-name': { type: 'string' },
  'gateway-address-pool': { type: 'string' },
  'service-type': { type: 'string' },
  'service-annotation': { type: 'string', multiple: true },
  'pod-selector': { type: 'string' },
  'host-network': { type: 'boolean' },
} as const;

export const KUBERNETES_RUN_HELP = `
Kubernetes mode (sluice run --kubernetes): serve the Gateways of our GatewayClass from the API
server (in-cluster credentials, or --kubeconfig / $KUBECONFIG), write their status (Lease holder
only) and keep one Service per Gateway.

  --kubernetes                  read Gateway API objects from Kubernetes instead of --config
  --kubeconfig FILE             kubeconfig to use (default: in-cluster, else $KUBECONFIG, ~/.kube/config)
  --namespace NS                namespace of the leader Lease and of Sluice's pods (default $POD_NAMESPACE)
  --lease-name NAME             leader Lease name (default sluice-leader)
  --service-type TYPE           per-Gateway Service: LoadBalancer|NodePort|ClusterIP|None (default LoadBalancer)
  --service-annotation K=V      annotation for every Gateway Service (repeatable)
  --pod-selector K=V[,K=V]      labels of Sluice's pods (default app.kubernetes.io/name=sluice)
  --host-network                pods use the host network: Gateway addresses are their nodes' IPs
  --gateway-address-pool CIDR   give each Gateway without spec.addresses its own address from CIDR
                                (e.g. 127.10.0.0/16), bind its listeners there and report it
`;
