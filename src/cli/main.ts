#!/usr/bin/env node
/**
 * The herd command line: parse, call, render. Exit codes: 0 success, 1 an expected negative
 * outcome (a check found changes, a gate failed), 2 an error, 3 `herd lock --check` found the
 * archive older than herd accepted before (a rollback, not an update).
 */
import nodeModule from 'node:module';
import { Command } from 'commander';
import { herdVersion } from './herd-version.js';
import { journaledPending } from './journaled-flag.js';
import { trackerDataUrl } from './vulndb-source.js';

/**
 * Each group of commands' module, loaded when one of its commands runs: `herd --version` and
 * `herd --help` load commander and the definitions below only, and `herd build` does not pay for
 * the control plane (the engine, the fleet controller, the server and the monitors).
 */
const commands = {
  build: () => import('./commands/build.js'),
  catalog: () => import('./commands/catalog.js'),
  debug: () => import('./commands/debug.js'),
  fim: () => import('./commands/fim.js'),
  fleet: () => import('./commands/fleet.js'),
  gate: () => import('./commands/gate.js'),
  image: () => import('./commands/image.js'),
  init: () => import('./commands/init.js'),
  journal: () => import('./commands/journal.js'),
  lock: () => import('./commands/lock.js'),
  pipeline: () => import('./commands/pipeline.js'),
  registry: () => import('./commands/registry.js'),
  render: () => import('./commands/render.js'),
  token: () => import('./commands/token.js'),
  trust: () => import('./commands/trust.js'),
  vulndb: () => import('./commands/vulndb.js'),
  watch: () => import('./commands/watch.js'),
  /** HERD_HOME's modes and lock, for every command but --help and --version. */
  home: () => import('./private-home.js'),
};

// Node 22.1+ keeps V8's compiled code of what loads from here on (the commands) between runs, in
// the OS's temporary folder; Node 20 has no such cache, and goes without.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const program = new Command()
  .name('herd')
  .description('Immutable workloads: golden images from signed Debian repositories')
  .version(herdVersion)
  .showHelpAfterError()
  // serve and up fix HERD_HOME's modes once they hold its lock; the rest do here, if it is open.
  .hook('preAction', async (_program, action) => {
    if (!(action.parent === program && ['serve', 'up'].includes(action.name()))) {
      await (await commands.home()).keepHomePrivate();
    }
  });

program
  .command('init')
  .description('write a herd.yaml to start from')
  .argument('[dir]', 'folder for herd.yaml', '.')
  .option('--service <name>', 'service name (default: the folder name)')
  .option('--packages <list>', 'comma-separated Debian packages')
  .action(async (dir, options) => run(commands.init, (c) => c.initCommand(dir, options)));

program
  .command('lock')
  .description('resolve the spec against the signed repositories and write herd.lock')
  .argument('[spec]', 'herd.yaml or its folder', '.')
  .option(
    '--check',
    'exit 1 and list the changes when the archive has newer versions than the lock, 3 when it went back',
  )
  .option('--allow-downgrade', 'accept a Release older than one herd accepted before (a snapshot mirror)')
  .action(async (spec, options) => run(commands.lock, (c) => c.lockCommand(spec, options)));

program
  .command('build')
  .description('build the image from herd.lock into the store (locks first if there is no lock)')
  .argument('[spec]', 'herd.yaml or its folder', '.')
  .option('--json', 'print the result as JSON')
  .option('--no-gate', 'do not gate the image (it cannot be signed until herd gate passes)')
  .option('--allow-downgrade', 'when locking, accept a Release older than one herd accepted before')
  .action(async (spec, options) => run(commands.build, (c) => c.buildCommand(spec, options)));

program
  .command('gate')
  .description('judge an image: hardening rules, secret scan, known vulnerabilities; exit 1 when it fails')
  .argument('<ref>', 'digest, digest prefix or name in the store')
  .option('--spec <path>', "the image's herd.yaml (or its folder): its waivers, budget and health apply")
  .option('--profile <profile>', "baseline or strict (default: the spec's gate.profile, else baseline)")
  .option('--format <format>', 'text, json or sarif', 'text')
  .option('-o, --output <file>', 'write the report to a file instead of standard output')
  .action(async (ref, options) => run(commands.gate, (c) => c.gateCommand(ref, options)));

