import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { kubernetesSecretDetector } from './kubernetes-secrets.js';

const found = (text: string) =>
  kubernetesSecretDetector
    .find(text, '/app/k8s/secret.yaml')
    .map((m) => text.slice(m.index, m.index + m.length));

describe('Kubernetes Secret manifests', () => {
  it('finds every data and stringData entry of a Secret, whatever the key is called', () => {
    const key = randomBytes(48).toString('base64');
    const token = randomBytes(20).toString('hex');
    const text = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: web\ndata:\n  tls.key: ${key}\nstringData:\n  webhook: "${token}"\n`;

    assert.deepEqual(found(text), [key, token]);
  });

  it('reads only the documents whose kind is Secret', () => {
    const value = randomBytes(24).toString('base64');
    const text = `kind: ConfigMap\ndata:\n  a: ${value}\n---\nkind: Secret\ndata:\n  b: ${value.split('').reverse().join('')}\n`;

    assert.equal(found(text).length, 1);
  });

  it('passes templates, empty values and placeholders, also base64-encoded ones', () => {
    const text = [
      'kind: Secret',
      'data:',
      '  password: {{ .Values.password | b64enc }}',
      `  pw: ${Buffer.from('password').toString('base64')}`,
      '  user: YWRtaW4=',
      'stringData:',
      '  api-key: <your api key>',
      '  empty: ""',
    ].join('\n');

    assert.deepEqual(found(text), []);
  });

  it('applies to YAML files only, and stays linear on a hostile one', () => {
    assert.equal(kubernetesSecretDetector.appliesTo?.('/app/secret.json'), false);
    const hostile = `kind: Secret\ndata:\n${'  k: abcdefghij0\n'.repeat(100_000)}${'---\n'.repeat(50_000)}`;
    const started = performance.now();

    kubernetesSecretDetector.find(hostile, '/app/x.yaml');

    assert.ok(performance.now() - started < 3000);
  });
});
