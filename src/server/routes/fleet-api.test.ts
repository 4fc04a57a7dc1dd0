import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpecError } from '../../specfile/errors.js';
import { templateFromSpecText } from './fleet-api.js';

const spec = (extra = '') => `apiVersion: herd/v1
service: hello
image:
  packages: [nodejs]
run:
  entrypoint: [/usr/bin/node]
ports: [8080]
fleet:
  size: 3
${extra}`;

describe('templateFromSpecText', () => {
  it('makes the template from the validated spec', () => {
    const template = templateFromSpecText('hello', spec());

    assert.equal(template.fleet.size, 3);
    assert.equal(template.port, 8080);
    assert.equal(template.run.writableRoot, false);
  });

  it('refuses a spec the schema refuses, naming the field', () => {
    assert.throws(
      () => templateFromSpecText('hello', spec('watch: { webhook: "http://user:pw@127.0.0.1/x" }')),
      (error: unknown) => error instanceof SpecError && /watch\.webhook/.test(error.message),
    );
  });

  it('refuses a spec for another service, and anything that is not text', () => {
    assert.throws(() => templateFromSpecText('other', spec()), /for hello, not other/);
    assert.throws(() => templateFromSpecText('hello', { fleet: { size: 3 } }), /text of herd\.yaml/);
  });
});
