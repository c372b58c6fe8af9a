/**
 * Every error Sluice raises on purpose is a SluiceError with a stable code, so
 * callers and tests can branch on `code` instead of parsing messages.
 */
export class SluiceError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input that cannot be read at all (missing file, YAML syntax error). CLI exit 2. */
export class InputError extends SluiceError {
  constructor(message: string, readonly file?: string, options?: { cause?: unknown }) {
    super('ERR_SLUICE_INPUT', message, options);
  }
}

/** One object failed schema validation; it is rejected and the rest still load. */
export class ValidationError extends SluiceError {
  constructor(
    message: string,
    readonly object: { kind: string; namespace: string; name: string },
    readonly field: string,
    readonly file?: string,
  ) {
    super('ERR_SLUICE_VALIDATION', message);
  }
}

/** A listener could not be bound (port in use, address not local). */
export class ListenError extends SluiceError {
  constructor(message: string, readonly address: string, readonly port: number, options?: { cause?: unknown }) {
    super('ERR_SLUICE_LISTEN', message, options);
  }
}

/** Bad command-line usage. CLI exit 2. */
export class UsageError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_USAGE', message);
  }
}