const vulndb = program
  .command('vulndb')
  .description('the Debian vulnerability data the gate matches against');
vulndb
  .command('update')
  .description("load the security tracker's data (or OSV records) into HERD_HOME/vulndb")
  .option(
    '--from <url|file>',
    `tracker JSON (plain or gzip) or OSV records (default HERD_VULNDB_URL, else ${trackerDataUrl})`,
  )
  .option('--suite <codename...>', 'keep only these suites, e.g. bookworm')
  .action(async (options) => run(commands.vulndb, (c) => c.vulndbUpdateCommand(options)));

const image = program.command('image').description('images in the local store');
image
  .command('ls')
  .description('list images')
  .action(async () => run(commands.image, (c) => c.imageListCommand()));
image
  .command('inspect')
  .description('show an image manifest, config and attached artifacts')
  .argument('<ref>', 'digest, digest prefix or name')
  .action(async (ref) => run(commands.image, (c) => c.imageInspectCommand(ref)));
image
  .command('export')
  .description('write an image as an archive that podman, skopeo and docker load')
  .argument('<ref>', 'digest, digest prefix or name')
  .requiredOption('--format <format>', 'oci-archive or docker-archive')
  .requiredOption('-o, --output <file>', 'archive path')
  .action(async (ref, options) => run(commands.image, (c) => c.imageExportCommand(ref, options)));

const keys = program.command('keys').description('signing keys');
keys
  .command('generate')
  .description(
    'write a cosign-compatible key pair (password from HERD_KEY_PASSWORD or a prompt) and trust it',
  )
  .option('-o, --output <prefix>', 'write <prefix>.key and <prefix>.pub instead of HERD_HOME/keys/cosign.*')
  .action(async (options) => run(commands.trust, (c) => c.keysGenerateCommand(options)));

program
  .command('sign')
  .description("sign an image and attest its SBOMs and provenance, in cosign's format")
  .argument('<ref>', 'digest, digest prefix or name in the store')
  .option('--key <file>', 'cosign private key (default HERD_HOME/keys/cosign.key)')
  .option(
    '--identity <repository>',
    'the registry/repository the signature names (default localhost/<service>)',
  )
  .action(async (ref, options) => run(commands.trust, (c) => c.signCommand(ref, options)));

program
  .command('verify')
  .description("verify an image's signature (and attestations); exit 1 with the reason when it fails")
  .argument('<ref>', 'digest, digest prefix or name in the store')
  .option('--key <file>', 'public key (default: every trusted key)')
  .option('--attestations', 'also require the gate verdict and file manifest attestations by the signing key')
  .option(
    '--identity <repository>',
    'require a signature for this registry/repository (default for a registry image: its repository)',
  )
  .action(async (ref, options) => run(commands.trust, (c) => c.verifyCommand(ref, options)));

program
  .command('push')
  .description('push an image with its signatures, attestations and referrers to an OCI registry')
  .argument('<ref>', 'digest, digest prefix or name in the store')
  .argument('<destination>', '<registry>/<repository>[:tag]')
  .option(
    '--key <file>',
    'sign for the destination with this key first (default HERD_HOME/keys/cosign.key if present)',
  )
  .option('--no-sign', 'push the signatures the image has, without signing for the destination')
  .option('--insecure', 'plain http for a registry that is not on loopback')
  .action(async (ref, destination, options) =>
    run(commands.registry, (c) => c.pushCommand(ref, destination, options)),
  );

program
  .command('pull')
  .description('pull an image, its signatures and referrers into the store, verifying every digest')
  .argument('<reference>', '<registry>/<repository>[:tag|@digest]')
  .option('--insecure', 'plain http for a registry that is not on loopback')
  .action(async (reference, options) => run(commands.registry, (c) => c.pullCommand(reference, options)));

const render = program
  .command('render')
  .description("a fleet as another engine's own objects, for a cluster herd does not drive");
