import type { Condition } from './status.js';

export type ConditionStatus = Condition['status'];

/** A condition stamped with the object's generation (statuses carry no time: the publisher adds it). */
export function condition(type: string, status: boolean | ConditionStatus, reason: string, message: string, generation: number | undefined): Condition {
  const s: ConditionStatus = typeof status === 'boolean' ? (status ? 'True' : 'False') : status;
  return generation === undefined
    ? { type, status: s, reason, message }
    : { type, status: s, reason, message, observedGeneration: generation };
}

/** Gateway API condition types and reasons used by the translator (the Go API's constants, as strings). */
export const Reason = {
  Accepted: 'Accepted',
  Programmed: 'Programmed',
  ResolvedRefs: 'ResolvedRefs',
  NoConflicts: 'NoConflicts',
  HostnameConflict: 'HostnameConflict',
  ProtocolConflict: 'ProtocolConflict',
  UnsupportedProtocol: 'UnsupportedProtocol',
  InvalidCertificateRef: 'InvalidCertificateRef',
  InvalidRouteKinds: 'InvalidRouteKinds',
  RefNotPermitted: 'RefNotPermitted',
  Invalid: 'Invalid',
  ListenersNotValid: 'ListenersNotValid',
  UnsupportedAddress: 'UnsupportedAddress',
  AddressNotAssigned: 'AddressNotAssigned',
  InvalidParameters: 'InvalidParameters',
  NotAllowedByListeners: 'NotAllowedByListeners',
  NoMatchingListenerHostname: 'NoMatchingListenerHostname',
  NoMatchingParent: 'NoMatchingParent',
  UnsupportedValue: 'UnsupportedValue',
  IncompatibleFilters: 'IncompatibleFilters',
  BackendNotFound: 'BackendNotFound',
  InvalidKind: 'InvalidKind',
  PartiallyInvalid: 'PartiallyInvalid',
  NotAllowed: 'NotAllowed',
  ParentNotAccepted: 'ParentNotAccepted',
  InvalidCACertificateRef: 'InvalidCACertificateRef',
  InvalidCACertificateKind: 'InvalidCACertificateKind',
  NoValidCACertificate: 'NoValidCACertificate',
  /** Gateway condition type (True while some frontend validation allows insecure fallback) and its reason. */
  InsecureFrontendValidationMode: 'InsecureFrontendValidationMode',
  ConfigurationChanged: 'ConfigurationChanged',
} as const;
