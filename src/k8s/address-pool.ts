import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { UsageError } from '../errors.js';

/**
 * Gives every Gateway its own IPv4 address from a CIDR (e.g. 127.10.0.0/16),
 * for test harnesses where many Gateways listen on port 80 at once on one
 * machine. Every 127.0.0.0/8 address is local on Linux, so listeners can bind
 * them without any interface configuration.
 *
 * Assignment is stable: a Gateway's address is derived from a hash of
 * "namespace/name" (linear probing on collision) and, once given, kept for as
 * long as the Gateway exists. Two controllers that see the same Gateways
 * therefore agree on the addresses, and a Gateway keeps its address when others
 * come and go.
 */
export class GatewayAddressPool {
  readonly cidr: string;
  readonly #base: number;
  readonly #size: number;
  readonly #byGateway = new Map<string, number>();
  readonly #taken = new Set<number>();

  constructor(cidr: string) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
    if (!m || !isIPv4(m[1]!)) throw new UsageError(`--gateway-address-pool: expected an IPv4 CIDR such as 127.10.0.0/16, got "${cidr}"`);
    const bits = Number(m[2]);
    if (bits < 8 || bits > 30) throw new UsageError('--gateway-address-pool: the prefix length must be between /8 and /30');
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    this.#base = (ipToInt(m[1]!) & mask) >>> 0;
    // Skip the network and broadcast addresses.
    this.#size = 2 ** (32 - bits) - 2;
    this.cidr = `${intToIp(this.#base)}/${bits}`;
  }

  get size(): number {
    return this.#size;
  }

  /** The address of a Gateway, assigning one if needed; undefined when the pool is exhausted. */
  addressFor(namespace: string, name: string): string | undefined {
    const key = `${namespace}/${name}`;
    let offset = this.#byGateway.get(key);
    if (offset === undefined) {
      if (this.#taken.size >= this.#size) return undefined;
      offset = hashOffset(key, this.#size);
      while (this.#taken.has(offset)) offset = (offset + 1) % this.#size;
      this.#byGateway.set(key, offset);
      this.#taken.add(offset);
    }
    return intToIp(this.#base + 1 + offset);
  }

  /** Forget Gateways that no longer exist, so their addresses can be reused. */
  retain(gateways: Iterable<{ namespace: string; name: string }>): void {
    const keep = new Set<string>();
    for (const g of gateways) keep.add(`${g.namespace}/${g.name}`);
    for (const [key, offset] of this.#byGateway) {
      if (keep.has(key)) continue;
      this.#byGateway.delete(key);
      this.#taken.delete(offset);
    }
  }
}

function hashOffset(key: string, size: number): number {
  const h = createHash('sha256').update(key).digest();
  return h.readUInt32BE(0) % size;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
