import t from 'tap';
import { referencedObjects } from '../../src/sources/kubernetes/references.js';

t.test('collects certificate and CA references with defaults', async (t) => {
  const gw = {
    kind: 'Gateway',
    metadata: { name: 'web', namespace: 'echo' },
    spec: {
      listeners: [
        { name: 'https', tls: { certificateRefs: [{ name: 'echo-tls' }, { kind: 'Secret', group: '', name: 'other', namespace: 'certs' }] } },
        { name: 'weird', tls: { certificateRefs: [{ group: 'example.com', kind: 'Vault', name: 'nope' }] } },
      ],
      tls: {
        backend: { clientCertificateRef: { name: 'client-cert' } },
        frontend: { default: { validation: { caCertificateRefs: [{ kind: 'ConfigMap', group: '', name: 'ca' }] } } },
      },
    },
  };
  const policy = {
    kind: 'BackendTLSPolicy',
    metadata: { name: 'p', namespace: 'apps' },
    spec: { validation: { caCertificateRefs: [{ kind: 'ConfigMap', group: '', name: 'backend-ca' }], hostname: 'x' } },
  };
  t.same(referencedObjects([gw, policy]), [
    { kind: 'ConfigMap', namespace: 'apps', name: 'backend-ca' },
    { kind: 'ConfigMap', namespace: 'echo', name: 'ca' },
    { kind: 'Secret', namespace: 'certs', name: 'other' },
    { kind: 'Secret', namespace: 'echo', name: 'client-cert' },
    { kind: 'Secret', namespace: 'echo', name: 'echo-tls' },
  ]);
});

t.test('no spec, no refs; duplicates collapse', async (t) => {
  t.same(referencedObjects([{ metadata: { name: 'x', namespace: 'a' } }]), []);
  const gw = { metadata: { name: 'x', namespace: 'a' }, spec: { listeners: [{ tls: { certificateRefs: [{ name: 'c' }] } }, { tls: { certificateRefs: [{ name: 'c' }] } }] } };
  t.equal(referencedObjects([gw]).length, 1);
});
