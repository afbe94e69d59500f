/**
 * What the main thread and the image workers (`image-worker.ts`) exchange: a task per chunk (a batch's samples),
 * a reply with its prepared batch and per-sample outcomes. Errors cross the thread boundary as data and are
 * rebuilt here with the same code, message and fields, so a skipped or fatal image reads exactly as it does
 * without workers.
 */
import { OpnpError, isOpnpError, type OpnpErrorCode } from '@opnp/core/base';
import type { PreparedChunk, RawSample, SampleOutcome } from '../dataset.js';
import type { PreprocessPlan } from '../preprocess.js';

/** One chunk to prepare. */
export interface WorkerTask {
  readonly id: number;
  readonly chunk: readonly RawSample[];
  readonly plan: PreprocessPlan;
}

/** An error as data: an `OpnpError`'s fields, or any other error (structured-cloned as it is). */
export type WorkerError =
  | {
      readonly kind: 'opnp';
      readonly code: OpnpErrorCode;
      readonly message: string;
      readonly fields: { file?: string; offset?: number; expected?: unknown; actual?: unknown; hint?: string };
      /** The cause's message (sharp's), when there is one. */
      readonly cause?: string;
    }
  | { readonly kind: 'other'; readonly error: unknown };

/** A {@link SampleOutcome} with its error as data. */
export type WorkerOutcome = { readonly ok: true; readonly height: number; readonly width: number } | { readonly ok: false; readonly error: WorkerError };

/** The reply to a {@link WorkerTask}: its {@link PreparedChunk} with errors as data, or why it failed as a whole. */
export type WorkerReply = { readonly id: number; readonly outcomes: readonly WorkerOutcome[]; readonly data: Float32Array } | { readonly id: number; readonly failure: WorkerError };

/** A prepared chunk as a reply (its data to be transferred, not copied). */
export function toReply(id: number, prepared: PreparedChunk): WorkerReply {
  return { id, outcomes: prepared.outcomes.map((o) => (o.ok ? o : { ok: false, error: serializeError(o.error) })), data: prepared.data };
}

/** The prepared chunk of a reply, errors rebuilt; throws the error of a chunk that failed as a whole. */
export function fromReply(reply: WorkerReply): PreparedChunk {
  if ('failure' in reply) throw reviveError(reply.failure);
  return { outcomes: reply.outcomes.map((o): SampleOutcome => (o.ok ? o : { ok: false, error: reviveError(o.error) })), data: reply.data };
}

function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return String(value);
  }
}

/** `error` as data for `postMessage`. */
export function serializeError(error: unknown): WorkerError {
  if (!isOpnpError(error)) return { kind: 'other', error: error instanceof Error ? error : cloneable(error) };
  const fields = {
    ...(error.file !== undefined ? { file: error.file } : {}),
    ...(error.offset !== undefined ? { offset: error.offset } : {}),
    ...(error.expected !== undefined ? { expected: cloneable(error.expected) } : {}),
    ...(error.actual !== undefined ? { actual: cloneable(error.actual) } : {}),
    ...(error.hint !== undefined ? { hint: error.hint } : {}),
  };
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return { kind: 'opnp', code: error.code, message: error.message, fields, ...(cause !== undefined ? { cause } : {}) };
}

/** The error a {@link WorkerError} describes: an `OpnpError` with the same code, message and fields. */
export function reviveError(data: WorkerError): unknown {
  if (data.kind === 'other') return data.error;
  // No details given to the constructor: the message is taken as it is (it already names the file and the rest).
  const error = new OpnpError(data.code, data.message, data.cause !== undefined ? { cause: new Error(data.cause) } : {});
  return Object.assign(error, data.fields);
}
