import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildRequestGraph,
  buildRequestGraphs,
  classifyRequest,
  GraphError,
  servedModelNames,
} from '../../../src/runtime/dispatcher/graph.js';
import { planInvocations } from '../../../src/runtime/dispatcher/invocations.js';
import { validator } from '../../../src/spec/schemas.js';
import { MONOLITHIC, tinyPlan } from './fixtures/plans.js';
import type { Modality } from '../../../src/spec/types.generated.js';

const set = (...m: Modality[]): Set<Modality> => new Set(m);

describe('test fixture plans', () => {
  it('are valid plans', () => {
    const validate = validator('plan');
    for (const plan of [tinyPlan(), tinyPlan({ units: MONOLITHIC, device: 'gpu' })]) {
      assert.ok(validate(plan), JSON.stringify(validate.errors));
    }
  });
});

describe('classifyRequest', () => {
  const model = tinyPlan().model;

  it('matches input and output modalities exactly', () => {
    assert.equal((classifyRequest(model, { inputs: set('text'), outputs: set('text') }) as { type: { name: string } }).type.name, 'chat');
    assert.equal(
      (classifyRequest(model, { inputs: set('image', 'text'), outputs: set('text') }) as { type: { name: string } }).type.name,
      'vision',
    );
    assert.equal((classifyRequest(model, { inputs: set('text'), outputs: set('image') }) as { type: { name: string } }).type.name, 'draw');
  });

  it('falls back to the smallest type that covers the inputs', () => {
    const found = classifyRequest(model, { inputs: set('image'), outputs: set('text') });
    assert.ok('type' in found);
    assert.equal(found.type.name, 'vision');
  });

  it('selects by served model name first, then by modalities', () => {
    const ocr = { ...model.requestTypes[1], name: 'ocr', servedModel: 'tiny-ocr' };
    const both = { ...model, requestTypes: [...model.requestTypes, ocr] };
    const pick = (name?: string): string => {
      const found = classifyRequest(both, { model: name, inputs: set('text', 'image'), outputs: set('text') });
      return 'type' in found ? found.type.name : found.error;
    };
    assert.equal(pick('tiny-omni'), 'vision');
    assert.equal(pick('tiny-ocr'), 'ocr');
    assert.match(pick('gpt-4o'), /no request type is served as model 'gpt-4o'; models: tiny-omni, tiny-ocr/);
    assert.deepEqual(servedModelNames(both), ['tiny-omni', 'tiny-ocr']);
  });

  it('serves OpenAI\'s ["text","audio"] output with an audio type (its transcript is the text), audio in and out where a type takes it', () => {
    const speak = { ...model.requestTypes[0], name: 'speak', outputs: ['audio'] as [Modality] };
    const echo = {
      ...model.requestTypes[0],
      name: 'voice-chat',
      inputs: ['audio', 'text'] as [Modality, Modality],
      outputs: ['audio'] as [Modality],
    };
    const voiced = { ...model, requestTypes: [...model.requestTypes, speak, echo] };
    const pick = (inputs: Set<Modality>, outputs: Set<Modality>): string => {
      const found = classifyRequest(voiced, { inputs, outputs });
      return 'type' in found
        ? `${found.type.name}${found.ignoredInputs.length > 0 ? ` ignoring ${found.ignoredInputs.join(',')}` : ''}`
        : found.error;
    };
    assert.equal(pick(set('text'), set('text', 'audio')), 'speak');
    assert.equal(pick(set('text'), set('audio')), 'speak');
    assert.equal(pick(set('text', 'audio'), set('text', 'audio')), 'voice-chat');
    assert.equal(pick(set('audio'), set('text', 'audio')), 'voice-chat');
    // A model with a type that answers both is matched exactly, not reduced to audio.
    const both = { ...speak, name: 'speak-and-write', outputs: ['audio', 'text'] as [Modality, Modality] };
    const found = classifyRequest(
      { ...voiced, requestTypes: [...voiced.requestTypes, both] },
      { inputs: set('text'), outputs: set('text', 'audio') },
    );
    assert.ok('type' in found && found.type.name === 'speak-and-write');
    assert.match(pick(set('image'), set('text', 'audio')), /serves no request type for image → audio\+text/);
  });

  it('serves text sent along with an image to a type that reads no text (OCR), naming the text ignored', () => {
    const ocr = {
      ...model.requestTypes[1],
      name: 'ocr',
      servedModel: 'tiny-ocr',
      inputs: ['image'] as [Modality],
      path: ['enc'] as [string],
    };
    const withOcr = { ...model, requestTypes: [...model.requestTypes, ocr] };
    const found = classifyRequest(withOcr, { model: 'tiny-ocr', inputs: set('text', 'image'), outputs: set('text') });
    assert.ok('type' in found, JSON.stringify(found));
    assert.equal(found.type.name, 'ocr');
    assert.deepEqual(found.ignoredInputs, ['text']);
    // Text alone is still not an OCR request.
    const textOnly = classifyRequest(withOcr, { model: 'tiny-ocr', inputs: set('text'), outputs: set('text') });
    assert.ok('error' in textOnly);
    assert.match(textOnly.error, /model 'tiny-ocr' serves no request type for text → text; it serves ocr \(image → text\)/);
  });

  it('explains what is served when nothing fits', () => {
    const found = classifyRequest(model, { inputs: set('text', 'audio'), outputs: set('text') });
    assert.ok('error' in found);
    assert.match(
      found.error,
      /serves no request type for audio\+text → text; it serves chat \(text → text\), vision \(image\+text → text\), draw \(text → image\)/,
    );
  });
});

