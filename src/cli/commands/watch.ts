/**
 * `herd verify-instance <id>` and `herd incidents`: the integrity monitor's deep path on demand and
 * its incidents, asked of the running control plane (its socket, or HERD_URL with HERD_TOKEN).
 */
import { IncidentsQuery, InstanceParams } from '../../server/index.js';
import { checkedArguments } from '../api-arguments.js';
import { controlPlaneConnection } from '../control-plane-client.js';
import { formatTable } from '../format.js';

/** Exit 0 when the instance matches its signed manifest, 1 when it drifted or is untrusted. */
export async function verifyInstanceCommand(id: string, options: { json?: boolean }): Promise<number> {
  const param = checkedArguments('verify-instance', InstanceParams, { id });
  const { api, call } = controlPlaneConnection();
  const report = await call(api.instances[':id'].verify.$post({ param }));
  const clean = report.trusted && report.findings.length === 0;
  if (options.json) {
    console.log(JSON.stringify(report, null, 2));
    return clean ? 0 : 1;
  }
  const where = `${report.instance.slice(0, 12)} (${report.service}, ${report.digest})`;
  if (!report.trusted) {
    console.log(`${where}: untrusted: ${report.untrusted?.reason}`);
    return 1;
  }
  const read = `${report.entries} entries, ${(report.bytes / 1024 ** 2).toFixed(1)} MiB hashed in ${report.durationMs} ms`;
  if (clean) {
    console.log(`${where}: matches its signed file manifest (${read})`);
    return 0;
  }
  console.log(`${where}: ${report.findings.length} paths differ from the signed file manifest (${read})`);
  console.log(
    formatTable([
      ['CHANGE', 'PATH', 'WHY'],
      ...report.findings.map((finding) => [finding.change, finding.path, finding.reason]),
    ]),
  );
  console.log('the instance is being replaced; the evidence is in the store and the journal');
  return 1;
}

export async function incidentsCommand(options: { service?: string; json?: boolean }): Promise<number> {
  const query = checkedArguments(
    'herd incidents',
    IncidentsQuery,
    options.service ? { service: options.service } : {},
  );
  const { api, call } = controlPlaneConnection();
  const incidents = await call(api.incidents.$get({ query }));
  if (options.json) {
    console.log(JSON.stringify(incidents, null, 2));
    return 0;
  }
  console.log(
    formatTable([
      ['ID', 'SERVICE', 'INSTANCE', 'KIND', 'DETECTED', 'REPLACED', 'SUMMARY'],
      ...incidents.map((incident) => [
        String(incident.id),
        incident.service,
        incident.instance.slice(0, 12),
        incident.kind,
        incident.detectedAt,
        incident.replacedAt ?? '-',
        incident.summary,
      ]),
    ]),
  );
  return 0;
}
