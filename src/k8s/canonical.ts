// The plan as the ConfigMap carries it: src/plan's canonical JSON (sorted keys, rounded numbers),
// so a plan file the planner wrote lands byte for byte, and any formatting of the same plan gives
// the same manifests. Its digest annotates pods, so a changed plan rolls them.
import { createHash } from 'node:crypto';
export { canonicalJson } from '../plan/canonical.js';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