render
  .command('kubernetes')
  .description(
    'the Kubernetes objects of a fleet (Deployment, namespace, RBAC, admission policy, ClusterImagePolicy) for kubectl apply; the image must pass admission',
  )
  .argument('[spec]', 'herd.yaml or its folder', '.')
  .requiredOption('--image <ref>', 'digest, digest prefix or name in the store')
  .requiredOption(
    '--repository <repo>',
    'where the cluster pulls it from, e.g. registry.example:5000/team/hello',
  )
  .option('--namespace <name>', "the fleet's namespace (default: the service name)")
  .option('--also-admitted <ref...>', 'other digests the namespace may keep running (a rollout in progress)')
  .option('--format <format>', 'yaml or json (a List)', 'yaml')
  .option('-o, --output <file>', 'write to a file instead of standard output')
  .action(async (spec, options) => run(commands.render, (c) => c.renderKubernetesCommand(spec, options)));

program
  .command('serve')
  .description('the control plane: the fleet API, the fleets, and the store read-only at /v2/')
  .option('--port <port>', 'port', '5000')
  .option('--host <address>', 'address to bind', '127.0.0.1')
  .option('--v2-auth <mode>', 'none (open, read-only) or token: /v2/ pulls need a token too', 'none')
  .option(
    '--spec <dir>',
    "keep this spec's fleet patched by replacement (repeatable; herd up registers its own; only herd's user may be able to change it)",
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .action(async (options) => {
    // The lock first, before the control plane's modules load: a second serve answers at once.
    await run(commands.home, (home) =>
      home.withHomeClaimed('herd serve', async (lock) =>
        (await commands.fleet()).serveCommand(options, lock),
      ),
    );
    exitAfterControlPlane();
  });

const token = program
  .command('token')
  .description('tokens for the fleet API over TCP (HERD_URL, HERD_TOKEN); the local CLI needs none');
token
  .command('create')
  .description('create a token and print it, once')
  .requiredOption('--role <role>', 'viewer, operator, releaser or admin')
  .option('--name <name>', 'a name for the journal (default <role>-<id>)')
  .option('--json', 'print the token and its id, name and role as JSON')
  .action(async (options) => run(commands.token, (c) => c.tokenCreateCommand(options)));
token
  .command('ls')
  .description('list tokens: name, id, role, created, last used (never the token)')
  .option('--json', 'print as JSON')
  .action(async (options) => run(commands.token, (c) => c.tokenListCommand(options)));
token
  .command('revoke')
  .description('revoke a token by id or name; it stops working at once')
  .argument('<token>', 'id or name')
  .action(async (ref) => run(commands.token, (c) => c.tokenRevokeCommand(ref)));

program
  .command('release')
  .description('record service -> digest at a stage; only signed, unrevoked digests')
  .argument('<service>')
  .argument('<ref>', 'digest, digest prefix or name in the store')
  .requiredOption('--stage <stage>', 'candidate, accepted or production')
  .action(async (service, ref, options) =>
    run(commands.catalog, (c) => c.releaseCommand(service, ref, options)),
  );

program
  .command('revoke')
  .description('revoke a digest: it never releases or runs again')
  .argument('<service>')
  .argument('<ref>', 'digest, digest prefix or name in the store')
  .requiredOption('--reason <text>', 'why, for the journal')
  .action(async (service, ref, options) =>
    run(commands.catalog, (c) => c.revokeCommand(service, ref, options)),
  );

program
  .command('catalog')
  .description('released digests and their stages')
  .argument('[service]')
  .option('--json', 'print as JSON')
  .action(async (service, options) => run(commands.catalog, (c) => c.catalogCommand(service, options)));

const journal = program
  .command('journal')
  .description('the hash-chained audit trail of builds, signatures, pushes and releases')
  .option('--service <name>', 'only this service')
  .option('--since <when>', 'an ISO date, or a duration back from now such as 12h or 7d')
  .option(
    '--verify',
    'check the hash chain, the catalog against it and both against the signed checkpoint; exit 1 and name what broke',
  )
  .option(
    '--checkpoint <file|ref>',
    'with --verify: check against this checkpoint (a file, or one pushed to a registry)',
  )
  .option('--insecure', 'plain http for a registry that is not on loopback')
  .option('--json', 'print entries as JSON')
  .action(async (options) => run(commands.journal, (c) => c.journalCommand(options)));
journal
  .command('checkpoint')
  .description("sign a checkpoint of the journal's head now (herd does after each command that journals)")
  .option(
    '--push <registry/repository[:tag]>',
    'also attach it to a registry as an OCI artifact (tag journal-checkpoint)',
  )
  .option('--insecure', 'plain http for a registry that is not on loopback')
  .action(async (options) => run(commands.journal, (c) => c.journalCheckpointCommand(options)));

program
  .command('up')
  .description(
    'build, gate, sign, release and roll out a spec on the local engine, and serve it (foreground)',
  )
  .argument('[dir]', 'the spec folder', 'examples/hello')
  .option('--port <port>', 'port of the control plane (API and /v2/); default: a free one')
  .option('--allow-downgrade', 'when locking, accept a Release older than one herd accepted before')
  .action(async (dir, options) => {
    await run(commands.home, (home) =>
      home.withHomeClaimed('herd up', async (lock) => (await commands.fleet()).upCommand(dir, options, lock)),
    );
    exitAfterControlPlane();
  });

program
  .command('status')
  .description("a fleet's revision, rollout state and instances (from the running control plane)")
  .argument('[service]')
  .option('--json', 'print as JSON')
  .action(async (service, options) => run(commands.fleet, (c) => c.statusCommand(service, options)));

program
  .command('rollout')
  .description(
    'roll a fleet out to a signed, gate-passed, released digest; health-gated, reverted on failure',
  )
  .argument('<service>')
  .argument('<ref>', 'digest, digest prefix or name in the store')
  .option('--spec <dir>', "the service's herd.yaml (needed for a fleet's first rollout)")
  .action(async (service, ref, options) =>
    run(commands.fleet, (c) => c.rolloutCommand(service, ref, options)),
  );

program
  .command('rollback')
  .description('roll a fleet back to its previous good revision')
  .argument('<service>')
  .action(async (service) => run(commands.fleet, (c) => c.rollbackCommand(service)));

program
  .command('scale')
  .description('set the number of instances of a fleet')
  .argument('<service>')
  .argument('<size>')
  .action(async (service, size) => run(commands.fleet, (c) => c.scaleCommand(service, size)));

program
  .command('pause')
  .description("hold a fleet's rollout where it is; scaling and replacing unhealthy instances go on")
  .argument('<service>')
  .action(async (service) => run(commands.fleet, (c) => c.pauseCommand(service)));

program
  .command('resume')
  .description("let a paused fleet's rollout go on")
  .argument('<service>')
  .action(async (service) => run(commands.fleet, (c) => c.resumeCommand(service)));

program
  .command('logs')
  .description("a fleet's output from the log store, destroyed instances included")
  .argument('<service>')
  .option('--instance <id>', 'only this instance (id or prefix)')
  .option('--since <time>', 'from this time on: a duration ago (10m, 2h) or an ISO 8601 time')
  .option('--grep <re>', 'only lines matching this regular expression')
  .option('--tail <lines>', 'the newest lines to show', '100')
  .option('-f, --follow', 'then print new lines as they come, until Ctrl-C')
  .action(async (service, options) => run(commands.fleet, (c) => c.logsCommand(service, options)));

const fim = program
  .command('fim')
  .description(
    'file integrity for hosts built from herd images (AIDE exit codes: 1 added, 2 removed, 4 changed)',
  );
fim
  .command('init')
  .description('record every entry under <dir> in a signed baseline')
  .argument('<dir>', 'the tree to record, e.g. /usr')
  .option('-o, --output <file>', 'baseline file (default HERD_HOME/fim/<dir name>.baseline)')
  .option('--key <file>', 'cosign private key (default HERD_HOME/keys/cosign.key)')
  .option('--cross-mounts', 'also enter other filesystems mounted under <dir>')
  .option('--workers <n>', 'hash threads (default: one per core)')
  .action(async (dir, options) => {
    await run(commands.fim, (c) => c.fimInitCommand(dir, options));
  });
fim
  .command('check')
  .description("verify the baseline's signature, then report what was added, removed or changed")
  .argument('<dir>', 'the tree to check')
  .option('--baseline <file>', 'baseline file (default HERD_HOME/fim/<dir name>.baseline)')
  .option('--key <file>', 'public key (default: every trusted key)')
  .option('--full', 're-hash every file, as AIDE does (default: trust size+mtime+ctime+inode)')
  .option('--workers <n>', 'hash threads (default: one per core)')
  .action(async (dir, options) => {
    await run(commands.fim, (c) => c.fimCheckCommand(dir, options));
  });

program
  .command('verify-instance')
  .description("hash an instance's whole filesystem against its signed file manifest (exit 1 on drift)")
  .argument('<id>', 'instance id or its prefix')
  .option('--json', 'print as JSON')
  .action(async (id, options) => {
    await run(commands.watch, (c) => c.verifyInstanceCommand(id, options));
  });
program
  .command('debug')
  .description(
    'break-glass: run a shell (or the program after --) in an instance; journaled with the reason, recorded, and the instance destroyed after',
  )
  .argument('<instance>', 'instance id or its prefix')
  .argument('[command...]', 'the program and its arguments (default /bin/sh)')
  .option('--reason <text>', 'why: it goes into the journal (required)')
  .option('--ttl <duration>', 'the longest the session may last (at most 1h)', '10m')
  .action(async (instance, command, options) => {
    await run(commands.debug, (c) => c.debugCommand(instance, command, options));
  });
program
  .command('incidents')
  .description('drift, exec, process and untrusted-manifest incidents, newest first')
  .option('--service <service>')
  .option('--json', 'print as JSON')
  .action(async (options) => {
    await run(commands.watch, (c) => c.incidentsCommand(options));
  });

program
  .command('check')
  .description(
    'check deployed images for updates, fixed CVEs, policy and age now, starting runs as the policy says; exit 1 when something is found',
  )
  .argument('[service]', 'one fleet (default: every fleet with a registered spec)')
  .option('--json', 'print as JSON')
  .action(async (service, options) => run(commands.pipeline, (c) => c.checkCommand(service, options)));

const pipeline = program
  .command('pipeline')
  .description('remediation runs: lock, build, gate, sign, accept, release, approve, promote, rollout');
pipeline
  .command('ls')
  .description('the runs, newest first')
  .option('--service <service>', 'only this fleet')
  .option('--limit <n>', 'at most this many runs (default 50)')
  .option('--json', 'print as JSON')
  .action(async (options) => run(commands.pipeline, (c) => c.pipelineListCommand(options)));
pipeline
  .command('show')
  .description("a run's stages with their status and duration, its findings, error and time-to-remediate")
  .argument('<id>')
  .option('--json', 'print as JSON')
  .action(async (id, options) => run(commands.pipeline, (c) => c.pipelineShowCommand(id, options)));
pipeline
  .command('logs')
  .description('what each stage of a run said')
  .argument('<id>')
  .option('--stage <stage>', 'only this stage')
  .action(async (id, options) => run(commands.pipeline, (c) => c.pipelineLogsCommand(id, options)));

program
  .command('approve')
  .description('let a run held for approval go on to production and its rollout')
  .argument('<id>', 'the run, as herd pipeline ls shows it')
  .action(async (id) => run(commands.pipeline, (c) => c.approveCommand(id)));

/**
 * The control plane has closed everything it owns (herd.db, the engine, the sockets): a handle
 * something still holds (a connection the engine's socket never closed, a poll a run left) must not
 * keep a stopped `herd serve` alive, so the process ends here.
 */
function exitAfterControlPlane(): never {
  process.exit(process.exitCode ?? 0);
}

/** Loads a command's module, runs the command and sets the exit code from what it returns. */
async function run<Module>(
  load: () => Promise<Module>,
  command: (loaded: Module) => Promise<number>,
): Promise<void> {
  try {
    process.exitCode = await command(await load());
  } catch (thrown) {
    await report(thrown);
    process.exitCode = 2;
  } finally {
    if (journaledPending()) await (await import('./journal-checkpointing.js')).checkpointIfJournaled();
  }
}

async function report(thrown: unknown): Promise<void> {
  const [{ HerdError }, { herdHome }, { explainStateFailure, stateMigrations }] = await Promise.all([
    import('../herd-error.js'),
    import('../herd-home.js'),
    import('../state/index.js'),
  ]);
  // SQLite's errors come from herd.db, and name neither it nor the table: say which.
  const error = explainStateFailure(thrown, herdHome().stateDb, stateMigrations);
  if (error instanceof HerdError) {
    console.error(`herd: ${error.message}`);
  } else {
    console.error(`herd: unexpected error: ${(error as Error).stack ?? String(error)}`);
  }
}

// `herd status web | head -2`: a reader that stops early is normal use, not an error. Node
// reports it as an EPIPE error on stdout; end quietly, as a Unix tool does on SIGPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

await program.parseAsync(process.argv);
