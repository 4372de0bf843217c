// The recorded gateway snapshots under fixtures/: /metrics two seconds apart and one /status.
import { readFileSync } from 'node:fs';
import { snapshotFromText } from '../../../src/cli/ui/dashboard-model.js';
import type { StatusBody } from '../../../src/runtime/gateway/status.js';

export const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** 2025-01-01 12:00:04 UTC. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 4);
export const t0 = snapshotFromText(fixture('gateway-metrics-t0.prom'), T0);
export const t1 = snapshotFromText(fixture('gateway-metrics-t1.prom'), T0 + 2000);
export const status = JSON.parse(fixture('gateway-status.json')) as StatusBody;
