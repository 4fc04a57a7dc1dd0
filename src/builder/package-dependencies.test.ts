import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dependencyEdges, type PackageWithControl } from './package-dependencies.js';

function pkg(name: string, version: string, fields = ''): PackageWithControl {
  return {
    name,
    version,
    architecture: 'amd64',
    control: `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\n${fields}`,
  };
}

describe('dependencyEdges', () => {
  it('links Pre-Depends and Depends to the installed packages, sorted, each once', () => {
    const edges = dependencyEdges(
      [
        pkg('hello', '1', 'Pre-Depends: libc6 (>= 2.34)\nDepends: libgreet1, libc6\n'),
        pkg('libgreet1', '1.1', 'Depends: libc6\n'),
        pkg('libc6', '2.36-9'),
      ],
      { architecture: 'amd64' },
    );

    assert.deepEqual(Object.fromEntries(edges), {
      hello: ['libc6', 'libgreet1'],
      libgreet1: ['libc6'],
      libc6: [],
    });
  });

  it('takes the first alternative that is installed and new enough, as the resolver did', () => {
    const edges = dependencyEdges(
      [
        pkg('app', '1', 'Depends: libgreet1 (>= 2) | libgreet-alt | libgreet1\n'),
        pkg('libgreet1', '1.1'),
        pkg('libgreet-alt', '1'),
      ],
      { architecture: 'amd64' },
    );

    assert.deepEqual(edges.get('app'), ['libgreet-alt']);
  });

  it('resolves a virtual package through Provides, honouring a versioned provide', () => {
    const edges = dependencyEdges(
      [
        pkg('app', '1', 'Depends: mail-transport-agent, awk (>= 1:4)\n'),
        pkg('tiny-mta', '1', 'Provides: mail-transport-agent\n'),
        pkg('mawk', '1.3', 'Provides: awk (= 1:3)\n'),
        pkg('gawk', '5', 'Provides: awk (= 1:5)\n'),
      ],
      { architecture: 'amd64' },
    );

    assert.deepEqual(edges.get('app'), ['gawk', 'tiny-mta']);
  });

  it('links to a base package it cannot read the control of, and skips what is not installed', () => {
    const edges = dependencyEdges([pkg('app', '1', 'Depends: libc6, debconf | debconf-2.0 [i386]\n')], {
      architecture: 'amd64',
      installed: [{ name: 'libc6', version: '2.36', architecture: 'amd64' }],
    });

    assert.deepEqual(edges.get('app'), ['libc6']);
    assert.equal(edges.has('libc6'), false, "a base package's own edges are not known");
  });

  it('drops an architecture-restricted relation on another architecture', () => {
    const edges = dependencyEdges([pkg('app', '1', 'Depends: libx [i386]\n'), pkg('libx', '1')], {
      architecture: 'amd64',
    });

    assert.deepEqual(edges.get('app'), []);
  });
});
