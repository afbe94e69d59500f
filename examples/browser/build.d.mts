/** Types of build.mjs (the page build). */
export declare const DEMO_FILES: readonly string[];
export declare function buildPage(outDir?: string, options?: { minify?: boolean }): Promise<{ outDir: string; sizes: Record<string, number> }>;