describe('buildRequestGraph', () => {
  const model = tinyPlan().model;

  it('builds the DAG of a type once: edges inside the path, emitters and payload parts', () => {
    const graphs = buildRequestGraphs(model);
    assert.deepEqual(graphs.get('vision'), {
      requestType: 'vision',
      inputs: ['text', 'image'],
      outputs: ['text'],
      invocations: [
        {
          component: 'enc',
          kind: 'encoder',
          modality: 'image',
          inputs: [],
          outputs: [{ to: 'llm', edge: 'enc->llm', streaming: false }],
          emits: [],
          reads: ['images'],
        },
        {
          component: 'llm',
          kind: 'llm',
          modality: 'text',
          inputs: [{ from: 'enc', edge: 'enc->llm', streaming: false }],
          outputs: [],
          emits: ['text'],
          reads: ['messages'],
        },
      ],
    });
    const draw = graphs.get('draw')!;
    assert.deepEqual(
      draw.invocations.map((i) => [i.component, i.emits, i.outputs.map((o) => o.edge)]),
      [
        ['llm', [], ['llm->gen']],
        ['gen', ['image'], []],
      ],
    );
  });

  it('refuses a path that lists a consumer before its producer', () => {
    const bad = { ...model.requestTypes[1], path: ['llm', 'enc'] as [string, ...string[]] };
    assert.throws(
      () => buildRequestGraph(model, bad),
      (e: Error) => e instanceof GraphError && /'enc' feeds 'llm' but comes after it/.test(e.message),
    );
  });

  it('refuses a type whose requested output nothing produces', () => {
    const bad = { ...model.requestTypes[0], outputs: ['audio'] as ['audio'] };
    assert.throws(() => buildRequestGraph(model, bad), /asks for audio output but no component on its path produces audio/);
  });
});

describe('planInvocations', () => {
  it('names producers by endpoint, or local when colocated, and sends each component only its part', () => {
    const graph = buildRequestGraphs(tinyPlan().model).get('vision')!;
    const payload = {
      messages: [
        {
          role: 'user' as const,
          content: [
            { type: 'text' as const, text: 'hi' },
            { type: 'image' as const, index: 0 },
          ],
        },
      ],
      images: [{ bytes: new Uint8Array([1, 2]), mime: 'image/png' }],
      params: { maxTokens: 3 },
    };
    const remote = planInvocations(
      'r1',
      graph,
      new Map([
        ['enc', 'E#0'],
        ['llm', 'L#1'],
      ]),
      (r) => `unix:/run/${r}.sock`,
      payload,
    );
    const [enc, llm] = remote.invocations;
    assert.equal(enc.replica, 'E#0');
    assert.deepEqual(enc.message.payload, { params: { maxTokens: 3 }, images: payload.images });
    assert.deepEqual(enc.message.invocation.outputs, [{ to: 'llm', edge: 'enc->llm', streaming: false, local: false }]);
    assert.deepEqual(llm.message.invocation.inputs, [
      { from: 'enc', edge: 'enc->llm', streaming: false, producer: { replica: 'E#0', address: 'unix:/run/E#0.sock' } },
    ]);
    assert.deepEqual(llm.message.payload, { params: { maxTokens: 3 }, messages: payload.messages });
    const colocated = planInvocations(
      'r2',
      graph,
      new Map([
        ['enc', 'M#0'],
        ['llm', 'M#0'],
      ]),
      () => 'unused',
      payload,
    );
    assert.equal(colocated.invocations[1].message.invocation.inputs[0].producer.address, 'local');
    assert.equal(colocated.invocations[0].message.invocation.outputs[0].local, true);
  });
});
