import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { writeAtomic } from '../../common/index.js';
import { herdHome } from '../../herd-home.js';
import { renderKubernetes } from '../../pipeline/index.js';
import { loadSpec } from '../../specfile/index.js';
import { CliError } from '../errors.js';
import { openStore } from '../spec-context.js';
import { openState } from '../state-context.js';

export interface RenderKubernetesOptions {
  image: string;
  repository: string;
  namespace?: string;
  format?: string;
  output?: string;
  alsoAdmitted?: string[];
}

/**
 * `herd render kubernetes <spec> --image <ref> --repository <registry/repo>`: the fleet's objects
 * for `kubectl apply -f -`, once the image is admitted as a rollout would admit it. YAML documents
 * (or a JSON List) on standard output, or written whole to `--output`.
 */
export async function renderKubernetesCommand(
  specPath: string,
  options: RenderKubernetesOptions,
): Promise<number> {
  const format = options.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') {
    throw new CliError('ARGUMENT_INVALID', `--format ${JSON.stringify(format)}: expected yaml or json`);
  }
  if (!/^[a-z0-9][a-z0-9.-]*(?::\d+)?(?:\/[a-z0-9._-]+)+$/.test(options.repository)) {
    throw new CliError(
      'ARGUMENT_INVALID',
      `--repository ${JSON.stringify(options.repository)}: expected the repository the cluster pulls from, without tag or digest, such as registry.example:5000/team/hello`,
    );
  }
  const { spec } = await loadSpec(specPath);
  const { store } = await openStore();
  const digest = await store.resolve(options.image);
  const alsoAdmitted = await Promise.all((options.alsoAdmitted ?? []).map((ref) => store.resolve(ref)));
  const state = openState();
  try {
    const objects = await renderKubernetes(
      { store, state, home: herdHome() },
      {
        spec,
        digest,
        repository: options.repository,
        namespace: options.namespace ?? spec.service,
        alsoAdmitted,
      },
    );
    const text =
      format === 'json'
        ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`
        : objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
    if (options.output) {
      await writeAtomic(resolve(options.output), text, { mode: 0o644 });
      console.error(`wrote ${objects.length} objects for ${spec.service} ${digest} to ${options.output}`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  } finally {
    state.close();
  }
}
