/**
 * The GraphDef JSON of a TensorFlow.js graph model (`model.json` `modelTopology`), as the converter writes it:
 * nodes with `op`, `input` (`"name"`, `"name:1"`, `"^control"`) and `attr` values (strings base64-encoded,
 * integers as decimal strings). Helpers to read attributes and a small builder for new graphs.
 */
import type { io } from '@tensorflow/tfjs-core';

/** One attribute value of a GraphDef node (the subset TensorFlow.js reads). */
export interface GraphAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; type?: string[] };
  tensor?: unknown;
}

/** A GraphDef node. */
export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, GraphAttr>;
  device?: string;
}

/** The `modelTopology` of a graph model. */
export interface GraphDefJson {
  node: GraphNode[];
  library?: unknown;
  versions?: unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Base64 of a UTF-8 string (GraphDef `s` attributes), with the web platform's `btoa` (no `Buffer`). */
export function encodeAttrString(value: string): string {
  let binary = '';
  for (const byte of encoder.encode(value)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Decodes a GraphDef `s` attribute: standard or URL-safe base64, padded or not (protobuf's JSON mapping accepts
 * all four); `undefined` for a missing or malformed value.
 */
export function decodeAttrString(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let binary: string;
  try {
    binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  return decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** Node name of an input reference (`"a:1"` -> `"a"`, `"^a"` -> `"a"`). */
export function inputNodeName(ref: string): string {
  const name = ref.startsWith('^') ? ref.slice(1) : ref;
  const colon = name.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(name.slice(colon + 1)) ? name.slice(0, colon) : name;
}

/** Data inputs of a node (control inputs `^x` dropped). */
export function dataInputs(node: GraphNode): string[] {
  return (node.input ?? []).filter((i) => !i.startsWith('^'));
}

/** A boolean attribute (default `false`). */
export function boolAttr(node: GraphNode, name: string): boolean {
  return node.attr?.[name]?.b === true;
}

/** A string-list attribute, decoded. */
export function stringListAttr(node: GraphNode, name: string): string[] {
  return (node.attr?.[name]?.list?.s ?? []).map((s) => decodeAttrString(s) ?? '');
}

/** Attribute constructors. */
export const attr = {
  type: (t: 'DT_FLOAT' | 'DT_INT32' = 'DT_FLOAT'): GraphAttr => ({ type: t }),
  string: (s: string): GraphAttr => ({ s: encodeAttrString(s) }),
  strings: (s: string[]): GraphAttr => ({ list: { s: s.map(encodeAttrString) } }),
  ints: (i: number[]): GraphAttr => ({ list: { i: i.map(String) } }),
  int: (i: number): GraphAttr => ({ i: String(i) }),
  float: (f: number): GraphAttr => ({ f }),
  bool: (b: boolean): GraphAttr => ({ b }),
  shape: (dims: readonly (number | null)[]): GraphAttr => ({ shape: { dim: dims.map((d) => ({ size: String(d ?? -1) })) } }),
};

/**
 * Builds a graph model (GraphDef JSON + weights) node by node. Constants become `Const` nodes whose values
 * go into the weights manifest, as the TensorFlow.js converter does.
 */
export class GraphDefBuilder {
  readonly nodes: GraphNode[] = [];
  private readonly specs: io.WeightsManifestEntry[] = [];
  private readonly buffers: Uint8Array[] = [];
  private readonly taken = new Set<string>();
  /** Names handed out by {@link name} and not yet given to a node. */
  private readonly reserved = new Set<string>();

  constructor(existing: Iterable<string> = []) {
    for (const name of existing) this.taken.add(name);
  }

  /** A fresh node name `prefix` (or `prefix_k` when taken). */
  name(prefix: string): string {
    let name = prefix;
    for (let k = 1; this.taken.has(name); k++) name = `${prefix}_${k}`;
    this.taken.add(name);
    this.reserved.add(name);
    return name;
  }

  /** Adds an existing node unchanged (its name must be unused). */
  addNode(node: GraphNode): string {
    this.taken.add(node.name);
    this.nodes.push(node);
    return node.name;
  }

  /** Adds a float32 or int32 `Const` node with the given values. */
  constant(prefix: string, values: Float32Array | Int32Array, shape: readonly number[]): string {
    const name = this.exact(this.name(prefix));
    const dtype = values instanceof Int32Array ? 'int32' : 'float32';
    this.nodes.push({ name, op: 'Const', attr: { dtype: attr.type(dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT'), value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } });
    this.specs.push({ name, shape: [...shape], dtype });
    this.buffers.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice());
    return name;
  }

  /** Adds existing weights (for nodes copied from another model): `bytes` holds the values of `specs`, in order. */
  addWeights(specs: readonly io.WeightsManifestEntry[], bytes: Uint8Array): void {
    this.specs.push(...specs);
    this.buffers.push(bytes);
  }

  /** Adds a float32 `Placeholder` input. */
  placeholder(name: string, shape: readonly (number | null)[]): string {
    return this.addNode({ name: this.exact(this.name(name)), op: 'Placeholder', attr: { dtype: attr.type(), shape: attr.shape(shape) } });
  }

  /** Adds an op node (float32 `T` attribute unless given); `name` is used as is (a fresh one from the op type if omitted). */
  op(op: string, inputs: string[], attrs: Record<string, GraphAttr> = {}, name?: string): string {
    const nodeName = this.exact(name ?? this.name(op));
    this.nodes.push({ name: nodeName, op, input: inputs, attr: { T: attr.type(), ...attrs } });
    return nodeName;
  }

  private exact(name: string): string {
    if (this.reserved.delete(name)) return name;
    if (this.taken.has(name)) throw new Error(`GraphDefBuilder: node name "${name}" is taken`);
    this.taken.add(name);
    return name;
  }

  /**
   * The model artifacts (`format: 'graph-model'`), with a signature naming the inputs and outputs (float32 unless
   * `outputDtypes` says otherwise, e.g. `{ is_ood: 'DT_BOOL' }`).
   */
  artifacts(inputs: { name: string; shape: readonly (number | null)[] }[], outputs: string[], outputDtypes: Readonly<Record<string, string>> = {}): io.ModelArtifacts {
    const total = this.buffers.reduce((a, b) => a + b.byteLength, 0);
    const weightData = new Uint8Array(total);
    let offset = 0;
    for (const b of this.buffers) {
      weightData.set(b, offset);
      offset += b.byteLength;
    }
    const tensorInfo = (name: string, shape?: readonly (number | null)[]) => ({
      name: `${name}:0`,
      dtype: outputDtypes[name] ?? 'DT_FLOAT',
      ...(shape ? { tensorShape: { dim: shape.map((d) => ({ size: String(d ?? -1) })) } } : {}),
    });
    return {
      format: 'graph-model',
      generatedBy: '@opnp/backend-tfjs',
      convertedBy: '@opnp/backend-tfjs GraphDefBuilder',
      modelTopology: { node: this.nodes, library: {}, versions: { producer: 1 } } satisfies GraphDefJson,
      weightSpecs: this.specs,
      weightData: weightData.buffer,
      signature: {
        inputs: Object.fromEntries(inputs.map((i) => [i.name, tensorInfo(i.name, i.shape)])),
        outputs: Object.fromEntries(outputs.map((o) => [o, tensorInfo(o)])),
      },
    };
  }
}
