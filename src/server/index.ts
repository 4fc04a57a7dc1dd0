/** What other folders use of src/server/ (docs/architecture.md, "Public entries"). */
export { ApiRefusal, type ApiTarget, apiClient, describeTarget, unwrap } from './api-client.js';
export {
  CheckBody,
  DebugQuery,
  describeProblems,
  IncidentsQuery,
  InstanceParams,
  JournalQuery,
  LogLine,
  LogsQuery,
  PipelineQuery,
  RolloutBody,
  RunParams,
  ScaleBody,
  ServiceParams,
  TokenCreateBody,
  TokenParams,
} from './api-schemas.js';
export { type ControlPlane, startControlPlane } from './control-plane.js';
export { controlPlaneSocket } from './control-plane-socket.js';
export { attachDebugSession, type DebugTerminal } from './debug-client.js';
export { ServerError } from './errors.js';
export type { RemediationSetup } from './remediation-wiring.js';
export type { LogLineView } from './routes/log-api.js';
