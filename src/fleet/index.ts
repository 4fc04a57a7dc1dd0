/** What other folders use of src/fleet/ (docs/architecture.md, "Public entries"). */
export { FleetController, type FleetControllerOptions } from './controller.js';
export { FleetError } from './errors.js';
export { FleetStore } from './fleet-store.js';
export { FrontDoorError, FrontDoors } from './front-door.js';
export { HttpTcpProber } from './health-probe.js';
export { fleetTemplateFor, instanceSpecFor } from './instance-spec.js';
export type { FleetEvent, FleetStatus, FleetTemplate } from './types.js';
