import { pino, type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stderr so stdout stays the access log. */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    { level: options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info', name: options.name ?? 'sluice', base: undefined },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
