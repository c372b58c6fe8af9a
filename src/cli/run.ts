import { parseArgs } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { CliIO } from './main.js';
import { UsageError } from '../errors.js';
import { createLogger } from '../util/log.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import { GatewayEngine } from '../runner/engine.js';
import { DataPlane, parseAccessLogDestination, type AccessLogDestination } from '../dataplane/index.js';
import { createSpliceEngine, type EbpfMode } from '../native/splice.js';
import { translate } from '../translate/index.js';
import { loadConfig, watchConfig, type LoadResult } from '../sources/file/index.js';
import { DEFAULT_CONTROLLER_NAME, DEFAULT_GATEWAY_CLASS } from '../model/objects.js';
import { KUBERNETES_RUN_HELP, KUBERNETES_RUN_OPTIONS } from '../k8s/cli-options.js';

const HELP = `Usage: sluice run --config PATH [--admin HOST:PORT] [--log-level LEVEL] [--drain-timeout SECONDS]
                  [--ebpf auto|on|off] [--tcp-idle-timeout SECONDS]
       sluice run --kubernetes [--kubeconfig FILE] [--namespace NS] [--gateway-address-pool CIDR] [--service-type TYPE]

Serve the Gateway API objects (plus Service, EndpointSlice, Secret, Namespace)
in PATH, a multi-document YAML file or a directory of them. PATH is watched and
changes are applied without dropping in-flight requests.

  --config PATH           file or directory to serve (required)
  --admin HOST:PORT       admin server: /healthz /readyz /metrics /config_dump (default 127.0.0.1:9901)
  --controller-name NAME  GatewayClass controllerName to serve (default ${DEFAULT_CONTROLLER_NAME})
  --log-level LEVEL       trace|debug|info|warn|error (default info)
  --drain-timeout SECONDS how long SIGTERM waits for in-flight requests (default 15)
  --ebpf auto|on|off      kernel (sockmap) splicing of TLS passthrough and TCPRoute connections
                          (also with --kubernetes; the Helm chart passes auto with ebpf.enabled, else off):
                          auto (default) splices when the addon, privileges and a self-test allow,
                          on fails to start otherwise, off always relays in userspace
  --tcp-idle-timeout SECONDS
                          close a TCPRoute/TLSRoute connection relayed in userspace after this long
                          without a byte either way (default 3600; 0 = never). Kernel-spliced
                          connections are not timed
  --access-log off|stdout|PATH
                          one JSON line per request: stdout (default), appended to PATH, or off
  --upstream-client native|undici
                          HTTP/1.1 client for plain-HTTP upstreams (default native, or the
                          SLUICE_UPSTREAM_CLIENT environment variable); TLS upstreams use undici
  --http-server native|node
                          HTTP/1.1 server of HTTP and HTTPS listeners: native (default: Sluice's
                          own on node's parser) or node (node:http/https); or SLUICE_HTTP_SERVER
${KUBERNETES_RUN_HELP}`;

export interface RunningGateway {
  readonly admin: AdminServer;
  readonly engine: GatewayEngine;
  stop(): Promise<void>;
}

