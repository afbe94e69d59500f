/**
 * Mode 1: an exported detector (a picked, dropped or `?model=` file) scores a picked or dropped image; the page shows
 * the predicted class, `ood_score` and the verdict at the detector's threshold. Images are preprocessed as the
 * detector records (`opnp.preprocess`, written by `opnp export`), else with the mean / std fields.
 */
import { argmaxRows } from '@opnp/metrics';
import { loadOnnxWebDetector, type OnnxWebDetector } from '@opnp/backend-onnx-web';
import { decodeImage, drawInput, imageBatch, recordedNormalisation, type Normalisation } from './images.js';
import { byId, inSection, showNumber } from './ui.js';

/** The detector section's controller. */
export class DetectMode {
  private readonly section = byId('detect', HTMLElement);
  private detector: OnnxWebDetector | undefined;
  private image: Blob | undefined;
  /** Images scored so far (`data-scored` on the section: what a test waits for). */
  private scored = 0;

  constructor(private readonly normalisation: () => Normalisation, private readonly onRuntime: (providers: readonly string[]) => void) {
    byId('detector-file', HTMLInputElement).addEventListener('change', (event) => {
      const file = (event.target as HTMLInputElement).files?.[0];
      if (file) void this.loadDetector(file, file.name);
    });
    byId('image-file', HTMLInputElement).addEventListener('change', (event) => {
      const file = (event.target as HTMLInputElement).files?.[0];
      if (file) void this.scoreImage(file);
    });
    byId('invert', HTMLInputElement).addEventListener('change', () => this.image && void this.scoreImage(this.image));
    const zone = byId('drop-zone', HTMLDivElement);
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('over');
      const file = event.dataTransfer?.files[0];
      if (!file) return;
      if (/\.onnx$/i.test(file.name)) void this.loadDetector(file, file.name);
      else void this.scoreImage(file);
    });
  }

  /** Loads a detector (bytes or a URL) and rescores the current image with it. */
  async loadDetector(source: Blob | string, name: string): Promise<void> {
    await inSection(this.section, async () => {
      await this.detector?.dispose();
      this.detector = undefined;
      const detector = await loadOnnxWebDetector(typeof source === 'string' ? source : new Uint8Array(await source.arrayBuffer()));
      this.detector = detector;
      this.onRuntime(detector.runtime.executionProviders);
      const { threshold, outputs } = detector.description;
      byId('detector-info', HTMLSpanElement).textContent =
        `${name}: input ${detector.input.name} [${detector.input.shape.map((d) => d ?? 'N').join(', ')}], outputs ${outputs.all.join(', ')}` +
        (threshold === undefined ? ' (no threshold: exported without --threshold-from)' : `, threshold ${threshold}`);
      const recorded = detector.description.preprocessing;
      const shown = byId('detector-preprocessing', HTMLSpanElement);
      shown.dataset.source = recorded ? 'detector' : 'fields';
      shown.textContent = recorded
        ? `preprocessing recorded in the detector (used instead of the mean / std fields): ${JSON.stringify(recorded)}`
        : 'no preprocessing recorded in the detector: using the mean / std fields';
      const dd = this.field('threshold');
      if (threshold === undefined) dd.textContent = 'none in the detector';
      else showNumber(dd, threshold);
      if (this.image) await this.score(this.image);
    });
  }

  /** Decodes, normalises and scores an image with the loaded detector. */
  async scoreImage(file: Blob): Promise<void> {
    this.image = file;
    await inSection(this.section, () => this.score(file));
  }

  private async score(file: Blob): Promise<void> {
    const detector = this.detector;
    if (!detector) throw new Error('Load a detector first (a .onnx written by opnp export)');
    const recorded = detector.description.preprocessing;
    const norm = recorded ? recordedNormalisation(recorded) : this.normalisation();
    const batch = await imageBatch(await decodeImage(file, byId('invert', HTMLInputElement).checked), detector.input, norm);
    drawInput(byId('preview', HTMLCanvasElement), batch, detector.input, norm);
    const { oodScore, isOod, logits } = await detector.score(batch);
    const cls = this.field('class');
    if (logits) {
      cls.textContent = String(argmaxRows(logits)[0]);
      cls.dataset.value = cls.textContent;
    } else cls.textContent = 'no logits output';
    showNumber(this.field('ood-score'), oodScore[0]!);
    const verdict = this.field('verdict');
    if (isOod === undefined) {
      verdict.textContent = 'no threshold in the detector';
      delete verdict.dataset.verdict;
    } else {
      verdict.dataset.verdict = isOod[0] ? 'out' : 'in';
      verdict.textContent = isOod[0] ? 'out-of-distribution' : 'in-distribution';
    }
    this.section.dataset.scored = String(++this.scored);
  }

  private field(name: string): HTMLElement {
    return this.section.querySelector<HTMLElement>(`#prediction [data-field="${name}"]`)!;
  }
}
