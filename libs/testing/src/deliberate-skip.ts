import type { TestContext } from 'vitest';

/**
 * The one kind of skip CI accepts (a driver without a capability, …): the reason travels in the
 * test's meta to the JSON report, where test/summary/summarise.mjs names it. Any other skip
 * (`it.skip`, a bare `context.skip()`, a `beforeAll` that threw) counts as a failure there.
 */
export function skipDeliberately(context: TestContext, reason: string): never {
  Object.assign(context.task.meta, { deliberateSkip: reason });
  context.skip(reason);
}
