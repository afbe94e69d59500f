/**
 * The case of the first word after the `opnp: ` prefix. The libraries' messages are sentences (`The model path is a
 * directory`), the command line's own are not (`--methods: item 2 is empty`); after `opnp: ` every message starts
 * lower-case, unless its first word is a name: a flag, an acronym or a word with inner capitals (`IDX`, `ReAct`,
 * `TensorFlow`), or one of {@link PROPER_NAMES}.
 */

/** Capitalised words that are names, kept as they are at the start of a message. */
const PROPER_NAMES: ReadonlySet<string> = new Set(['Dense', 'Fortran', 'Kubernetes', 'Slurm', 'Python', 'Node', 'Linux', 'Windows', 'Fashion', 'Gaussian', 'Mahalanobis', 'Pillow', 'Docker', 'Chen']);

/** `message` with its first word lower-cased when it is an ordinary capitalised word (`The`, `Cannot`, `A`). */
export function lowerFirstWord(message: string): string {
  const word = /^[A-Z][a-z]*(?![A-Za-z0-9_])/.exec(message)?.[0];
  if (word === undefined || PROPER_NAMES.has(word)) return message;
  return `${word.toLowerCase()}${message.slice(word.length)}`;
}
