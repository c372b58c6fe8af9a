/**
 * Status as translate() computes it: the `status` stanza for every object it
 * owns, in Kubernetes shape, without lastTransitionTime (the status publisher
 * adds it, keeping the previous time when a condition did not change).
 */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
}

export interface ObjectStatus {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly generation?: number;
  /** The object's full `.status`, e.g. { conditions, listeners, addresses } or { parents: [...] }. */
  readonly status: Record<string, unknown>;
}

/** A problem worth telling the user about that the spec has no condition for (e.g. an HTTP->HTTPS redirect loop). */
export interface Diagnostic {
  readonly severity: 'warning' | 'error';
  readonly object: { readonly kind: string; readonly namespace: string; readonly name: string };
  readonly field?: string;
  readonly code: string;
  readonly message: string;
}

export interface TranslateOptions {
  readonly controllerName: string;
  /** Addresses to report in Gateway status.addresses when spec.addresses is empty (from the environment, not the clock). */
  readonly defaultAddresses?: (gateway: { namespace: string; name: string }) => readonly { type: string; value: string }[];
  /**
   * The IP to bind a Gateway's listeners on when its spec.addresses is empty
   * (PortIR.address), e.g. one loopback address per Gateway from
   * `--gateway-address-pool`. Undefined (or no callback) keeps the default: all addresses.
   */
  readonly gatewayAddress?: (gateway: { namespace: string; name: string }) => string | undefined;
  /**
   * Attach GRPCRoutes to HTTP/HTTPS listeners (they then list GRPCRoute in
   * supportedKinds). Needs a data plane that accepts HTTP/2 from clients;
   * while false (the default), GRPCRoutes get Accepted=False/NotAllowedByListeners.
   */
  readonly grpcRoutes?: boolean;
}

export interface TranslateResult {
  readonly table: import('./ir.js').RouteTable;
  readonly statuses: readonly ObjectStatus[];
  readonly diagnostics: readonly Diagnostic[];
}
