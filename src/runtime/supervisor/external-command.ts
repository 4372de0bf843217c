// Which units run on an external engine, and the command line of one replica from the model
// graph's template: split at whitespace (no shell, so nothing in it is interpreted), each
// {placeholder} replaced.
import { EXTERNAL_PLACEHOLDERS } from '../../spec/check-executor.js';
import type { Component, ExecutorUnit, ExternalEngine, Plan } from '../../spec/types.generated.js';

/** The external-engine component a unit holds, if it holds one (such a unit holds nothing else). */
export function externalComponentOf(
  plan: Pick<Plan, 'model'>,
  unit: Pick<ExecutorUnit, 'components'>,
): (Component & { externalEngine: ExternalEngine }) | undefined {
  return plan.model.components.find(
    (x): x is Component & { externalEngine: ExternalEngine } => unit.components.includes(x.name) && x.externalEngine !== undefined,
  );
}

export type ExternalValues = Record<(typeof EXTERNAL_PLACEHOLDERS)[number], string>;

const PLACEHOLDER = new RegExp(`\\{(${EXTERNAL_PLACEHOLDERS.join('|')})\\}`, 'g');

export function externalCommand(engine: ExternalEngine, values: Omit<ExternalValues, 'model'>): { file: string; args: string[] } {
  const all: ExternalValues = { ...values, model: engine.model };
  const [file, ...args] = engine.command
    .trim()
    .split(/\s+/)
    .map((word) => word.replace(PLACEHOLDER, (_, name: keyof ExternalValues) => all[name]));
  return { file, args };
}
