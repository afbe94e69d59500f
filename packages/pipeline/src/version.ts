/** The version of `@opnp/pipeline`, recorded in run fingerprints and results. */
export const PIPELINE_VERSION = '0.0.0';