/** `sluice run`: serves until SIGTERM/SIGINT, then drains and resolves with the exit code. */
export async function runServe(argv: readonly string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      admin: { type: 'string', default: '127.0.0.1:9901' },
      'controller-name': { type: 'string', default: DEFAULT_CONTROLLER_NAME },
      'log-level': { type: 'string' },
      'drain-timeout': { type: 'string', default: '15' },
      ebpf: { type: 'string' },
      'tcp-idle-timeout': { type: 'string' },
      'access-log': { type: 'string', default: 'stdout' },
      'upstream-client': { type: 'string' },
      'http-server': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...KUBERNETES_RUN_OPTIONS,
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (!values.config && !values.kubernetes) throw new UsageError('--config PATH (or --kubernetes) is required');
  const drainMs = Number(values['drain-timeout']) * 1000;
  if (!Number.isFinite(drainMs) || drainMs < 0) throw new UsageError('--drain-timeout must be a number of seconds');

  if (values['access-log'] === '') throw new UsageError('--access-log must be off, stdout or a file path');
  const accessLog = parseAccessLogDestination(values['access-log']);
  const upstreamClient = values['upstream-client'];
  if (upstreamClient !== undefined && upstreamClient !== 'native' && upstreamClient !== 'undici') throw new UsageError('--upstream-client must be native or undici');
  // The Kubernetes branch builds its data plane elsewhere: the client choice reaches it through the environment.
  if (upstreamClient !== undefined) process.env.SLUICE_UPSTREAM_CLIENT = upstreamClient;
  const httpServer = values['http-server'];
  if (httpServer !== undefined && httpServer !== 'native' && httpServer !== 'node') throw new UsageError('--http-server must be native or node');
  if (httpServer !== undefined) process.env.SLUICE_HTTP_SERVER = httpServer;
  const common = { admin: values.admin, controllerName: values['controller-name'], logLevel: values['log-level'], drainMs, accessLog };
  const ebpf = values.ebpf;
  if (ebpf !== undefined && ebpf !== 'auto' && ebpf !== 'on' && ebpf !== 'off') throw new UsageError('--ebpf must be one of auto, on, off');
  const idleRaw = values['tcp-idle-timeout'];
  const tcpIdleTimeoutMs = idleRaw === undefined ? undefined : Number(idleRaw) * 1000;
  if (tcpIdleTimeoutMs !== undefined && (idleRaw!.trim() === '' || !Number.isFinite(tcpIdleTimeoutMs) || tcpIdleTimeoutMs < 0)) {
    throw new UsageError('--tcp-idle-timeout must be a number of seconds (0 = never)');
  }
  const gw = values.kubernetes
    ? await (await import('../k8s/cli.js')).startKubernetesFromArgs(values, { ...common, ...(tcpIdleTimeoutMs !== undefined ? { tcpIdleTimeoutMs } : {}) })
    : await startGateway({ ...common, config: values.config!, ...(ebpf ? { ebpf } : {}), ...(tcpIdleTimeoutMs !== undefined ? { tcpIdleTimeoutMs } : {}) });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      io.stderr.write(`sluice: ${signal} received, draining (up to ${drainMs / 1000}s)\n`);
      gw.stop().then(resolve, resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}

export interface StartOptions {
  readonly config: string;
  readonly admin: string;
  readonly controllerName?: string;
  readonly logLevel?: string;
  readonly drainMs?: number;
  /** Kernel splicing of L4 connections (default auto). */
  readonly ebpf?: EbpfMode;
  /** L4Options.tcpIdleTimeoutMs (default 1 hour, 0 = never). */
  readonly tcpIdleTimeoutMs?: number;
  /** Where the JSON access log goes (default stdout). */
  readonly accessLog?: AccessLogDestination;
}

/** Start the standalone gateway in this process. Exported for tests and `npm start`. */
export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  const logger = createLogger({ level: opts.logLevel });
  const controllerName = opts.controllerName ?? DEFAULT_CONTROLLER_NAME;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // 'on' throws here when splicing is unavailable: better not to start than to run without it.
  const splice = await createSpliceEngine({ mode: opts.ebpf ?? 'auto', logger });
  const dataPlane = new DataPlane({
    logger,
    metrics: registry,
    l4: { splice, ...(opts.tcpIdleTimeoutMs !== undefined ? { tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs } : {}) },
    accessLogDestination: opts.accessLog ?? 'stdout',
  });
  const engine = new GatewayEngine({
    dataPlane,
    translate,
    translateOptions: { controllerName, grpcRoutes: true },
    logger,
  });

  let loaded = false;
  let draining = false;
  const admin = await startAdminServer(
    opts.admin,
    {
      ready: () => {
        const reasons: string[] = [];
        if (draining) reasons.push('draining');
        if (!loaded) reasons.push('configuration not loaded yet');
        reasons.push(...engine.unboundListeners());
        return { ready: reasons.length === 0, reasons };
      },
      configDump: () => ({ ...engine.state }),
    },
    registry,
  );
  logger.info({ admin: `${admin.address}:${admin.port}` }, 'admin server listening');

  const implied = { impliedGatewayClass: { name: DEFAULT_GATEWAY_CLASS, controllerName } };
  // Rejected objects are logged and kept for /config_dump; the rest is applied.
  const apply = (result: LoadResult): Promise<void> => {
    for (const e of result.errors) logger.error({ code: e.code }, e.message);
    return engine.update(result.snapshot, result.errors.map((e) => ({ message: e.message, code: e.code })));
  };
  const first = await loadConfig(opts.config, implied);
  for (const w of first.warnings) logger.warn(w);
  await apply(first);
  loaded = true;

  const watcher = watchConfig(opts.config, {
    ...implied,
    baseline: first,
    onLoad: (result) => void apply(result),
    onError: (err) => {
      logger.error({ err: { message: err.message, code: err.code } }, 'configuration not reloaded; the last good configuration keeps serving');
    },
  });

  return {
    admin,
    engine,
    async stop() {
      draining = true;
      watcher.close();
      await dataPlane.drain(opts.drainMs ?? 15_000);
      await dataPlane.close();
      splice.close();
      await admin.close();
      logger.flush();
    },
  };
}
