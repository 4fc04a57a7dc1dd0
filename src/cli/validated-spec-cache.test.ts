import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { herdHome } from '../herd-home.js';
import { type LoadedSpec, loadSpec, SpecError } from '../specfile/index.js';
import { loadValidatedSpec } from './validated-spec-cache.js';

const example = resolve(import.meta.dirname, '../../examples/hello');

describe('the validated-spec cache (herd gate --spec)', () => {
  let scratch: string;
  let specDir: string;
  let home: ReturnType<typeof herdHome>;
  let loads: string[];
  /** loadSpec, counting its calls: a cache hit makes none. */
  const load = async (path: string): Promise<LoadedSpec> => {
    loads.push(path);
    return loadSpec(path);
  };
  const entries = async () => readdir(join(home.root, 'cache', 'specs')).catch(() => []);

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'herd-spec-cache-'));
    specDir = join(scratch, 'hello');
    await cp(example, specDir, { recursive: true });
    home = herdHome({ HERD_HOME: join(scratch, 'home') });
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('validates once per build and bytes, then gives the same LoadedSpec without validating', async () => {
    loads = [];
    const first = await loadValidatedSpec(specDir, { home, buildId: 'build-a', load });
    assert.deepEqual(loads, [specDir]);
    assert.equal((await entries()).length, 1);
    const second = await loadValidatedSpec(specDir, { home, buildId: 'build-a', load });
    assert.deepEqual(loads, [specDir], 'the second load validated again');
    assert.deepStrictEqual(second, first);
    assert.deepStrictEqual(second, await loadSpec(specDir));
    // By the file's path as well as by its folder.
    assert.deepStrictEqual(
      await loadValidatedSpec(join(specDir, 'herd.yaml'), { home, buildId: 'build-a', load }),
      first,
    );
    assert.equal(loads.length, 1);
  });

  it('validates again for another build, and never without a build id (the sources under tsx)', async () => {
    loads = [];
    await loadValidatedSpec(specDir, { home, buildId: 'build-b', load });
    await loadValidatedSpec(specDir, { home, buildId: undefined, load });
    await loadValidatedSpec(specDir, { home, buildId: undefined, load });
    assert.equal(loads.length, 3);
  });

  it('validates changed bytes, and an invalid spec fails with the loader own error each time, storing nothing', async () => {
    const dir = join(scratch, 'broken');
    await cp(specDir, dir, { recursive: true });
    const text = await readFile(join(dir, 'herd.yaml'), 'utf8');
    await writeFile(join(dir, 'herd.yaml'), text.replace('profile: strict', 'profile: lenient'));
    const before = (await entries()).length;
    const expected = await loadSpec(dir).then(
      () => assert.fail('the edited spec validated'),
      (error: unknown) => error,
    );
    assert.ok(expected instanceof SpecError);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(loadValidatedSpec(dir, { home, buildId: 'build-a', load }), (error: unknown) => {
        assert.ok(error instanceof SpecError);
        assert.equal(error.code, expected.code);
        assert.equal(error.message, expected.message);
        return true;
      });
    }
    assert.equal((await entries()).length, before);
    await assert.rejects(
      loadValidatedSpec(join(scratch, 'missing'), { home, buildId: 'build-a', load }),
      (error: unknown) => error instanceof SpecError && error.code === 'SPEC_NOT_FOUND',
    );
  });

  it('takes no entry it did not seal: a forged spec (a weaker profile) is validated again and replaced', async () => {
    const dir = join(home.root, 'cache', 'specs');
    // The attacker can write the cache, not the seal key: an entry with a seal of their own making.
    const honest = await loadValidatedSpec(specDir, { home, buildId: 'build-a', load });
    for (const entry of await entries()) {
      const { serialize } = await import('node:v8');
      const forged = { ...honest.spec, gate: { ...honest.spec.gate, profile: 'baseline' } };
      await writeFile(
        join(dir, entry),
        Buffer.concat([Buffer.from(`${'0'.repeat(64)}\n`), serialize(forged)]),
      );
    }
    loads = [];
    const loaded = await loadValidatedSpec(specDir, { home, buildId: 'build-a', load });
    assert.deepEqual(loads, [specDir]);
    assert.equal(loaded.spec.gate.profile, 'strict');
    // Cut short: the same.
    for (const entry of await entries()) await writeFile(join(dir, entry), 'abc');
    loads = [];
    assert.deepStrictEqual(await loadValidatedSpec(specDir, { home, buildId: 'build-a', load }), honest);
    assert.deepEqual(loads, [specDir]);
    loads = [];
    await loadValidatedSpec(specDir, { home, buildId: 'build-a', load });
    assert.deepEqual(loads, [], 'the replaced entry is a hit again');
  });
});
