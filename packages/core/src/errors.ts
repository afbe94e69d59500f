/**
 * The single error type of every `@opnp/*` package.
 *
 * Each error carries a machine-readable {@link OpnpErrorCode} and optional structured fields
 * (`expected`, `actual`, `file`, `offset`, `hint`); the message is built from them so it says what went
 * wrong, where, and what to do.
 */

/** Machine-readable error codes shared by all `@opnp/*` packages. */
export type OpnpErrorCode =
  | 'SHAPE_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'NON_FINITE'
  | 'EMPTY_INPUT'
  | 'DATASET_FORMAT'
  | 'DATASET_NOT_FOUND'
  | 'MODEL_FORMAT'
  | 'MODEL_HEAD_NOT_FOUND'
  | 'MODEL_HEAD_AMBIGUOUS'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_FAILURE'
  | 'IO_ERROR'
  | 'DISPOSED'
  /** A result was read while asynchronous work it depends on (e.g. an un-awaited `add()`) was still pending. */
  | 'PENDING_OPERATION'
  /** A resumable or reused artefact (checkpoint, partial output, shard state) belongs to another run. */
  | 'STATE_MISMATCH';

/** Structured details of an {@link OpnpError}. */
export interface OpnpErrorDetails {
  /** What was expected (a shape, a magic number, a range...). */
  expected?: unknown;
  /** What was found instead. */
  actual?: unknown;
  /** The file the problem is in, when there is one. */
  file?: string;
  /** Byte offset (binary formats) or entry index (lists, folders) of the problem. */
  offset?: number;
  /** What the user can do about it. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value); // NaN and Infinity, which JSON would print as null
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Whether `text` names `path` as a word of its own (not as part of another word or path). */
function namesPath(text: string, path: string): boolean {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:^|[\\s"'(])${escaped}(?=$|[\\s"'),;:]|\\.(?:\\s|$))`).test(text);
}

/**
 * Builds the user-facing message of an {@link OpnpError} from its summary and details. A file the summary already
 * names is not repeated (the `file` field still holds it).
 */
function formatMessage(summary: string, details: OpnpErrorDetails): string {
  let message = summary;
  const namesFile = details.file !== undefined && details.file !== '' && namesPath(summary, details.file);
  if (details.file !== undefined && !namesFile) message += ` (file: ${details.file}${details.offset !== undefined ? `, offset ${details.offset}` : ''})`;
  else if (details.offset !== undefined) message += ` (at offset ${details.offset})`;
  if (details.expected !== undefined) message += `; expected ${describe(details.expected)}`;
  if (details.actual !== undefined) message += `, got ${describe(details.actual)}`;
  if (details.hint !== undefined) message += `. ${details.hint}`;
  return message;
}

/**
 * Base error of the toolkit. Catch it and switch on {@link OpnpError.code}.
 *
 * @example
 * ```ts
 * try { fpr95([], [1]); } catch (e) { if (isOpnpError(e) && e.code === 'EMPTY_INPUT') ... }
 * ```
 */
export class OpnpError extends Error {
  override readonly name = 'OpnpError';
  readonly code: OpnpErrorCode;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly hint: string | undefined;

  constructor(code: OpnpErrorCode, summary: string, details: OpnpErrorDetails = {}) {
    super(formatMessage(summary, details), details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.expected = details.expected;
    this.actual = details.actual;
    this.file = details.file;
    this.offset = details.offset;
    this.hint = details.hint;
  }
}

/** Type guard for {@link OpnpError} that also works across duplicated package copies. */
export function isOpnpError(value: unknown): value is OpnpError {
  return value instanceof OpnpError || (value instanceof Error && value.name === 'OpnpError' && typeof (value as { code?: unknown }).code === 'string');
}
