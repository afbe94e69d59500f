/**
 * A small named, prioritised, lazily initialised registry (in the spirit of onnxruntime-common's
 * `registerBackend`). Used for feature-extractor backends and GEMM kernels.
 *
 * The entries live on `globalThis[Symbol.for('@opnp/core/registry/<kind>')]` (as TensorFlow.js and
 * onnxruntime-common keep theirs), so two copies of `@opnp/core` in one install (a CLI and an app pinning
 * different versions, a bundle next to `node_modules`) share one registry: a backend registered through one
 * copy is found by `loadFeatureExtractor` of the other.
 */
import { OpnpError } from './errors.js';

/**
 * One registration. Its shape is shared by every copy of `@opnp/core` in the process (through the global
 * map), so it only ever gains optional fields.
 */
export interface RegistryEntry<T> {
  factory: () => T | Promise<T>;
  priority: number;
  /** Where the registration came from (a stack frame or the factory's name), for error messages. */
  origin?: string;
  /** One shared init promise: concurrent resolutions wait on the same initialisation. */
  instance?: Promise<T>;
  failed?: unknown;
}

/** A named, prioritised registry of lazily created values. */
export interface Registry<T> {
  /**
   * Registers `factory` under `name`. The same factory again is a no-op (it can only raise the priority); a
   * different factory replaces a lower-priority one and is ignored below a higher-priority one.
   *
   * @throws OpnpError `INVALID_ARGUMENT` for an empty name or a different factory at the same name and priority
   */
  register(name: string, factory: () => T | Promise<T>, priority?: number): void;
  /** Initialises (once) and returns `name`, or the highest-priority entry that initialises when omitted. */
  resolve(name?: string): Promise<T>;
  /** Registered names, highest priority first. */
  names(): string[];
  has(name: string): boolean;
}

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  /**
   * Global slot of the entry map. Default `Symbol.for('@opnp/core/registry/<kind>')` (spaces in `kind` become
   * `-`); pass a private `Symbol()` for a registry of one's own.
   */
  key?: symbol;
}

/** The symbol under which the entries of registry `kind` are kept on `globalThis`. */
export function registryKey(kind: string): symbol {
  return Symbol.for(`@opnp/core/registry/${kind.trim().replace(/\s+/g, '-')}`);
}

/** The entry map stored at `key` on `globalThis`, created on first use. */
function globalEntries<T>(kind: string, key: symbol): Map<string, RegistryEntry<T>> {
  const slots = globalThis as unknown as Record<symbol, unknown>;
  const existing = slots[key];
  if (existing === undefined) {
    const entries = new Map<string, RegistryEntry<T>>();
    Object.defineProperty(globalThis, key, { value: entries, configurable: true, enumerable: false, writable: false });
    return entries;
  }
  if (!(existing instanceof Map)) {
    throw new OpnpError('INVALID_ARGUMENT', `The global ${kind} registry slot holds something that is not a registry`, {
      expected: 'a Map of registrations',
      actual: typeof existing,
      hint: `Something else wrote globalThis[${String(key)}]`,
    });
  }
  return existing as Map<string, RegistryEntry<T>>;
}

/**
 * Whether two factories are the same registration: the same function, or the same source text (the same module
 * evaluated by a second copy of a package, or again after a hot reload).
 */
function sameFactory(a: () => unknown, b: () => unknown): boolean {
  return a === b || (a.name === b.name && Function.prototype.toString.call(a) === Function.prototype.toString.call(b));
}

/** The first stack frame outside the registry modules: who called `register`. Best effort, for messages only. */
function callerLocation(factory: () => unknown): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1).map((line) => line.trim().replace(/^at\s+/, ''));
  const frame = frames.find((line) => line !== '' && !/[\\/](registry|feature-extractor|gemm)\.[cm]?[jt]s\b/.test(line));
  const named = factory.name && factory.name !== 'factory' ? `factory ${factory.name}` : 'an anonymous factory';
  return frame ? `${named} registered at ${frame}` : named;
}

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Creates (or attaches to) the registry of `kind`. Every registry of the same `kind` and key in the process,
 * including those of other copies of `@opnp/core`, shares its entries.
 */
export function createRegistry<T>(kind: string, options: RegistryOptions = {}): Registry<T> {
  const entries = globalEntries<T>(kind, options.key ?? registryKey(kind));

  function init(entry: RegistryEntry<T>): Promise<T> {
    entry.instance ??= Promise.resolve()
      .then(() => entry.factory())
      .catch((error: unknown) => {
        entry.failed = error;
        throw error;
      });
    return entry.instance;
  }

  function ordered(): [string, RegistryEntry<T>][] {
    return [...entries].sort((x, y) => y[1].priority - x[1].priority);
  }

  function register(name: string, factory: () => T | Promise<T>, priority = 0): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new OpnpError('INVALID_ARGUMENT', `A ${kind} needs a non-empty name`, { actual: name });
    }
    if (typeof factory !== 'function' || typeof priority !== 'number' || Number.isNaN(priority)) {
      throw new OpnpError('INVALID_ARGUMENT', `A ${kind} is registered with a factory function and a numeric priority`, {
        actual: `${typeof factory}, priority ${String(priority)}`,
      });
    }
    const existing = entries.get(name);
    const origin = callerLocation(factory);
    if (existing) {
      if (sameFactory(existing.factory, factory)) {
        existing.priority = Math.max(existing.priority, priority);
        return;
      }
      if (priority < existing.priority) return;
      if (priority === existing.priority) {
        throw new OpnpError('INVALID_ARGUMENT', `Two different ${kind}s are registered as "${name}" with the same priority ${priority}`, {
          expected: `one ${kind} per name and priority`,
          actual: `first: ${existing.origin ?? 'unknown origin'}; second: ${origin}`,
          hint: `Register the new one with a higher priority to replace it, or under another name`,
        });
      }
    }
    entries.set(name, { factory, priority, origin });
  }

  async function resolveNamed(name: string): Promise<T> {
    const entry = entries.get(name);
    if (!entry) {
      throw new OpnpError('BACKEND_UNAVAILABLE', `No ${kind} named "${name}" is registered`, {
        expected: names().join(', ') || 'a registered name',
        actual: name,
        hint: `Import the package that registers it (for example "@opnp/backend-onnx/register")`,
      });
    }
    try {
      return await init(entry);
    } catch (cause) {
      throw new OpnpError('BACKEND_UNAVAILABLE', `The ${kind} "${name}" failed to initialise: ${message(cause)}`, { cause });
    }
  }

  function names(): string[] {
    return ordered().map(([entryName]) => entryName);
  }

  return {
    register,
    async resolve(name) {
      if (name !== undefined) return resolveNamed(name);
      const errors: string[] = [];
      for (const [entryName, entry] of ordered()) {
        try {
          return await init(entry);
        } catch (cause) {
          errors.push(`${entryName}: ${message(cause)}`);
        }
      }
      throw new OpnpError('BACKEND_UNAVAILABLE', `No ${kind} could be initialised`, { actual: errors.join('; ') || 'none registered' });
    },
    names,
    has(name) {
      return entries.has(name);
    },
  };
}
