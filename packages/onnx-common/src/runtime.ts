/**
 * The onnxruntime API the shared code runs on: what onnxruntime-node and onnxruntime-web both re-export from
 * onnxruntime-common (`InferenceSession.create`, `Tensor`). Each backend passes its own package, so the shared
 * code never imports a runtime and bundles without one.
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { OpnpError } from '@opnp/core/base';

/** An onnxruntime session (onnxruntime-common's `InferenceSession`). */
export type OrtSession = InferenceSession;

/** onnxruntime session options (onnxruntime-common's `InferenceSession.SessionOptions`). */
export type OrtSessionOptions = InferenceSession.SessionOptions;

/** The outputs of a session run by name. */
export type OrtOutputs = InferenceSession.OnnxValueMapType;

/** An onnxruntime tensor. */
export type OrtTensor = Tensor;

/**
 * The part of an onnxruntime package that @opnp uses: `import * as ort from 'onnxruntime-node'` (or
 * `'onnxruntime-web'`) is one.
 */
export interface OrtRuntime {
  readonly InferenceSession: {
    create(buffer: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession>;
  };
  readonly Tensor: TensorConstructor;
}

/** The message of a thrown value. */
export function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Runs `session` on `feeds` (fetching `fetches`, default: every output), wrapping onnxruntime's errors as
 * `BACKEND_FAILURE` (`what` names the operation, `details` say what was run).
 */
export async function runSession(
  session: OrtSession,
  feeds: Record<string, OrtTensor>,
  what: string,
  details: { file?: string; expected?: string; actual?: string } = {},
  fetches?: readonly string[],
): Promise<OrtOutputs> {
  try {
    return await (fetches === undefined ? session.run(feeds) : session.run(feeds, [...fetches]));
  } catch (cause) {
    throw new OpnpError('BACKEND_FAILURE', `onnxruntime failed to run the ${what}: ${messageOf(cause)}`, { ...details, cause });
  }
}
