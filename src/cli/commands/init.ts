import { resolve } from 'node:path';
import { writeSpecScaffold } from '../../specfile/index.js';

/** `herd init [dir] --service name`: writes a commented herd.yaml to start from. */
export async function initCommand(
  dir: string,
  options: { service?: string; packages?: string },
): Promise<number> {
  const target = resolve(dir);
  const service =
    options.service ?? (target.split('/').pop() || 'app').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const packages = options.packages
    ?.split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const path = await writeSpecScaffold(target, { service, ...(packages ? { packages } : {}) });
  console.log(`wrote ${path}`);
  return 0;
}
