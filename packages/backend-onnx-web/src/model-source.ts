/**
 * Where a model comes from in the browser: bytes (a picked or dropped file), a URL fetched with `fetch` (its
 * external-data files fetched next to it), or an already parsed model.
 */
import { OpnpError } from '@opnp/core';
import { formatError, isOnnxModel, messageOf, parseOnnxModel, type ExternalDataReader, type OnnxModel } from '@opnp/onnx-common';

/** A model for the web backend: bytes, a URL (absolute, or relative to the page), or a parsed model. */
export type WebModelSource = Uint8Array | ArrayBuffer | string | URL | OnnxModel;

/** `source` as an absolute URL (relative ones against the page's address). */
function absoluteUrl(source: string | URL): URL {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(source, base);
  } catch (cause) {
    throw new OpnpError('INVALID_ARGUMENT', 'The model URL is not valid here', {
      file: String(source),
      expected: base === undefined ? 'an absolute URL (there is no page to resolve a relative one against)' : 'a URL',
      hint: base === undefined ? 'Outside a browser pass the model bytes, or use @opnp/backend-onnx to read files in Node' : undefined,
      cause,
    });
  }
}

/** The body of `url` as bytes, or `IO_ERROR` saying what went wrong. */
async function fetchBytes(url: URL, what: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new OpnpError('IO_ERROR', `Cannot fetch ${what}`, { file: url.href, actual: messageOf(cause), cause });
  }
  if (!response.ok) throw new OpnpError('IO_ERROR', `Cannot fetch ${what}`, { file: url.href, expected: 'HTTP 200', actual: `HTTP ${response.status} ${response.statusText}` });
  return new Uint8Array(await response.arrayBuffer());
}

/** Fetches external-data files next to the model URL; a location may not leave the model's folder. */
function urlReader(modelUrl: URL): ExternalDataReader {
  return (location, tensorName) => {
    const url = new URL(location, modelUrl);
    const folder = new URL('.', modelUrl).href;
    if (/^[a-z][a-z0-9+.-]*:|^\//i.test(location) || !url.href.startsWith(folder)) {
      throw formatError(`External data location of tensor "${tensorName}" leaves the model's folder`, modelUrl.href, { actual: location });
    }
    return fetchBytes(url, `the external data of tensor "${tensorName}"`);
  };
}

/**
 * Reads a model: parses bytes, fetches a URL (and its external data), or returns a parsed model as it is.
 *
 * @throws OpnpError `IO_ERROR` when a fetch fails, `MODEL_FORMAT` for bytes that are not ONNX, `INVALID_ARGUMENT`
 * for another kind of source
 */
export async function loadOnnxWebModel(source: WebModelSource): Promise<OnnxModel> {
  if (isOnnxModel(source)) return source;
  if (source instanceof Uint8Array) return parseOnnxModel(source);
  if (source instanceof ArrayBuffer) return parseOnnxModel(new Uint8Array(source));
  if (typeof source === 'string' || source instanceof URL) {
    const url = absoluteUrl(source);
    return parseOnnxModel(await fetchBytes(url, 'the model'), { file: url.href, externalData: urlReader(url) });
  }
  throw new OpnpError('INVALID_ARGUMENT', 'A model source must be bytes or a URL', { expected: 'Uint8Array | ArrayBuffer | string | URL', actual: typeof source });
}
