/**
 * A small named, prioritised, lazily initialised registry (in the spirit of onnxruntime-common's
 * `registerBackend`). Used for feature-extractor backends and GEMM kernels.
 */
import { OpnpError } from './errors.js';

interface Entry<T> {
  factory: () => T | Promise<T>;
  priority: number;
  /** One shared init promise: concurrent resolutions wait on the same initialisation. */
  instance?: Promise<T>;
  failed?: unknown;
}

export interface Registry<T> {
  register(name: string, factory: () => T | Promise<T>, priority?: number): void;
  resolve(name?: string): Promise<T>;
  names(): string[];
  has(name: string): boolean;
}

export function createRegistry<T>(kind: string): Registry<T> {
  const entries = new Map<string, Entry<T>>();

  function init(entry: Entry<T>): Promise<T> {
    entry.instance ??= Promise.resolve()
      .then(() => entry.factory())
      .catch((error: unknown) => {
        entry.failed = error;
        throw error;
      });
    return entry.instance;
  }

  function ordered(): [string, Entry<T>][] {
    return [...entries].sort((x, y) => y[1].priority - x[1].priority);
  }

  return {
    register(name, factory, priority = 0) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new OpnpError('INVALID_ARGUMENT', `A ${kind} needs a non-empty name`, { actual: name });
      }
      const existing = entries.get(name);
      if (existing) {
        if (existing.factory === factory) {
          existing.priority = Math.max(existing.priority, priority);
          return;
        }
        if (priority < existing.priority) return;
      }
      entries.set(name, { factory, priority });
    },
    async resolve(name) {
      if (name !== undefined) {
        const entry = entries.get(name);
        if (!entry) {
          throw new OpnpError('BACKEND_UNAVAILABLE', `No ${kind} named "${name}" is registered`, {
            expected: this.names().join(', ') || 'a registered name',
            actual: name,
            hint: `Import the package that registers it (for example "@opnp/backend-onnx/register")`,
          });
        }
        try {
          return await init(entry);
        } catch (cause) {
          throw new OpnpError('BACKEND_UNAVAILABLE', `The ${kind} "${name}" failed to initialise: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
        }
      }
      const errors: string[] = [];
      for (const [entryName, entry] of ordered()) {
        try {
          return await init(entry);
        } catch (cause) {
          errors.push(`${entryName}: ${cause instanceof Error ? cause.message : String(cause)}`);
        }
      }
      throw new OpnpError('BACKEND_UNAVAILABLE', `No ${kind} could be initialised`, { actual: errors.join('; ') || 'none registered' });
    },
    names() {
      return ordered().map(([entryName]) => entryName);
    },
    has(name) {
      return entries.has(name);
    },
  };
}
