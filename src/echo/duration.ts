import { SluiceError } from '../errors.js';

/** A `?delay=` value that Go's time.ParseDuration would reject. */
export class DurationError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_ECHO_DURATION', message);
  }
}

const UNIT_MS: Readonly<Partial<Record<string, number>>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/**
 * Parse a Go duration string ("1s", "500ms", "1h2m3.5s", "-1s", "0") into
 * milliseconds, with the same grammar and error wording as time.ParseDuration,
 * because the conformance suite speaks Go durations to the echo backend.
 */
export function parseGoDuration(input: string): number {
  const quoted = JSON.stringify(input);
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const m = TERM.exec(s)!;
    const [all, whole = '', frac, unit = ''] = m;
    if (whole === '' && (frac === undefined || frac === '')) throw new DurationError(`time: invalid duration ${quoted}`);
    if (unit === '') throw new DurationError(`time: missing unit in duration ${quoted}`);
    const perUnit = UNIT_MS[unit];
    if (perUnit === undefined) throw new DurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    total += Number(`${whole || '0'}.${frac ?? ''}0`) * perUnit;
    s = s.slice(all.length);
  }
  if (!Number.isFinite(total)) throw new DurationError(`time: invalid duration ${quoted}`);
  return sign * total;
}
