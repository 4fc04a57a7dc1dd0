/**
 * The drift probe's own root for the podman tests: the probe script under /opt/herd, mount points
 * for the host's /usr (node and its libraries, mounted read-only by the test), and the files podman
 * expects in /etc. Kept in one place so the probe runs the same way in every test that starts it.
 */
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function makeDriftProbeRoot(probeRoot: string): void {
  for (const path of ['opt/herd', 'usr', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp'])
    mkdirSync(join(probeRoot, path), { recursive: true });
  for (const file of ['hosts', 'hostname', 'resolv.conf', 'passwd', 'group'])
    writeFileSync(join(probeRoot, 'etc', file), '');
  for (const link of ['lib', 'lib64', 'bin']) symlinkSync(`usr/${link}`, join(probeRoot, link));
  copyFileSync(
    new URL('../../src/engines/kubernetes/probe/drift-probe.mjs', import.meta.url),
    join(probeRoot, 'opt/herd/drift-probe.mjs'),
  );
}
