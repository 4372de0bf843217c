// Semantic checks of a model graph beyond its schema: references resolve, the graph is a DAG,
// each request type walks a connected sub-graph from its inputs to its outputs, and each
// component declares the work its kind needs and, when it has an executor spec, the graphs its
// engine needs.
import { checkExecutor, checkExternalEngineEdges } from './check-executor.js';
import { didYouMean, type Diagnostic } from './diagnostics.js';
import type { SourceFile } from './source-file.js';
import type { ModelGraph, RequestSizes } from './types.generated.js';
import { checkSizes } from './check-sizes.js';
import { servedModelOf } from './served-model.js';

export function checkModelGraph(file: SourceFile, graph: ModelGraph): Diagnostic[] {
  const out: Diagnostic[] = [];
  const names = new Set<string>();
  graph.components.forEach((c, i) => {
    if (names.has(c.name))
      out.push(file.diagnostic(['components', i, 'name'], 'graph.duplicate-component', `component '${c.name}' is defined twice`));
    names.add(c.name);
    const at = ['components', i, 'work'];
    if (c.kind === 'llm') {
      if (c.modality !== 'text')
        out.push(file.diagnostic(['components', i, 'modality'], 'graph.llm-modality', `LLM '${c.name}' must have modality text`));
      for (const field of ['prefillTokens', 'decodeTokens'] as const) {
        if (!c.work[field]) out.push(file.diagnostic(at, 'graph.missing-work', `LLM '${c.name}' needs work.${field}`));
      }
      if (c.work.units)
        out.push(
          file.diagnostic(
            [...at, 'units'],
            'graph.unexpected-work',
            `LLM '${c.name}' counts work in prefillTokens and decodeTokens, not units`,
            'key',
          ),
        );
    } else {
      if (c.kind === 'encoder' && c.modality === 'text')
        out.push(
          file.diagnostic(
            ['components', i, 'modality'],
            'graph.encoder-modality',
            `encoder '${c.name}' must encode image, video or audio, not text`,
          ),
        );
      if (!c.work.units) out.push(file.diagnostic(at, 'graph.missing-work', `${c.kind} '${c.name}' needs work.units`));
      for (const field of ['prefillTokens', 'decodeTokens'] as const) {
        if (c.work[field])
          out.push(
            file.diagnostic([...at, field], 'graph.unexpected-work', `${c.kind} '${c.name}' counts work in units, not ${field}`, 'key'),
          );
      }
    }
    if (c.sharesWeightsWith !== undefined) {
      const other = graph.components.find((x) => x.name === c.sharesWeightsWith);
      if (!other || other === c)
        out.push(
          file.diagnostic(
            ['components', i, 'sharesWeightsWith'],
            'ref.unknown-component',
            other === c
              ? `'${c.name}' cannot share weights with itself`
              : `sharesWeightsWith '${c.sharesWeightsWith}' is not a component${didYouMean(c.sharesWeightsWith, new Set(graph.components.map((x) => x.name)))}`,
          ),
        );
      else if (other.weightBytes !== c.weightBytes)
        out.push(
          file.diagnostic(
            ['components', i, 'weightBytes'],
            'graph.shared-weights',
            `'${c.name}' shares the weights of '${other.name}', so its weightBytes must be the same (${other.weightBytes}, not ${c.weightBytes})`,
          ),
        );
    }
    out.push(...checkExecutor(file, i, c));
  });

  const edgeKeys = new Set<string>();
  const producers = new Map<string, Set<string>>();
  graph.edges.forEach((e, i) => {
    for (const end of ['from', 'to'] as const) {
      if (!names.has(e[end]))
        out.push(
          file.diagnostic(
            ['edges', i, end],
            'ref.unknown-component',
            `edge ${end} '${e[end]}' is not a component${didYouMean(e[end], names)}`,
          ),
        );
    }
    if (e.from === e.to) out.push(file.diagnostic(['edges', i], 'graph.self-loop', `edge from '${e.from}' to itself`));
    const key = `${e.from}→${e.to}`;
    if (edgeKeys.has(key)) out.push(file.diagnostic(['edges', i], 'graph.duplicate-edge', `edge ${e.from} → ${e.to} is defined twice`));
    edgeKeys.add(key);
    if (!producers.has(e.to)) producers.set(e.to, new Set());
    producers.get(e.to)!.add(e.from);
  });

  const cycle = findCycle([...names], graph.edges);
  if (cycle) {
    const i = graph.edges.findIndex((e) => e.from === cycle[cycle.length - 2] && e.to === cycle[cycle.length - 1]);
    out.push(file.diagnostic(['edges', Math.max(0, i)], 'graph.cycle', `the graph has a cycle: ${cycle.join(' → ')}`));
  }

  const byName = new Map(graph.components.map((c) => [c.name, c]));
  const typeNames = new Set<string>();
  graph.requestTypes.forEach((t, i) => {
    const at = ['requestTypes', i];
    if (typeNames.has(t.name))
      out.push(file.diagnostic([...at, 'name'], 'graph.duplicate-type', `request type '${t.name}' is defined twice`));
    typeNames.add(t.name);
    const known = t.path.filter((c, j) => {
      if (byName.has(c)) return true;
      out.push(
        file.diagnostic(
          [...at, 'path', j],
          'ref.unknown-component',
          `request type '${t.name}' visits unknown component '${c}'${didYouMean(c, names)}`,
        ),
      );
      return false;
    });
    // The path lists producers before consumers; a component fed by no other on the path must
    // take the request's input itself (several encoders may each start one branch), and the
    // branches must meet: the path is one connected sub-graph.
    known.forEach((c, j) => {
      const inPath = [...(producers.get(c) ?? [])].filter((p) => known.includes(p));
      const late = inPath.find((p) => known.indexOf(p) > j);
      if (late) {
        out.push(
          file.diagnostic(
            [...at, 'path', t.path.indexOf(c)],
            'graph.path-order',
            `in request type '${t.name}', '${c}' comes before its producer '${late}' (list producers first)`,
          ),
        );
      } else if (inPath.length === 0 && j > 0 && byName.get(c)!.kind !== 'encoder') {
        out.push(
          file.diagnostic(
            [...at, 'path', t.path.indexOf(c)],
            'graph.disconnected-path',
            `in request type '${t.name}', '${c}' is not fed by any earlier component of the path (add an edge or reorder the path)`,
          ),
        );
      }
    });
    const unreached = unreachedInPath(known, graph.edges);
    if (unreached.length > 0) {
      out.push(
        file.diagnostic(
          [...at, 'path'],
          'graph.disconnected-path',
          `in request type '${t.name}', ${unreached.map((c) => `'${c}'`).join(', ')} ${unreached.length === 1 ? 'is' : 'are'} not connected to '${known[0]}' by any edge within the path`,
        ),
      );
    }
    for (const c of known) {
      const comp = byName.get(c)!;
      if (comp.kind === 'encoder' && !t.inputs.includes(comp.modality)) {
        out.push(
          file.diagnostic(
            [...at, 'path', t.path.indexOf(c)],
            'type.modality-mismatch',
            `request type '${t.name}' visits ${comp.modality} encoder '${c}' but has no ${comp.modality} input`,
          ),
        );
      }
      if (comp.kind === 'generator' && !t.outputs.includes(comp.modality)) {
        out.push(
          file.diagnostic(
            [...at, 'path', t.path.indexOf(c)],
            'type.modality-mismatch',
            `request type '${t.name}' visits ${comp.modality} generator '${c}' but does not ask for ${comp.modality} output`,
          ),
        );
      }
    }
    const comps = known.map((c) => byName.get(c)!);
    for (const m of t.inputs) {
      if (m === 'text') continue;
      if (!comps.some((c) => c.kind === 'encoder' && c.modality === m)) {
        out.push(
          file.diagnostic(
            [...at, 'inputs'],
            'type.unserved-input',
            `request type '${t.name}' takes ${m} input but its path has no ${m} encoder`,
          ),
        );
      }
    }
    for (const m of t.outputs) {
      // Text comes from an LLM or a text generator (an OCR recogniser, say); other modalities from their generator.
      const served = comps.some((c) => (c.kind === 'generator' && c.modality === m) || (m === 'text' && c.kind === 'llm'));
      if (!served)
        out.push(
          file.diagnostic(
            [...at, 'outputs'],
            'type.unserved-output',
            `request type '${t.name}' asks for ${m} output but its path has no ${m === 'text' ? 'LLM or text generator' : `${m} generator`}`,
          ),
        );
    }
    out.push(...checkSizes(file, [...at, 'sizes'], t.sizes as RequestSizes));
  });

  // A server picks the request type from the OpenAI model name and the modalities in and out,
  // so two types alike in all three could never both be reached.
  const selectors = new Map<string, string>();
  graph.requestTypes.forEach((t, i) => {
    const key = `${servedModelOf(graph, t)}|${[...t.inputs].sort().join('+')}|${[...t.outputs].sort().join('+')}`;
    const first = selectors.get(key);
    if (first !== undefined) {
      out.push(
        file.diagnostic(
          ['requestTypes', i, 'name'],
          'type.ambiguous',
          `request types '${first}' and '${t.name}' have the same servedModel and modalities, so a server cannot tell them apart; give one a different servedModel`,
        ),
      );
    } else selectors.set(key, t.name);
  });

  graph.components.forEach((c, i) =>
    (c.published ?? []).forEach((p, j) => {
      if (!typeNames.has(p.requestType)) {
        out.push(
          file.diagnostic(
            ['components', i, 'published', j, 'requestType'],
            'ref.unknown-type',
            `unknown request type '${p.requestType}'${didYouMean(p.requestType, typeNames)}`,
          ),
        );
      } else if (!graph.requestTypes.find((t) => t.name === p.requestType)!.path.includes(c.name)) {
        out.push(
          file.diagnostic(
            ['components', i, 'published', j, 'requestType'],
            'ref.type-skips-component',
            `request type '${p.requestType}' does not visit '${c.name}'`,
          ),
        );
      }
    }),
  );
  for (const c of names) {
    if (!graph.requestTypes.some((t) => t.path.includes(c))) {
      const i = graph.components.findIndex((x) => x.name === c);
      out.push(file.diagnostic(['components', i, 'name'], 'graph.unused-component', `component '${c}' is visited by no request type`));
    }
  }
  out.push(...checkExternalEngineEdges(file, graph));
  return out;
}

/** Components of `path` not linked to its first one through edges among path components (either direction). */
function unreachedInPath(path: string[], edges: { from: string; to: string }[]): string[] {
  if (path.length === 0) return [];
  const members = new Set(path);
  const reached = new Set([path[0]]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const e of edges) {
      if (!members.has(e.from) || !members.has(e.to) || reached.has(e.from) === reached.has(e.to)) continue;
      reached.add(e.from);
      reached.add(e.to);
      grew = true;
    }
  }
  return path.filter((c) => !reached.has(c));
}

/** A cycle as a list of names (first = last), or undefined for a DAG. */
function findCycle(names: string[], edges: { from: string; to: string }[]): string[] | undefined {
  const next = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const e of edges) next.get(e.from)?.push(e.to);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of next.get(n) ?? []) {
      if (state.get(m) === 'open') return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const found = visit(m);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of names) {
    if (!state.has(n)) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return undefined;
}
