import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { maintainerScriptsReproduced } from './maintainer-scripts-reproduced.js';

describe('HERD-H015 maintainer-scripts-reproduced', () => {
  const check = (unreproducedScripts?: { package: string; lines: string[] }[]) =>
    maintainerScriptsReproduced.check({
      view: { ...memoryImageView(), ...(unreproducedScripts ? { unreproducedScripts } : {}) },
      gate: defaultGateSection,
    });

  it('warns once per package with the lines the build did not reproduce, at that package', () => {
    const results = check([
      {
        package: 'nginx-common',
        lines: ['cp /usr/share/nginx/html/index.html /var/www/html/index.nginx-debian.html'],
      },
      { package: 'openjdk-17-jre-headless', lines: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] },
    ]);

    assert.deepEqual(results, [
      {
        message:
          'nginx-common: herd did not reproduce 1 maintainer script line: cp /usr/share/nginx/html/index.html /var/www/html/index.nginx-debian.html',
        location: { package: 'nginx-common' },
      },
      {
        message:
          'openjdk-17-jre-headless: herd did not reproduce 7 maintainer script lines: a | b | c | d | e | … (2 more in the provenance)',
        location: { package: 'openjdk-17-jre-headless' },
      },
    ]);
  });

  it('says nothing when everything was reproduced, or when no provenance is attached', () => {
    assert.deepEqual(check([]), []);
    assert.deepEqual(check(), []);
  });
});
