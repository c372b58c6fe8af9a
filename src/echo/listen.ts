import type { Server as NetServer } from 'node:net';
import type { Socket as UdpSocket } from 'node:dgram';
import { ListenError } from '../errors.js';
import { parseHostPort } from '../util/hostport.js';
import type { Listen, ListenAddress } from './types.js';

/** Parse "HOST:PORT", "[v6]:PORT" or ":PORT" (every address). */
export function parseListen(value: Listen, flag = 'listen'): ListenAddress {
  return typeof value === 'string' ? parseHostPort(value, flag) : value;
}

/** Bind a TCP server; resolves with the bound host and port. */
export function listenTcp(server: NetServer, addr: ListenAddress): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new ListenError(`cannot listen on ${show(addr)}: ${err.message}`, addr.host ?? '', addr.port, { cause: err }));
    server.once('error', onError);
    server.listen({ host: addr.host, port: addr.port }, () => {
      server.off('error', onError);
      const bound = server.address();
      if (bound === null || typeof bound === 'string') return reject(new ListenError(`no TCP address for ${show(addr)}`, addr.host ?? '', addr.port));
      resolve({ host: bound.address, port: bound.port });
    });
  });
}

/** Bind a UDP socket; resolves with the bound host and port. */
export function bindUdp(socket: UdpSocket, addr: ListenAddress): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new ListenError(`cannot bind UDP ${show(addr)}: ${err.message}`, addr.host ?? '', addr.port, { cause: err }));
    socket.once('error', onError);
    socket.bind({ address: addr.host, port: addr.port }, () => {
      socket.off('error', onError);
      const bound = socket.address();
      resolve({ host: bound.address, port: bound.port });
    });
  });
}

export function show(addr: ListenAddress): string {
  const host = addr.host ?? '';
  return host.includes(':') ? `[${host}]:${addr.port}` : `${host}:${addr.port}`;
}
