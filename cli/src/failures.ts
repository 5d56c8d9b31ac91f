/**
 * A probe's verdict that the service is not serving here: exit 1, one line, no stack. Apart
 * from probe.ts so that main knows it without loading the bus.
 */
export class ProbeFailure extends Error {}
