/** The CLI version (kept in step with package.json by the release process). */
export const VERSION = '0.0.0';
