import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago on 127.0.0.1. The kernel picks it (port 0), so
 * parallel test files do not collide the way a fixed or random-guessed port would.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('freePort: the server reported no TCP address'));
      });
    });
  });
}
