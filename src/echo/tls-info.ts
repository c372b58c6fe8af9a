import type { TLSSocket } from 'node:tls';

/** echo-basic's `tls` object for HTTP responses (field order as upstream's JSON). */
export interface TlsAssertions {
  version: string;
  peerCertificates?: string[];
  serverName: string;
  negotiatedProtocol?: string;
  cipherSuite: string;
}

/**
 * Describe a TLS connection as echo-basic does. Only the peer's leaf
 * certificate is reported: Node does not expose the exact chain the client
 * sent, and the suite compares the leaf.
 */
export function tlsAssertions(socket: TLSSocket): TlsAssertions {
  const out: TlsAssertions = { version: socket.getProtocol() ?? '', serverName: '', cipherSuite: '' };
  const peer = socket.getPeerX509Certificate();
  if (peer !== undefined) out.peerCertificates = [peer.toString()];
  // servername is false when the client sent no SNI.
  out.serverName = typeof socket.servername === 'string' ? socket.servername : '';
  if (typeof socket.alpnProtocol === 'string' && socket.alpnProtocol !== '') out.negotiatedProtocol = socket.alpnProtocol;
  out.cipherSuite = socket.getCipher()?.standardName ?? '';
  return out;
}

/** "127.0.0.1:5000" / "[::1]:5000", like Go's Request.RemoteAddr. */
export function formatRemote(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '';
  const host = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}
