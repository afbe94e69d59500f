/**
 * The input preprocessing a detector records (`opnp.preprocess`), in words, for `opnp export`'s output: what a
 * caller has to do to an image before the detector sees it, including that no mean/std normalisation is applied
 * when none was given (the detector then expects pixels only scaled to [0, 1]).
 */
import type { DetectorPreprocessing } from '@opnp/core';

const side = (v: number | readonly [number, number]) => (typeof v === 'number' ? `${v} x ${v}` : `${v[0]} x ${v[1]}`);

function values(v: number | readonly number[]): string {
  return typeof v === 'number' ? String(v) : v.length === 1 ? String(v[0]) : `[${v.join(', ')}]`;
}

/** The normalisation step: `(x - mean) / std` with the values, or that there is none. */
export function normalisationWords(p: DetectorPreprocessing): string {
  if (p.mean === undefined && p.std === undefined) return 'no mean/std normalisation';
  return `(x - ${values(p.mean ?? 0)}) / ${values(p.std ?? 1)}${typeof p.mean === 'number' || (p.mean?.length ?? 1) === 1 ? '' : ' per channel'}`;
}

/** Every step in order: resize, crop, channels, scaling, normalisation, layout. */
export function preprocessingWords(p: DetectorPreprocessing): string {
  const steps: string[] = [];
  if (p.resize !== undefined) steps.push(typeof p.resize === 'number' ? `resize the shorter side to ${p.resize}` : `resize to ${side(p.resize)}`);
  if (p.resize !== undefined && p.kernel !== undefined) steps[steps.length - 1] += ` (${p.kernel})`;
  if (p.centerCrop !== undefined) steps.push(`centre-crop ${side(p.centerCrop)}`);
  if (p.channels !== undefined) steps.push(p.channels === 1 ? 'grey (1 channel)' : `${p.channels} channels`);
  steps.push(p.scale === undefined || p.scale === 1 / 255 ? 'x / 255' : `x * ${p.scale}`);
  steps.push(normalisationWords(p));
  if (p.layout !== undefined) steps.push(p.layout);
  return steps.join(', ');
}
