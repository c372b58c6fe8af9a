import { SluiceError } from '../errors.js';

/** A Kubernetes API call answered with a non-2xx status (or never answered). */
export class KubeApiError extends SluiceError {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The Status object's `reason` (Conflict, NotFound, AlreadyExists, Forbidden, Expired, ...). */
  readonly reason: string;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: number, reason: string, message: string, options?: { cause?: unknown }) {
    super('ERR_SLUICE_K8S_API', `${method} ${path}: ${status || 'unreachable'} ${reason}: ${message}`, options);
    this.status = status;
    this.reason = reason;
    this.method = method;
    this.path = path;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  get isConflict(): boolean {
    return this.status === 409;
  }

  get isGone(): boolean {
    return this.status === 410;
  }
}

/** The cluster lacks something Sluice cannot work without (e.g. the Gateway API CRDs). */
export class KubeSetupError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SLUICE_K8S_SETUP', message, options);
  }
}
