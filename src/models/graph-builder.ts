// A small imperative builder over the ONNX writer: declare inputs, add seeded weights and ops,
// get value names back. Builders for the tiny components read as a forward pass.
import {
  encodeModel,
  type AttrValue,
  type Dim,
  type ElemType,
  type NodeDef,
  type TensorData,
  type TensorDef,
  type ValueInfoDef,
} from './onnx-writer.js';
import { streamFor } from './prng.js';
import { VERSION } from '../version.js';

/** An encoded model plus its builder, whose `weights` the reference forward passes read. */
export interface BuiltModel {
  bytes: Uint8Array;
  builder: GraphBuilder;
}

export class GraphBuilder {
  /** Every initializer by name; the TypeScript reference forward passes read weights from here. */
  readonly weights = new Map<string, TensorDef>();
  private readonly nodes: NodeDef[] = [];
  private readonly inputs: ValueInfoDef[] = [];
  private readonly outputs: ValueInfoDef[] = [];
  private nextId = 0;

  constructor(
    readonly name: string,
    readonly seed: number,
  ) {}

  input(name: string, dtype: ElemType, dims: readonly Dim[]): string {
    this.inputs.push({ name, dtype, dims });
    return name;
  }

  /** Declares `value` as a graph output called `name` (an Identity renames it when needed). */
  output(name: string, value: string, dtype: ElemType, dims: readonly Dim[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name: `out_${name}` });
    this.outputs.push({ name, dtype, dims });
  }

  initializer(name: string, dtype: ElemType, dims: readonly number[], data: TensorData): string {
    if (this.weights.has(name)) throw new Error(`duplicate initializer ${name}`);
    this.weights.set(name, { name, dtype, dims, data });
    return name;
  }

  /**
   * A float32 weight drawn uniformly from [-limit, limit) out of a stream keyed by (seed, name),
   * so a weight's values do not depend on the order tensors were created in.
   */
  weight(name: string, dims: readonly number[], limit: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    return this.initializer(name, 'float32', dims, streamFor(this.seed, name).fill(count, limit));
  }

  /** Weight scaled like PyTorch's default Linear init: std ≈ 1/sqrt(fanIn). */
  linearWeight(name: string, fanIn: number, fanOut: number): string {
    return this.weight(name, [fanIn, fanOut], Math.sqrt(3 / fanIn));
  }

  /** Values near `center` (LayerNorm gains near 1, biases near 0) so that tests exercise them. */
  around(name: string, dims: readonly number[], center: number, spread: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const data = streamFor(this.seed, name).fill(count, spread);
    for (let i = 0; i < count; i++) data[i] += center;
    return this.initializer(name, 'float32', dims, data);
  }

  constFloat(values: readonly number[] | number, dims?: readonly number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    return this.initializer(this.fresh('cf'), 'float32', dims ?? (typeof values === 'number' ? [] : [arr.length]), new Float32Array(arr));
  }

  constInt64(values: readonly number[] | number, dims?: readonly number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    const data = BigInt64Array.from(arr.map((v) => BigInt(v)));
    return this.initializer(this.fresh('ci'), 'int64', dims ?? (typeof values === 'number' ? [] : [arr.length]), data);
  }

  op(opType: string, inputs: readonly string[], attributes?: Record<string, AttrValue>): string {
    return this.opN(opType, inputs, 1, attributes)[0];
  }

  opN(opType: string, inputs: readonly string[], outputCount: number, attributes?: Record<string, AttrValue>): string[] {
    const id = this.nextId++;
    const outputs = Array.from({ length: outputCount }, (_, k) => `${opType.toLowerCase()}_${id}${outputCount > 1 ? `_${k}` : ''}`);
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${id}`, attributes });
    return outputs;
  }

  /** Encodes the model; weights are referenced, so this costs one copy of the parameters. */
  encode(metadata: Record<string, string> = {}): Uint8Array {
    return encodeModel({
      graph: {
        name: this.name,
        nodes: this.nodes,
        initializers: [...this.weights.values()],
        inputs: this.inputs,
        outputs: this.outputs,
      },
      producerName: 'cornserve',
      producerVersion: VERSION,
      metadata: { seed: String(this.seed), ...metadata },
    });
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.nextId++}`;
  }
}
