/**
 * Mode 2, the page: reads the settings, loads the classifier and the demo's MNIST / Fashion-MNIST files, runs
 * {@link fitOpnp}, and shows the masks, the metrics, some samples, the detector (download, or use it in mode 1) and
 * every number as JSON.
 */
import type { PruningPercentages } from '@opnp/core';
import { fromIdx, idxDataset, type Dataset } from '@opnp/datasets';
import { createOnnxWebGemmKernel, loadOnnxWebFeatureExtractor, type OnnxWebFeatureExtractor, type OnnxWebGemmKernel } from '@opnp/backend-onnx-web';
import { fitDetector, fitOpnp, type FitResult } from './fit.js';
import { preprocessedBatch, type Normalisation } from './images.js';
import { byId, inSection, numberField, showNumber, tableRow } from './ui.js';

/** The demo files (copied into `data/` by build.mjs). */
const DATA = {
  classifier: 'data/mnist-cnn.onnx',
  train: 'data/mnist-train-6k-images-idx3-ubyte.gz',
  test: 'data/mnist-test-2500-images-idx3-ubyte.gz',
  ood: 'data/fashion-test-images-idx3-ubyte.gz',
};

/** The fit section's controller. */
export class FitMode {
  private readonly section = byId('fit', HTMLElement);
  private classifier: Blob | string;
  private kernel: OnnxWebGemmKernel | undefined;
  private readonly files = new Map<string, Promise<Dataset>>();
  private detectorUrl: string | undefined;

  constructor(
    private readonly normalisation: () => Normalisation,
    private readonly useDetector: (detector: Blob, name: string) => Promise<void>,
    classifierUrl: string | undefined,
  ) {
    this.classifier = classifierUrl ?? DATA.classifier;
    if (classifierUrl) byId('classifier-info', HTMLSpanElement).textContent = classifierUrl;
    byId('classifier-file', HTMLInputElement).addEventListener('change', (event) => {
      const file = (event.target as HTMLInputElement).files?.[0];
      if (!file) return;
      this.classifier = file;
      byId('classifier-info', HTMLSpanElement).textContent = file.name;
    });
    byId('fit-run', HTMLButtonElement).addEventListener('click', () => void this.run());
  }

