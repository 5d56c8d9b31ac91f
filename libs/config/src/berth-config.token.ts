/** Nest injection token of the loaded `BerthConfig`, provided once by the composition root. */
export const BERTH_CONFIG = Symbol.for('berth.config');
