import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIO } from './main.js';
import { InputError, UsageError } from '../errors.js';
import { startEcho } from '../echo/index.js';
import { parseListen } from '../echo/listen.js';
import type { EchoOptions, EchoTlsOptions, ListenAddress } from '../echo/types.js';

const HELP = `Usage: sluice echo --listen HOST:PORT [--name NAME] [--namespace NS] [--tls-cert F --tls-key F]

An echo backend for demos, tests, benchmarks and the conformance harness. It
answers every request with JSON describing it (path, host, method, proto,
headers, namespace, pod, httpPort, tls), like the Gateway API conformance
image echo-basic, and serves until SIGTERM or SIGINT.

Listeners (HOST:PORT, [IPv6]:PORT, or :PORT for every address):
  --listen HOST:PORT        HTTP/1.1; HTTPS (h2 + http/1.1) when --tls-cert is given without --https-listen
  --https-listen HOST:PORT  HTTPS, HTTP/2 and HTTP/1.1 by ALPN (gRPC too); needs --tls-cert/--tls-key
  --h2c-listen HOST:PORT    HTTP/2 cleartext: prior knowledge or HTTP/1.1 "Upgrade: h2c" (gRPC too)
  --grpc-listen HOST:PORT   gRPC over h2c (may equal --h2c-listen)
  --tcp-listen HOST:PORT    line-based TCP echo (banner, TEST, IS_TLS, PING)
  --tcp-tls-listen HOST:PORT  the TCP echo behind TLS; needs --tls-cert/--tls-key
  --udp-listen HOST:PORT    UDP echo

Identity and TLS:
  --name NAME               reported as "pod"            (env POD_NAME)
  --namespace NS            reported as "namespace"      (env NAMESPACE)
  --ingress NAME            reported as "ingress"        (env INGRESS_NAME)
  --service NAME            reported as "service"        (env SERVICE_NAME)
  --tls-cert FILE           PEM certificate chain        (env TLS_SERVER_CERT)
  --tls-key FILE            PEM private key              (env TLS_SERVER_PRIVKEY, TLS_SERVER_PRIV_KEY)
  --client-ca FILE          verify client certificates if given (env TLS_CLIENT_CACERTS)
  --http-port VALUE         value reported as "httpPort" (default: the HTTP listener's port)
  --quiet                   do not log each request

Image mode: with no listener flag, the listeners come from the environment as
the echo-basic image reads it, bound to --bind ADDR (env ECHO_BIND_ADDRESS;
default every address): HTTP_PORT (3000), H2C_PORT (3001), and HTTPS_PORT
(8443) when TLS_SERVER_CERT and TLS_SERVER_PRIVKEY are set;
GRPC_ECHO_SERVER=1 serves gRPC on HTTP_PORT (and TLS on HTTPS_PORT with
TLS_SERVER_PRIV_KEY); TCP_ECHO_SERVER=1 serves TCP on TCP_PORT (3000) and TLS
on TLS_PORT (8443); UDP_ECHO_SERVER=1 serves UDP on UDP_PORT (8080).

Endpoints: /health, /status/NNN, /retry/?uuid=U&succeedAfter=N[&responseCode=C][&delayRetry=D],
/ws (WebSocket echo), ?delay=DURATION on any echo, and the request header
"X-Echo-Set-Header: Name:Value,..." copied into the response. Each echo logs
"Echoing back request made to <uri> to client (<remote>)" on stdout.
`;

type Env = Readonly<Record<string, string | undefined>>;

const LISTEN_FLAGS = ['listen', 'https-listen', 'h2c-listen', 'grpc-listen', 'tcp-listen', 'tcp-tls-listen', 'udp-listen'] as const;

/**
 * Turn `sluice echo` arguments plus the environment into startEcho options.
 * Exported for tests; throws UsageError/InputError on bad input.
 */
