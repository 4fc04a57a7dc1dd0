import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AutoscaleSection } from '../specfile/index.js';
import { template } from './controller.test-support.js';
import { FleetError } from './errors.js';
import { parseStoredTemplate } from './stored-template.js';

const where = 'the template of fleet web';

const autoscale: AutoscaleSection = {
  min: 2,
  max: 8,
  metrics: [
    { kind: 'cpu', averageUtilization: 70 },
    { kind: 'inFlightRequests', averageValue: 4 },
  ],
  syncPeriodSeconds: 15,
  behavior: { scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 300 } },
};

describe('a stored template with fleet.autoscale', () => {
  it('reads back as it was stored', () => {
    const stored = template({ size: 2, autoscale });

    assert.deepEqual(parseStoredTemplate(JSON.stringify(stored), where), stored);
  });

  it('is refused with the field named when its autoscale section was altered in herd.db', () => {
    const stored = template({ size: 2, autoscale: { ...autoscale, min: 0 } });

    assert.throws(
      () => parseStoredTemplate(JSON.stringify(stored), where),
      (error: unknown) =>
        error instanceof FleetError &&
        error.code === 'TEMPLATE_INVALID' &&
        /fleet\.autoscale\.min/.test(error.message),
    );
  });
});
