/**
 * The typed fleet API client (src/server/api-client.ts) for a control plane a test started on
 * `home`: over its Unix socket, as the local CLI calls it, with no token.
 */
import { join } from 'node:path';
import { apiClient } from '../../src/server/api-client.js';

export function localApi(home: string) {
  return apiClient({ kind: 'socket', socketPath: join(home, 'control-plane.sock') });
}
