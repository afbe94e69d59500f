/**
 * The model backends' messages name library options the command line has no flag for (`headNode`,
 * `featureTensor`: which layer is the classifier head). In the CLI those hints are replaced by what a command-line
 * user can do; the rest of the message (what is wrong, the candidate nodes) is kept.
 */
import { OpnpError, isOpnpError } from '@opnp/core/base';

/** Library options of the model loaders without a flag. */
const LIBRARY_OPTIONS = /\b(headNode|featureTensor)\b/;

/** What a command-line user can do when the head is not found, is ambiguous, or does not reproduce the logits. */
export const HEAD_HINT =
  'opnp takes the classifier head to be the fully connected layer (Gemm, or MatMul + Add) whose output is a graph output, optionally behind Softmax, LogSoftmax or Identity: export the model so that its output is the logits (or their softmax)';

/** `text`'s sentences (". "-separated) without those naming a library option. */
function withoutLibraryOptions(text: string): string[] {
  return text
    .split(/\.\s+/)
    .map((s) => s.replace(/\.$/, ''))
    .filter((s) => s !== '' && !LIBRARY_OPTIONS.test(s));
}

/**
 * A model note (an `onWarning` message of a backend) in command-line terms: a parenthesised `(pass featureTensor /
 * headNode)` or a sentence naming those options becomes {@link HEAD_HINT}.
 */
export function cliModelNote(message: string): string {
  if (!LIBRARY_OPTIONS.test(message)) return message;
  const cleaned = message.replace(/\s*\([^()]*\b(?:headNode|featureTensor)\b[^()]*\)/g, '');
  return `${withoutLibraryOptions(cleaned).join('. ')}. ${HEAD_HINT}`;
}

/**
 * `error` with its hint in command-line terms when the hint names a library option (an {@link OpnpError} of the
 * same code, file and cause); any other error as it is.
 */
export function cliModelError(error: unknown): unknown {
  if (!isOpnpError(error) || error.hint === undefined || !LIBRARY_OPTIONS.test(error.hint)) return error;
  const suffix = `. ${error.hint}`;
  const summary = error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message;
  const kept = withoutLibraryOptions(error.hint);
  return new OpnpError(error.code, summary, { ...(error.file !== undefined ? { file: error.file } : {}), hint: [...kept, HEAD_HINT].join('. '), cause: error });
}
