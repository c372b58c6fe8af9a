import { ListenError } from '../errors.js';

/** Errors that mean "this host has no IPv6": fall back to 0.0.0.0 for the all-addresses bind. */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EINVAL', 'EPROTONOSUPPORT']);

/**
 * Bind with the data plane's address rules: '' means every address ('::'
 * dual-stack, or 0.0.0.0 without IPv6). `bindOn` binds one host and resolves
 * once bound. Rejects with a ListenError.
 */
export async function bindAll(address: string, port: number, bindOn: (host: string) => Promise<void>): Promise<string> {
  if (address !== '') {
    try {
      await bindOn(address);
      return address;
    } catch (err) {
      throw listenError(address, port, err);
    }
  }
  try {
    await bindOn('::');
    return '::';
  } catch (err) {
    if (!NO_IPV6.has((err as NodeJS.ErrnoException).code ?? '')) throw listenError(address, port, err);
  }
  try {
    await bindOn('0.0.0.0');
    return '0.0.0.0';
  } catch (err) {
    throw listenError(address, port, err);
  }
}

function listenError(address: string, port: number, err: unknown): ListenError {
  const code = (err as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  const shown = address === '' ? `*:${port}` : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const why: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address not available on this host',
    EACCES: 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)',
  };
  return new ListenError(`cannot bind ${shown}: ${why[code] ?? (err as Error).message} (${code})`, address, port, { cause: err });
}
