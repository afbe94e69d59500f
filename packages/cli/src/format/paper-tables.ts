/**
 * The numbers printed in the OPNP paper, Tables 1-9: Chen et al., "Optimal Parameter and Neuron Pruning
 * for Out-of-Distribution Detection", NeurIPS 2023. They are bundled, with every note, as
 * `packages/cli/assets/paper/opnp-neurips2023.json` (see the README there) and read once on first use.
 *
 * Tables 1, 2, 5 and 6 (OOD detection: ImageNet ResNet-50, ImageNet ViT-B/16, CIFAR-10, CIFAR-100) come as
 * method x OOD set x {fpr95, auroc}; Tables 3, 4, 7, 8 and 9 (ablations) as they are in the file.
 * Values are percent as printed; method and OOD set names are the paper's (OOD keys in lower case).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OpnpError } from '@opnp/core';

/** Where the bundled data file is (shipped with the package under `assets/`). */
export const PAPER_DATA_FILE = fileURLToPath(new URL('../../assets/paper/opnp-neurips2023.json', import.meta.url));

/** FPR95 and AUROC in percent, as printed. */
export interface PaperMetrics {
  readonly fpr95: number;
  readonly auroc: number;
}

/** An OOD detection table of the paper (Tables 1, 2, 5, 6). */
export interface PaperResultsTable {
  /** The table's number in the paper. */
  readonly table: 1 | 2 | 5 | 6;
  /** ID dataset and model, as the data file describes them. */
  readonly id: string;
  readonly model: string;
  /** The paper's rows in order (method names as printed, e.g. `DICE+ReAct`, `Energy+OPNP`). */
  readonly methods: readonly string[];
  /** The OOD sets in column order (lower-case keys, e.g. `inaturalist`, `lsun-c`), without `average`. */
  readonly oodSets: readonly string[];
  /** method -> OOD key (and `average`, the paper's own average column) -> metrics. */
  readonly results: Readonly<Record<string, Readonly<Record<string, PaperMetrics>>>>;
}

/** Table 3: ID top-1 accuracy of the pruned head; only three column headers survive (see `note`). */
export interface PaperAccuracyTable {
  readonly note: string;
  readonly values: readonly number[];
  readonly known: Readonly<Record<string, number>>;
}

/** Table 4: FPR95 of the pruning ablation on SUN and Places. */
export interface PaperAblationTable {
  readonly note: string;
  readonly sun: Readonly<Record<string, number>>;
  readonly places: Readonly<Record<string, number>>;
}

/** Table 7: OPNP applied to other layers (row -> SUN / Places metrics). */
export interface PaperLayersTable {
  readonly note: string;
  readonly rows: Readonly<Record<string, Readonly<Record<'sun' | 'places', PaperMetrics>>>>;
}

/** Tables 8 and 9: SUN / Places metrics per variant. */
export interface PaperVariantTable {
  readonly note: string;
  readonly sun: Readonly<Record<string, PaperMetrics>>;
  readonly places: Readonly<Record<string, PaperMetrics>>;
}

/** Everything the data file holds. */
export interface PaperTables {
  /** How to cite the numbers. */
  readonly citation: { readonly text: string; readonly authors: string; readonly title: string; readonly venue: string; readonly year: number };
  /** Provenance note of the numbers (kept verbatim). */
  readonly source: string;
  readonly table1: PaperResultsTable;
  readonly table2: PaperResultsTable;
  readonly table3: PaperAccuracyTable;
  readonly table4: PaperAblationTable;
  readonly table5: PaperResultsTable;
  readonly table6: PaperResultsTable;
  readonly table7: PaperLayersTable;
  readonly table8: PaperVariantTable;
  readonly table9: PaperVariantTable;
  /** Numbers the paper states in its prose. */
  readonly textFacts: Readonly<Record<string, string>>;
}

/** Display names of the paper's OOD keys (as the repro settings and the paper's column headers spell them). */
export const PAPER_OOD_NAMES: Readonly<Record<string, string>> = {
  inaturalist: 'iNaturalist',
  sun: 'SUN',
  places: 'Places',
  textures: 'Textures',
  svhn: 'SVHN',
  'lsun-c': 'LSUN-C',
  'lsun-r': 'LSUN-R',
  isun: 'iSUN',
  places365: 'Places365',
};

type RawResults = { id: string; model: string; results: Record<string, Record<string, PaperMetrics>> };

function invalid(what: string): never {
  throw new OpnpError('INVALID_ARGUMENT', `The bundled paper tables are malformed: ${what}`, { file: PAPER_DATA_FILE });
}

function resultsTable(raw: unknown, table: PaperResultsTable['table'], key: string): PaperResultsTable {
  const t = raw as RawResults | undefined;
  if (!t || typeof t.results !== 'object') invalid(`${key} has no results`);
  const methods = Object.keys(t.results);
  const oodSets = Object.keys(t.results[methods[0]!] ?? {}).filter((k) => k !== 'average');
  for (const m of methods) {
    for (const ood of [...oodSets, 'average']) {
      const v = t.results[m]![ood];
      if (!v || !Number.isFinite(v.fpr95) || !Number.isFinite(v.auroc)) invalid(`${key}: ${m} / ${ood} has no fpr95 / auroc`);
    }
  }
  return { table, id: t.id, model: t.model, methods, oodSets, results: t.results };
}

let cached: PaperTables | undefined;

/** The paper's tables (read and checked once). */
export function paperTables(): PaperTables {
  if (cached) return cached;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(PAPER_DATA_FILE, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new OpnpError('IO_ERROR', 'Cannot read the bundled paper tables', { file: PAPER_DATA_FILE, hint: (error as Error).message });
  }
  cached = {
    citation: raw.citation as PaperTables['citation'],
    source: raw.source as string,
    table1: resultsTable(raw.table1_imagenet_resnet50, 1, 'table1_imagenet_resnet50'),
    table2: resultsTable(raw.table2_imagenet_vit_b16, 2, 'table2_imagenet_vit_b16'),
    table3: raw.table3_id_accuracy_resnet50 as PaperAccuracyTable,
    table4: raw.table4_pruning_ablation_resnet50_fpr95 as PaperAblationTable,
    table5: resultsTable(raw.table5_cifar10, 5, 'table5_cifar10'),
    table6: resultsTable(raw.table6_cifar100, 6, 'table6_cifar100'),
    table7: raw.table7_layers_resnet50 as PaperLayersTable,
    table8: raw.table8_sensitivity_sample_fraction_resnet50_opp as PaperVariantTable,
    table9: raw.table9_neuron_statistic_resnet50_onp as PaperVariantTable,
    textFacts: raw.text_facts as Record<string, string>,
  };
  if (typeof cached.citation?.text !== 'string') invalid('no citation');
  return cached;
}