  /** Runs the fit with the current settings. */
  async run(): Promise<void> {
    const button = byId('fit-run', HTMLButtonElement);
    button.disabled = true;
    const bar = byId('fit-progress', HTMLProgressElement);
    const status = byId('fit-status', HTMLSpanElement);
    bar.hidden = false;
    const progress = (message: string, fraction: number) => {
      status.textContent = message;
      bar.value = fraction;
    };
    await inSection(this.section, async () => {
      const settings = this.settings();
      progress('loading the classifier and the images', 0);
      const extractor = await this.loadClassifier();
      try {
        const inputs = await this.inputs(extractor, settings);
        this.kernel ??= createOnnxWebGemmKernel();
        const result = await fitOpnp(extractor, this.kernel, inputs, settings.percentages, progress);
        progress('building the detector', 0.9);
        const detector = await fitDetector(extractor, result);
        this.show(result, new Blob([detector.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
        progress(`done: ${result.trainCount} training images, ${settings.testCount} test images per set`, 1);
      } finally {
        await extractor.dispose();
      }
    });
    if (this.section.dataset.state === 'error') status.textContent = 'failed';
    button.disabled = false;
  }

  private settings(): { trainCount: number; testCount: number; percentages: PruningPercentages } {
    const count = (id: string, max: number) => numberField(byId(id, HTMLInputElement), id, (v) => Number.isInteger(v) && v >= 1 && v <= max);
    const percent = (id: string) => numberField(byId(id, HTMLInputElement), id, (v) => v >= 0 && v <= 100);
    return {
      trainCount: count('train-count', 6000),
      testCount: count('test-count', 1250),
      percentages: { pMin: percent('p-min'), pMax: percent('p-max'), nMin: percent('n-min'), nMax: percent('n-max') },
    };
  }

  private async loadClassifier(): Promise<OnnxWebFeatureExtractor> {
    const source = typeof this.classifier === 'string' ? this.classifier : new Uint8Array(await this.classifier.arrayBuffer());
    return loadOnnxWebFeatureExtractor(source, { onWarning: (message) => (byId('classifier-info', HTMLSpanElement).textContent = message) });
  }

  /** A demo IDX file (gzipped) as a dataset, fetched once. */
  private images(url: string): Promise<Dataset> {
    let pending = this.files.get(url);
    if (!pending) {
      pending = fetch(url).then(async (response) => {
        if (!response.ok) throw new Error(`Cannot fetch ${url}: HTTP ${response.status}`);
        return idxDataset(fromIdx(new Uint8Array(await response.arrayBuffer()), { file: url }), { source: url });
      });
      pending.catch(() => this.files.delete(url));
      this.files.set(url, pending);
    }
    return pending;
  }

  /** The four image sets, preprocessed for the classifier: train, ID validation / test (MNIST test), OOD (Fashion). */
  private async inputs(extractor: OnnxWebFeatureExtractor, settings: { trainCount: number; testCount: number }) {
    const [train, test, ood] = await Promise.all([this.images(DATA.train), this.images(DATA.test), this.images(DATA.ood)]);
    const n = settings.testCount;
    const range = (start: number, count: number) => Uint32Array.from({ length: count }, (_, i) => start + i);
    const batch = (dataset: Dataset, start: number, count: number) => preprocessedBatch(dataset, range(start, count), extractor.input, this.normalisation());
    return {
      train: await batch(train, 0, settings.trainCount),
      idVal: await batch(test, 0, n),
      idTest: await batch(test, n, n),
      oodTest: await batch(ood, 0, n),
    };
  }

  private show(result: FitResult, detector: Blob): void {
    const masks = byId('fit-masks', HTMLTableElement).tBodies[0]!;
    const total = result.classes * result.dim;
    masks.replaceChildren(
      tableRow(['weights kept (parameter mask)', `${result.masks.paramKept} of ${total}`]),
      tableRow(['neurons kept (neuron mask)', `${result.masks.neuronKept} of ${result.dim}`]),
      tableRow(['weights of the pruned head', `${result.masks.weightsKept} of ${total}`]),
      tableRow(['threshold (keeps 95% of ID validation)', result.threshold]),
    );
    masks.rows[0]!.dataset.field = 'param-kept';
    masks.rows[1]!.dataset.field = 'neuron-kept';
    masks.rows[2]!.dataset.field = 'weights-kept';
    const metrics = byId('fit-metrics', HTMLTableElement).tBodies[0]!;
    metrics.replaceChildren(
      tableRow(['energy (original head)', result.metrics.energy.auroc * 100, result.metrics.energy.fpr95 * 100], 2),
      tableRow(['OPNP (pruned head)', result.metrics.opnp.auroc * 100, result.metrics.opnp.fpr95 * 100], 2),
    );
    const samples = byId('fit-samples', HTMLTableElement).tBodies[0]!;
    const rows: HTMLTableRowElement[] = [];
    for (const [set, name, scores] of [['idTest', 'MNIST test', result.scores.idTest], ['oodTest', 'Fashion-MNIST', result.scores.oodTest]] as const) {
      for (let i = 0; i < Math.min(5, scores.opnp.length); i++) {
        const row = tableRow([`#${i}`, name, scores.energy[i]!, scores.opnp[i]!, scores.opnp[i]! < result.threshold ? 'out' : 'in']);
        row.dataset.set = set;
        rows.push(row);
      }
    }
    samples.replaceChildren(...rows);
    byId('fit-json', HTMLPreElement).textContent = JSON.stringify(result);
    if (this.detectorUrl) URL.revokeObjectURL(this.detectorUrl);
    this.detectorUrl = URL.createObjectURL(detector);
    byId('fit-download', HTMLAnchorElement).href = this.detectorUrl;
    byId('fit-use', HTMLButtonElement).onclick = () => void this.useDetector(detector, 'the detector built in 2');
    byId('fit-results', HTMLDivElement).hidden = false;
    showNumber(masks.rows[3]!.cells[1]!, result.threshold);
  }
}
