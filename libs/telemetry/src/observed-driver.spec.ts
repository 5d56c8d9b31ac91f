import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { createTempDir, type TempDir } from '@berth/testing';
import { BerthLogger } from './berth-logger';
import { pathKind, slowStorageLog } from './observed-driver';

const hex = 'a'.repeat(64);
const repo = '/docker/registry/v2/repositories/library/app';

describe('pathKind', () => {
  it.each([
    [`/docker/registry/v2/blobs/sha256/aa/${hex}/data`, { kind: 'blob data' }],
    [`${repo}/_layers/sha256/${hex}/link`, { kind: 'layer link', repository: 'library/app' }],
    [`${repo}/_manifests/revisions/sha256/${hex}/link`, { kind: 'manifest revision link', repository: 'library/app' }],
    [`${repo}/_manifests/tags/v1/current/link`, { kind: 'tag link', repository: 'library/app' }],
    [`${repo}/_manifests/tags/v1/index/sha256/${hex}/link`, { kind: 'tag index link', repository: 'library/app' }],
    [`${repo}/_uploads/0b1c/data`, { kind: 'upload data', repository: 'library/app' }],
    [`${repo}/_uploads/0b1c/startedat`, { kind: 'upload start time', repository: 'library/app' }],
    [`${repo}/_uploads/0b1c/hashstates/sha256/0`, { kind: 'upload hash state', repository: 'library/app' }],
    ['/', { kind: 'root' }],
    ['/berth/elsewhere', { kind: 'other' }],
  ])('%s is %o', (path, kind) => {
    expect(pathKind(path)).toEqual(kind);
  });
});

describe('slowStorageLog on the filesystem driver', () => {
  let work: TempDir;
  let lines: string[];

  beforeEach(async () => {
    work = await createTempDir('berth-observed-');
    lines = [];
    Logger.overrideLogger(new BerthLogger({ formatter: 'json' }, (line) => lines.push(line)));
  });

  afterEach(async () => {
    Logger.overrideLogger(new BerthLogger());
    await work.remove();
  });

  const observedDriver = (slowMs: number): StorageDriver => {
    const slowCalls = slowStorageLog(slowMs, new Logger('storage'));
    return createStorageDriver('filesystem', { rootdirectory: work.path }, slowCalls ? [slowCalls] : []);
  };

  it('an operation over the threshold is logged with the driver, the operation, the path\'s kind and repository, never the path', async () => {
    // A threshold no operation can beat: every one is "slow".
    const observed = observedDriver(1e-9);
    const link = `${repo}/_manifests/tags/v1/current/link`;
    await observed.putContent(link, Buffer.from(`sha256:${hex}`));
    expect((await observed.getContent(link)).toString()).toBe(`sha256:${hex}`);
    const writer = await observed.writer(`${repo}/_uploads/0b1c/data`);
    writer.end(Buffer.from('bytes'));
    await writer.commit();
    // A walk takes as long as the storage is large: never "slow".
    for await (const _ of observed.walk(repo)) void _;
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.map((line) => [line['storage.operation'], line['storage.path.kind']])).toEqual([
      ['putcontent', 'tag link'],
      ['getcontent', 'tag link'],
      ['writer', 'upload data'],
      ['commit', 'upload data'],
    ]);
    for (const line of logged) {
      expect(line).toMatchObject({ level: 'warning', msg: 'slow storage operation', 'storage.driver': 'filesystem', 'storage.repository': 'library/app' });
      expect(line['storage.duration']).toMatch(/^\d+ms$/);
      expect(JSON.stringify(line)).not.toContain('_manifests/tags');
    }
  });

  it('nothing under the threshold, nor with a threshold of 0; failures pass through untouched', async () => {
    expect(slowStorageLog(0, new Logger('storage'))).toBeUndefined();
    const observed = observedDriver(60_000);
    await observed.putContent('/a/b', Buffer.from('x'));
    await expect(observed.getContent('/a/missing')).rejects.toMatchObject({ name: 'PathNotFoundError' });
    expect(lines).toEqual([]);
  });
});
