/**
 * The page's entry point: wires the preprocessing fields, mode 1 (detect) and mode 2 (fit), and the URL parameters
 * (`?model=<detector url>` loads a detector, `?classifier=<url>` sets mode 2's model, and `?<field id>=<value>` fills
 * a field, e.g. `?mean=0.5&train-count=500`).
 */
import { resolveExecutionProviders } from '@opnp/backend-onnx-web';
import { DetectMode } from './detect.js';
import { FitMode } from './fit-mode.js';
import { byId, numberField } from './ui.js';

const params = new URLSearchParams(location.search);
for (const [key, value] of params) {
  const field = document.getElementById(key);
  if (field instanceof HTMLInputElement && field.type !== 'file') field.value = value;
}

const normalisation = () => ({
  mean: numberField(byId('mean', HTMLInputElement), 'mean'),
  std: numberField(byId('std', HTMLInputElement), 'std', (v) => Number.isFinite(v) && v > 0),
});

const runtime = byId('runtime', HTMLSpanElement);
const showRuntime = (providers: readonly string[]) => {
  runtime.textContent = `onnxruntime-web, execution providers ${providers.join(', ')}${crossOriginIsolated ? '' : ' (single-threaded wasm: the page is not cross-origin isolated)'}`;
};
void resolveExecutionProviders().then(showRuntime);

const detect = new DetectMode(normalisation, showRuntime);
new FitMode(normalisation, (detector, name) => detect.loadDetector(detector, name), params.get('classifier') ?? undefined);
const model = params.get('model');
if (model) void detect.loadDetector(model, model);
