/**
 * The smallest config.yml both the reference registry and berth serve from: filesystem
 * storage, deletes allowed, one loopback listener, quiet logs. Benchmarks give both servers
 * this same file so neither pays for work the other skips.
 */
export function filesystemRegistryConfig(options: { rootDirectory: string; port: number }): Record<string, unknown> {
  return {
    version: '0.1',
    // Access logs off too: otherwise a bench measures log lines written to a pipe.
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: options.rootDirectory }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${options.port}` },
  };
}
