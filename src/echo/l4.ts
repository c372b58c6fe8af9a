import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createNetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { formatRemote } from './tls-info.js';
import type { EchoIdentity } from './types.js';

/** The line echo-basic's TCP server greets every connection with. */
export const TCP_WELCOME = 'Gateway API Test TCP Server\n';
/** Go's bufio.Scanner gives up on longer lines, and so do we (the connection closes). */
const MAX_LINE = 64 * 1024;
/** echo-basic's UDP read buffer: longer datagrams are cut to this. */
const UDP_READ_BYTES = 1024;

export interface TcpEchoConfig {
  readonly identity: EchoIdentity;
  /** `tcpport` in TEST answers. */
  tcpPort(): string;
  /** `tlsport` in TEST answers ('' leaves it out). */
  tlsPort(): string;
}

/** Go's tls.VersionName spelling, used by the TCP echo (the HTTP echo says "TLSv1.3"). */
function goVersionName(protocol: string | null): string {
  const m = /^TLSv(\d)\.(\d)$/.exec(protocol ?? '');
  return m ? `TLS ${m[1]}.${m[2]}` : (protocol ?? '');
}

/** The TEST payload: pod context, ports, and TLS details on a TLS connection. */
function testPayload(cfg: TcpEchoConfig, socket: Socket, tls: boolean): string {
  const id = cfg.identity;
  const out: Record<string, unknown> = {
    namespace: id.namespace,
    ingress: id.ingress,
    service: id.service,
    pod: id.pod,
    tcpport: cfg.tcpPort(),
  };
  const tlsPort = cfg.tlsPort();
  if (tlsPort !== '') out.tlsport = tlsPort;
  out.isTLS = tls;
  if (tls) {
    const s = socket as TLSSocket;
    const details: Record<string, unknown> = {
      version: goVersionName(s.getProtocol()),
      serverName: typeof s.servername === 'string' ? s.servername : '',
    };
    if (typeof s.alpnProtocol === 'string' && s.alpnProtocol !== '') details.negotiatedProtocol = s.alpnProtocol;
    // `curves` is left out: Node does not tell a TLS server which group was negotiated.
    details.cipherSuite = s.getCipher()?.standardName ?? '';
    out.tls = details;
  }
  return JSON.stringify(out);
}

/**
 * One TCP echo connection: greet, then answer lines. TEST -> the JSON
 * payload, IS_TLS -> true/false, PING -> PONG; other lines are ignored.
 */
export function serveTcpConnection(cfg: TcpEchoConfig, socket: Socket, tls: boolean): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.write(TCP_WELCOME);
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      let line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === 'TEST') socket.write(testPayload(cfg, socket, tls) + '\n');
      else if (line === 'IS_TLS') socket.write(`${tls}\n`);
      else if (line === 'PING') socket.write('PONG\n');
    }
    if (pending.length > MAX_LINE) socket.destroy();
  });
  socket.on('end', () => socket.end());
}

export function createTcpEchoServer(cfg: TcpEchoConfig, track: (s: Socket) => void) {
  return createNetServer((socket) => {
    track(socket);
    serveTcpConnection(cfg, socket, false);
  });
}

export function createTcpTlsEchoServer(cfg: TcpEchoConfig, cert: string | Buffer, key: string | Buffer, track: (s: Socket) => void) {
  const server = createTlsServer({ cert, key, minVersion: 'TLSv1.2' }, (socket) => serveTcpConnection(cfg, socket, true));
  server.on('connection', track);
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  return server;
}

/**
 * UDP echo: every datagram (up to 1024 bytes read) is answered to its sender
 * with {request, namespace, ingress, service, pod}.
 */
export function attachUdpEcho(socket: UdpSocket, identity: EchoIdentity, log: ((line: string) => void) | null): void {
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const request = msg.subarray(0, UDP_READ_BYTES).toString('utf8');
    log?.(`Received UDP ${request} from ${formatRemote(rinfo.address, rinfo.port)}`);
    const reply = JSON.stringify({ request, namespace: identity.namespace, ingress: identity.ingress, service: identity.service, pod: identity.pod });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  socket.on('error', () => undefined);
}

/** A UDP socket of the family `host` needs; every address means dual-stack "::". */
export function createUdpSocket(host: string | undefined): UdpSocket {
  return createSocket({ type: host !== undefined && !host.includes(':') ? 'udp4' : 'udp6', reuseAddr: false });
}
