import { rmSync } from 'node:fs';
import type { ApiServerKind } from './api-server-process';
import type { ApiTestServer, FromServer, ToServer } from './api-test-server';
import { GcsJsonApi, type GcsJsonApiOptions } from './gcs-json-api';
import { OssApi, type OssApiOptions } from './oss-api';

// The process an API test server runs in, forked by api-server-process.ts with an IPC channel:
// `node api-server.main.js <gcs|oss> <directory> <options as JSON>`. It says `ready` with its URL,
// answers questions, and exits (its directory removed) when asked to stop or when the test's
// process goes away.

function send(message: FromServer): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const [kind, directory, options] = process.argv.slice(2) as [ApiServerKind, string, string];
  const server: ApiTestServer = kind === 'gcs' ? new GcsJsonApi(directory, JSON.parse(options) as GcsJsonApiOptions) : new OssApi(directory, JSON.parse(options) as OssApiOptions);
  // The test's process went away without stopping this one: nothing of it may stay.
  process.on('disconnect', () => {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  });
  process.on('message', (message: ToServer) => {
    if ('stop' in message) {
      void server.close().finally(() => process.exit(0));
      return;
    }
    const ask = server.questions[message.question] as ((...args: unknown[]) => unknown) | undefined;
    if (ask === undefined) return send({ id: message.id, error: `no question ${message.question}` });
    Promise.resolve()
      .then(() => ask(...message.args))
      .then(
        (answer) => send({ id: message.id, answer }),
        (error: unknown) => send({ id: message.id, error: String(error) }),
      );
  });
  await server.listen();
  send({ ready: server.url });
}

main().catch((error: unknown) => {
  send({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
