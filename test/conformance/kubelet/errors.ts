// Errors of the conformance harness (fake kubelet, pod network, runner). Classes with stable
// codes, like src/errors.ts, but self-contained: these files run under Node's type stripping.

export class HarnessError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The API server answered with an error status. */
export class KubeRequestError extends HarnessError {
  readonly status: number;
  readonly reason: string;
  constructor(method: string, path: string, status: number, reason: string, message: string) {
    super('ERR_HARNESS_KUBE_REQUEST', `${method} ${path}: HTTP ${status} ${reason}: ${message}`);
    this.status = status;
    this.reason = reason;
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

/** The pod network (network namespace, veth, addresses) could not be set up or used. */
export class PodNetworkError extends HarnessError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HARNESS_POD_NETWORK', message, options);
  }
}

/** A pod asks for something this kubelet cannot provide (unknown image, missing volume source). */
export class PodSpecError extends HarnessError {
  constructor(message: string) {
    super('ERR_HARNESS_POD_SPEC', message);
  }
}
