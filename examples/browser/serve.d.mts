/** Types of serve.mjs (the static server). */
export declare function serveFolder(dir: string, options?: { port?: number; isolated?: boolean }): Promise<{ url: string; close(): Promise<void> }>;