export function echoOptionsFromArgs(argv: readonly string[], env: Env): EchoOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      listen: { type: 'string', short: 'l' },
      'https-listen': { type: 'string' },
      'h2c-listen': { type: 'string' },
      'grpc-listen': { type: 'string' },
      'tcp-listen': { type: 'string' },
      'tcp-tls-listen': { type: 'string' },
      'udp-listen': { type: 'string' },
      bind: { type: 'string' },
      name: { type: 'string' },
      namespace: { type: 'string' },
      ingress: { type: 'string' },
      service: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'client-ca': { type: 'string' },
      'http-port': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';

  const identity = {
    pod: values.name ?? env.POD_NAME ?? '',
    namespace: values.namespace ?? env.NAMESPACE ?? '',
    ingress: values.ingress ?? env.INGRESS_NAME ?? '',
    service: values.service ?? env.SERVICE_NAME ?? '',
  };
  const common = { ...identity, quiet: values.quiet ?? false };
  const explicit = LISTEN_FLAGS.some((flag) => values[flag] !== undefined);

  if (explicit) {
    const certFile = values['tls-cert'] ?? env.TLS_SERVER_CERT;
    const keyFile = values['tls-key'] ?? env.TLS_SERVER_PRIVKEY ?? env.TLS_SERVER_PRIV_KEY;
    const tls = readTls(certFile, keyFile, values['client-ca'] ?? env.TLS_CLIENT_CACERTS, values['tls-cert'] !== undefined || values['tls-key'] !== undefined);
    const opt = (flag: (typeof LISTEN_FLAGS)[number]): ListenAddress | undefined => {
      const v = values[flag];
      return v === undefined ? undefined : parseListen(v, flag);
    };
    if (tls === undefined && (values['https-listen'] !== undefined || values['tcp-tls-listen'] !== undefined)) {
      throw new UsageError('--https-listen and --tcp-tls-listen need --tls-cert and --tls-key');
    }
    return {
      ...common,
      listen: opt('listen'),
      https: opt('https-listen'),
      h2c: opt('h2c-listen'),
      grpc: opt('grpc-listen'),
      tcp: opt('tcp-listen'),
      tcpTls: opt('tcp-tls-listen'),
      udp: opt('udp-listen'),
      tls,
      httpPort: values['http-port'],
    };
  }
  return imageModeOptions(env, values.bind ?? env.ECHO_BIND_ADDRESS, common, values['http-port']);
}

/** The echo-basic image's environment contract (see the help text). */
function imageModeOptions(env: Env, bind: string | undefined, common: Omit<EchoOptions, 'listen'>, httpPortFlag: string | undefined): EchoOptions {
  const at = (name: string, fallback: string): ListenAddress => {
    const raw = env[name] || fallback;
    const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
    if (!(port <= 65535)) throw new UsageError(`${name}: not a port number: "${raw}"`);
    return bind ? { host: bind, port } : { port };
  };
  const set = (name: string): boolean => (env[name] ?? '') !== '';
  if (set('GRPC_ECHO_SERVER')) {
    const tls = set('TLS_SERVER_CERT') && set('TLS_SERVER_PRIV_KEY') ? readTls(env.TLS_SERVER_CERT, env.TLS_SERVER_PRIV_KEY, undefined, true) : undefined;
    return { ...common, grpc: at('HTTP_PORT', '3000'), https: tls ? at('HTTPS_PORT', '8443') : undefined, tls };
  }
  if (set('TCP_ECHO_SERVER')) {
    const tls = set('TLS_SERVER_CERT') && set('TLS_SERVER_PRIV_KEY') ? readTls(env.TLS_SERVER_CERT, env.TLS_SERVER_PRIV_KEY, undefined, true) : undefined;
    const tcp = at('TCP_PORT', '3000');
    const tcpTls = tls ? at('TLS_PORT', '8443') : undefined;

    // Like echo-basic, `tlsport` is reported even when TLS is off.
    return { ...common, tcp, tcpTls, tls, tcpPort: String(tcp.port), tlsPort: String(at('TLS_PORT', '8443').port) };
  }
  if (set('UDP_ECHO_SERVER')) return { ...common, udp: at('UDP_PORT', '8080') };
  const http = at('HTTP_PORT', '3000');
  const tls =
    set('TLS_SERVER_CERT') && set('TLS_SERVER_PRIVKEY')
      ? readTls(env.TLS_SERVER_CERT, env.TLS_SERVER_PRIVKEY, env.TLS_CLIENT_CACERTS, true)
      : undefined;
  return {
    ...common,
    http,
    h2c: at('H2C_PORT', '3001'),
    https: tls ? at('HTTPS_PORT', '8443') : undefined,
    tls,
    httpPort: httpPortFlag ?? String(http.port),
  };
}

function readTls(certFile: string | undefined, keyFile: string | undefined, caFile: string | undefined, required: boolean): EchoTlsOptions | undefined {
  if (!certFile || !keyFile) {
    if (required && (certFile || keyFile)) throw new UsageError('--tls-cert and --tls-key go together');
    return undefined;
  }
  return { cert: readPem(certFile), key: readPem(keyFile), ...(caFile ? { clientCa: readPem(caFile) } : {}) };
}

function readPem(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`, file, { cause: err });
  }
}

export interface RunEchoHooks {
  /** Stops the echo like SIGTERM does (tests). */
  readonly signal?: AbortSignal;
  readonly env?: Env;
}

/** `sluice echo`: serve until SIGTERM/SIGINT (or `hooks.signal`), then close; resolves with the exit code. */
export async function runEcho(argv: readonly string[], io: CliIO, hooks: RunEchoHooks = {}): Promise<number> {
  const options = echoOptionsFromArgs(argv, hooks.env ?? process.env);
  if (options === 'help') {
    io.stdout.write(HELP);
    return 0;
  }
  const server = await startEcho({ ...options, quiet: false, logRequests: !options.quiet, log: (line) => void io.stdout.write(line + '\n') });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      hooks.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (hooks.signal?.aborted) stop();
    else hooks.signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  return 0;
}
