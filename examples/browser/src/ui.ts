/**
 * DOM helpers of the page: typed element lookup, section states (what the tests wait for), errors, numbers.
 */
import { isOpnpError } from '@opnp/core';

/** The element with `id`, typed; throws when the page lacks it (a broken index.html). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html has no <${type.name}> #${id}`);
  return element;
}

/** A section's state: `busy` while working, `done` with a result, `error` with a message shown in it. */
export type SectionState = 'idle' | 'busy' | 'done' | 'error';

/** Sets a section's `data-state` and clears its error. */
export function setState(section: HTMLElement, state: SectionState): void {
  section.dataset.state = state;
  const error = section.querySelector<HTMLElement>('.error');
  if (error && state !== 'error') error.hidden = true;
}

/** Shows `error` in the section (an OpnpError's message says what was expected and what to do). */
export function showError(section: HTMLElement, error: unknown): void {
  section.dataset.state = 'error';
  const box = section.querySelector<HTMLElement>('.error');
  const message = isOpnpError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  if (box) {
    box.textContent = message;
    box.hidden = false;
  }
}

/** Runs `work` with the section busy, then done; a failure is shown in the section. */
export async function inSection(section: HTMLElement, work: () => Promise<void>): Promise<void> {
  setState(section, 'busy');
  try {
    await work();
    setState(section, 'done');
  } catch (error) {
    showError(section, error);
  }
}

/** Shows `value` rounded (`digits` decimals) and keeps its exact value in `data-value` (for tests and copying). */
export function showNumber(element: HTMLElement, value: number, digits = 4): void {
  element.textContent = Number.isFinite(value) ? value.toFixed(digits) : String(value);
  element.dataset.value = String(value);
}

/** A `<tr>` of cells; numbers are shown rounded with their exact value in `data-value`. */
export function tableRow(cells: readonly (string | number)[], digits = 4): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    if (typeof cell === 'number') showNumber(td, cell, digits);
    else td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

/** The numbers typed in an input, or an error naming the field. */
export function numberField(input: HTMLInputElement, what: string, check: (v: number) => boolean = Number.isFinite): number {
  const value = Number(input.value.trim());
  if (input.value.trim() === '' || !check(value)) throw new Error(`${what}: "${input.value}" is not a valid value`);
  return value;
}

/** The bytes of a picked or dropped file. */
export async function fileBytes(file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
