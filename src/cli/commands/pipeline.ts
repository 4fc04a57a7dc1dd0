/**
 * The remediation loop from the command line: `herd check` runs the monitor's check now, `herd
 * pipeline ls|show|logs` show the runs and their stages, `herd approve` lets a held run go on to
 * production. Each asks the running control plane (its socket, or HERD_URL with HERD_TOKEN); the
 * loop runs there, and what it did is in the journal.
 */
import { runStages } from '../../pipeline/index.js';
import { CheckBody, PipelineQuery, RunParams } from '../../server/index.js';
import { checkedArguments } from '../api-arguments.js';
import { controlPlaneConnection } from '../control-plane-client.js';
import { CliError } from '../errors.js';
import { renderCheck, renderRun, renderRunsTable, renderStageOutputs } from '../pipeline-view.js';

/**
 * `herd check [service]`: exit 0 when nothing was found, 1 when a fleet has findings (a run may
 * have started for them: the output says), as `herd lock --check` does.
 */
export async function checkCommand(
  service: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  const json = checkedArguments('check', CheckBody, service ? { service } : {});
  const { api, call } = controlPlaneConnection();
  const outcomes = await call(api.check.$post({ json }));
  console.log(options.json ? JSON.stringify(outcomes, null, 2) : renderCheck(outcomes));
  // As lock --check: 1 when a rebuild has something to fix. Open CVEs with no fix yet are shown,
  // but most Debian images have some, and a script should not fail on what nobody can act on.
  return outcomes.some((outcome) => outcome.findings.some((finding) => finding.actionable)) ? 1 : 0;
}

/** `herd pipeline ls [--service s] [--limit n]`, newest first. */
export async function pipelineListCommand(options: {
  service?: string;
  limit?: string;
  json?: boolean;
}): Promise<number> {
  const query = checkedArguments('pipeline ls', PipelineQuery, {
    ...(options.service ? { service: options.service } : {}),
    ...(options.limit ? { limit: options.limit } : {}),
  });
  const { api, call } = controlPlaneConnection();
  const runs = await call(api.pipeline.$get({ query }));
  console.log(options.json ? JSON.stringify(runs, null, 2) : renderRunsTable(runs, Date.now()));
  return 0;
}

/** `herd pipeline show <id>`: every stage with its status and duration, the findings, the error. */
export async function pipelineShowCommand(id: string, options: { json?: boolean }): Promise<number> {
  const param = checkedArguments('pipeline show', RunParams, { id });
  const { api, call } = controlPlaneConnection();
  const run = await call(api.pipeline[':id'].$get({ param }));
  console.log(options.json ? JSON.stringify(run, null, 2) : renderRun(run, Date.now()));
  return 0;
}

/** `herd pipeline logs <id> [--stage s]`: what each stage said. */
export async function pipelineLogsCommand(id: string, options: { stage?: string }): Promise<number> {
  const param = checkedArguments('pipeline logs', RunParams, { id });
  const { stage } = options;
  if (stage !== undefined && !(runStages as readonly string[]).includes(stage)) {
    throw new CliError(
      'ARGUMENT_INVALID',
      `pipeline logs: --stage expected one of ${runStages.join(', ')}, got "${stage}"`,
    );
  }
  const { api, call } = controlPlaneConnection();
  const logs = await call(api.pipeline[':id'].logs.$get({ param }));
  const stages = stage ? logs.stages.filter((record) => record.stage === stage) : logs.stages;
  if (stage && stages.length === 0) {
    const reached = logs.stages.map((record) => record.stage).join(', ') || 'none';
    throw new CliError(
      'ARGUMENT_INVALID',
      `run ${logs.id} has not reached its ${stage} stage (stages run: ${reached})`,
    );
  }
  console.log(stages.length === 0 ? `run ${logs.id} has started no stage yet` : renderStageOutputs(stages));
  return 0;
}

/** `herd approve <id>`: a run held at its approve stage goes on to production and its rollout. */
export async function approveCommand(id: string): Promise<number> {
  const param = checkedArguments('approve', RunParams, { id });
  const { api, call } = controlPlaneConnection();
  const run = await call(api.pipeline[':id'].approve.$post({ param }));
  console.log(
    `run ${run.id} (${run.service}) approved: it goes on to production and the rollout; herd pipeline show ${run.id} follows it`,
  );
  return 0;
}
