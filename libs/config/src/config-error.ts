/** One thing wrong with a configuration: where it came from, which key, what is wrong. */
export interface ConfigProblem {
  /** The file (`config.yml`) or, for a value set from the environment, the variable (`REGISTRY_HTTP_ADDR`). */
  readonly source: string;
  /** The key path, `http.addr` or `notifications.endpoints[0].url`; empty for the document as a whole. */
  readonly key: string;
  readonly message: string;
}

/** `config.yml: health.storagedriver.interval: "10x" is not a duration (use 10s, 5m, 1h)` */
export function formatProblem(problem: ConfigProblem): string {
  return problem.key === ''
    ? `${problem.source}: ${problem.message}`
    : `${problem.source}: ${problem.key}: ${problem.message}`;
}

/**
 * The configuration cannot be used. The message holds one line per problem, each naming
 * its source, key and problem, so an operator can fix them all in one go.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}
