import type { SecureContext } from 'node:tls';
import type { EndpointIR, RouteRef } from '../../translate/ir.js';
import type { SmoothWeighted } from '../balancer.js';
import type { HostIndex } from '../hostindex.js';
import type { L4Connector } from './connector.js';
import type { SpliceEngine } from '../../native/splice.js';

/** Tunables of the L4 data plane (TLS passthrough/terminate, TCP, UDP). */
export interface L4Options {
  /**
   * Kernel splicing of raw TCP pairs (TLS passthrough, TCPRoute). When absent
   * or not enabled, connections are piped in userspace. The ClientHello is
   * peeked (not consumed) while splicing is enabled.
   */
  readonly splice?: SpliceEngine;
  /** Replaces how connected pairs are relayed (tests, experiments). Takes precedence over `splice`. */
  readonly connector?: L4Connector;
  /** How long a client has to send its complete ClientHello. Default 10 s. */
  readonly helloTimeoutMs?: number;
  /** Largest ClientHello read for SNI. Default 16 KiB. */
  readonly helloMaxBytes?: number;
  /** Backend connect timeout (per attempt). Default 10 s. */
  readonly connectTimeoutMs?: number;
  /**
   * A TCP connection (TCPRoute, TLS passthrough or terminate) relayed in
   * userspace with no byte either way for this long is closed (both sides,
   * access log reason `idle_timeout`). Default 1 hour (Envoy's tcp_proxy
   * default); 0 disables it. Connections spliced in the kernel are not timed:
   * Node sees none of their bytes.
   */
  readonly tcpIdleTimeoutMs?: number;
  /** A UDP flow with no datagram either way for this long is closed. Default 60 s. */
  readonly udpIdleTimeoutMs?: number;
  /** Most UDP flows per port; the least recently active is evicted beyond. Default 16384. */
  readonly udpMaxFlows?: number;
}

/** How a listener of an L4-served port handles a connection. */
export type L4Mode = 'tcp' | 'passthrough' | 'terminate' | 'https' | 'udp';

export interface L4Backend {
  readonly cluster: L4Cluster | undefined;
  /** Why this backend cannot take connections (IR `invalid`, or an unknown cluster). */
  readonly invalid: string | undefined;
}

/** Endpoints of one cluster, picked round-robin. */
export class L4Cluster {
  #cursor = 0;

  constructor(readonly id: string, readonly endpoints: readonly EndpointIR[]) {}

  /** Next endpoint, skipping the ones in `avoid` while others remain. */
  pick(avoid?: ReadonlySet<EndpointIR>): EndpointIR | undefined {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    for (let k = 0; k < n; k++) {
      const ep = eps[this.#cursor++ % n];
      if (this.#cursor > 0x3fffffff) this.#cursor = 0;
      if (avoid === undefined || !avoid.has(ep)) return ep;
    }
    return undefined;
  }
}

export interface L4Route {
  readonly ref: RouteRef;
  /** "namespace/name/ruleIndex", as in access logs of HTTP routes. */
  readonly name: string;
  readonly backends: SmoothWeighted<L4Backend>;
  /** Backends in the IR, weight 0 included. */
  readonly backendCount: number;
}

export interface L4TerminateCert {
  readonly context: SecureContext;
  /** Host names the certificate covers, for choosing among several. */
  covers(servername: string): boolean;
}

export interface L4Listener {
  readonly id: string;
  readonly hostname: string | undefined;
  readonly mode: L4Mode;
  /** tcp/udp: the route that takes every connection (the oldest one). */
  readonly route: L4Route | undefined;
  /** passthrough/terminate: routes by SNI (exact, then longest wildcard, then any). */
  readonly routes: HostIndex<L4Route> | undefined;
  /** terminate: certificates in listener order. */
  readonly certs: readonly L4TerminateCert[];
}

/** One L4-served address:port, compiled for the hot path. */
export interface CompiledL4Port {
  /** "address|port" (TCP-based) or "address|port|udp". */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly transport: 'tcp' | 'udp';
  /** Listeners are told apart by SNI: read the ClientHello first. */
  readonly needsHello: boolean;
  /** By SNI (needsHello), else undefined. */
  readonly listeners: HostIndex<L4Listener>;
  /** The only listener when the port has one and needs no SNI. */
  readonly single: L4Listener | undefined;
  readonly listenerIds: readonly string[];
  /** Some listener is HTTPS: the port also fronts an HTTPS server. */
  readonly fronts: boolean;
}
