/**
 * Reproduction: cifar100. Run from the repository root:
 *   node --conditions=@opnp/source --import tsx tools/repro/cifar100.ts --data-root <dir> --model <model.onnx> [--save <dir>] [-- <opnp eval flags>]
 * Data layout and model export: tools/repro/README.md.
 */
import { pathToFileURL } from 'node:url';
import { main } from './lib.js';
import { CIFAR100 } from './settings.js';

export const SETTING = CIFAR100;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(CIFAR100);
