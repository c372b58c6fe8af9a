export { startEcho } from './server.js';
export { parseListen } from './listen.js';
export { parseGoDuration, DurationError } from './duration.js';
export { canonicalHeaderKey } from './headers.js';
export type { EchoOptions, EchoServer, EchoIdentity, EchoTlsOptions, EchoListenerKind, BoundListener, Listen, ListenAddress } from './types.js';
