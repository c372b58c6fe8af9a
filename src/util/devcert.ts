import forge from 'node-forge';

/** A PEM certificate with its private key. */
export interface CertKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface DevCA extends CertKeyPair {
  /** Issue a leaf certificate for these DNS names / IPs, signed by this CA. */
  issue(names: readonly string[], options?: { commonName?: string; clientAuth?: boolean; days?: number }): CertKeyPair;
}

/**
 * A development CA made with node-forge, for `npm start` and tests. Never used
 * for anything a user serves in production: that comes from Secrets.
 */
export function createDevCA(commonName = 'Sluice development CA'): DevCA {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3650 * 86_400_000);
  const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'Sluice' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const caPair = { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
  return {
    ...caPair,
    issue: (names, options = {}) => issueLeaf(cert, keys.privateKey, names, options),
  };
}

function issueLeaf(
  caCert: forge.pki.Certificate,
  caKey: forge.pki.rsa.PrivateKey,
  names: readonly string[],
  options: { commonName?: string; clientAuth?: boolean; days?: number },
): CertKeyPair {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + (options.days ?? 825) * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: options.commonName ?? names[0] ?? 'sluice' }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: !options.clientAuth, clientAuth: Boolean(options.clientAuth) },
    { name: 'subjectAltName', altNames },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

function randomSerial(): string {
  // Positive 16-byte serial (leading nibble < 8 keeps the DER integer positive).
  return '0' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

/** A kubernetes.io/tls Secret object for a certificate, as YAML-ready JSON. */
export function tlsSecret(name: string, namespace: string, pair: CertKeyPair): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pair.certPem).toString('base64'),
      'tls.key': Buffer.from(pair.keyPem).toString('base64'),
    },
  };
}
