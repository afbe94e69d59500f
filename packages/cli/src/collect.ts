/** Commander collector for repeatable flags (its own module: command-line.ts recognises repeatable options by it without loading options.ts and the datasets package). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
