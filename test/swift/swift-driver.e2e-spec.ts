import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { createStorageDriver, type StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropContainer, listContainer, type SwiftBackend, swiftBackend, swiftSession } from '@berth/testing';

/**
 * What the shared suite cannot see: how the Swift driver lays objects out in its container
 * and who owns which segments. These look at the container behind the driver's back.
 */
describe('swift driver: segments, manifests and their ownership on a real Swift', () => {
  let backend: SwiftBackend;
  let driver: StorageDriver;
  const container = `berth-layout-${randomBytes(4).toString('hex')}`;
  const chunksize = 100_000;

  beforeAll(() => {
    backend = swiftBackend();
    driver = createStorageDriver('swift', { ...backend, container, chunksize });
  });

  afterAll(async () => {
    if (backend) await dropContainer(backend, container);
  });

  async function swift(method: string, object: string, query = '', headers: Record<string, string> = {}, body?: Buffer) {
    const { token, storageUrl } = await swiftSession(backend);
    return fetch(`${storageUrl}/${container}/${object}${query}`, { method, headers: { 'x-auth-token': token, ...headers }, body });
  }

  async function readAll(path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await driver.reader(path)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function write(path: string, content: Buffer, options: { append?: boolean; commit?: boolean } = {}) {
    const writer = await driver.writer(path, { append: options.append });
    writer.end(content);
    if (options.commit === false) await finished(writer);
    else await writer.commit();
    return writer;
  }

  /** The segment names a manifest object lists. */
  async function manifestSegments(object: string): Promise<string[]> {
    const response = await swift('GET', object, '?multipart-manifest=get');
    expect(response.headers.get('x-static-large-object')).toBe('True');
    const entries = (await response.json()) as Array<{ name: string }>;
    return entries.map((entry) => entry.name.slice(container.length + 2));
  }

  it('writes files/<path> as an SLO over segments/<h[0:3]>/<h[3:]>/%016d numbered from 1', async () => {
    const path = '/docker/registry/v2/repositories/busybox/_uploads/one/data';
    const content = randomBytes(250_000);
    await write(path, content);
    const names = await listContainer(backend, container);
    const segments = names.filter((name) => name.startsWith('segments/'));
    expect(names.filter((name) => name.startsWith('files/'))).toEqual([`files${path}`]);
    expect(segments).toHaveLength(3);
    const folder = `segments/${Buffer.from(path).toString('hex').slice(0, 3)}/${Buffer.from(path).toString('hex').slice(3)}`;
    segments.forEach((name, index) => {
      expect(name.startsWith(folder)).toBe(true);
      expect(name).toMatch(new RegExp(`/${String(index + 1).padStart(16, '0')}$`));
    });
    expect(await manifestSegments(`files${path}`)).toEqual(segments);
    expect((await readAll(path)).equals(content)).toBe(true);
    await driver.delete(path);
    expect(await listContainer(backend, container)).toEqual([]);
  });

  it('moves a blob by its manifest: one manifest owns the segments, and purging the upload keeps every byte (distribution#2188)', async () => {
    const upload = '/repo/_uploads/id/data';
    const blob = '/blobs/sha256/ab/abcdef/data';
    const content = randomBytes(350_000);
    await write(upload, content);
    await driver.putContent('/repo/_uploads/id/startedat', Buffer.from(new Date().toISOString()));
    const segments = await manifestSegments(`files${upload}`);
    await driver.move(upload, blob);
    expect((await swift('HEAD', `files${upload}`)).status).toBe(404);
    expect(await manifestSegments(`files${blob}`)).toEqual(segments);
    // The purge of the upload folder, which lost the reference its blobs.
    await driver.delete('/repo/_uploads/id');
    expect((await readAll(blob)).equals(content)).toBe(true);
    const manifests = (await listContainer(backend, container)).filter((name) => name.startsWith('files/'));
    expect(manifests).toEqual([`files${blob}`]);
    await driver.delete('/blobs');
    expect(await listContainer(backend, container)).toEqual([]);
  });

  it('continues an upload on another driver instance from the manifest, numbering on', async () => {
    const path = '/repo/_uploads/resumed/data';
    const first = randomBytes(250_000);
    const second = randomBytes(150_000);
    await write(path, first, { commit: false });
    // Another replica: nothing shared but the container.
    const other = createStorageDriver('swift', { ...backend, container, chunksize });
    const resumed = await other.writer(path, { append: true });
    expect(resumed.size).toBe(250_000);
    resumed.end(second);
    await resumed.commit();
    expect(resumed.size).toBe(400_000);
    const segments = await manifestSegments(`files${path}`);
    expect(segments.map((name) => name.slice(-16))).toEqual(['1', '2', '3', '4', '5'].map((n) => n.padStart(16, '0')));
    expect(new Set(segments.map((name) => name.slice(0, -17))).size).toBe(1);
    expect((await readAll(path)).equals(Buffer.concat([first, second]))).toBe(true);
    await other.delete('/repo');
    expect(await listContainer(backend, container)).toEqual([]);
  });

  it('removes every segment on cancel, earlier writers included', async () => {
    const path = '/repo/_uploads/cancelled/data';
    await write(path, randomBytes(150_000), { commit: false });
    const segmentCount = async () => (await listContainer(backend, container)).filter((name) => name.startsWith('segments/')).length;
    const earlier = await segmentCount();
    expect(earlier).toBeGreaterThan(0);
    const writer = await driver.writer(path, { append: true });
    writer.write(randomBytes(120_000));
    // Cancel once this writer's own segment is in Swift, so the cancel has one to remove.
    for (const deadline = Date.now() + 30_000; (await segmentCount()) <= earlier; ) {
      if (Date.now() > deadline) throw new Error('no segment of the appending writer reached Swift');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writer.cancel();
    expect(await listContainer(backend, container)).toEqual([]);
  });

  it('replacing a large file deletes the replaced segments', async () => {
    const path = '/repo/rewritten';
    await write(path, randomBytes(250_000));
    await write(path, randomBytes(120_000));
    expect((await listContainer(backend, container)).filter((name) => name.startsWith('segments/'))).toHaveLength(2);
    await driver.delete(path);
    expect(await listContainer(backend, container)).toEqual([]);
  });

  it('reads, moves and deletes a DLO written the reference way (X-Object-Manifest)', async () => {
    const folder = 'segments/abc/reference-written';
    const parts = [randomBytes(1000), randomBytes(2000), randomBytes(500)];
    for (const [index, part] of parts.entries()) {
      expect((await swift('PUT', `${folder}/${String(index + 1).padStart(16, '0')}`, '', {}, part)).status).toBe(201);
    }
    const manifest = await swift('PUT', 'files/reference/_uploads/u/data', '', { 'x-object-manifest': `${container}/${folder}` }, Buffer.alloc(0));
    expect(manifest.status).toBe(201);
    await driver.putContent('/reference/_uploads/u/startedat', Buffer.from('2026-01-01T00:00:00Z'));
    expect((await readAll('/reference/_uploads/u/data')).equals(Buffer.concat(parts))).toBe(true);
    await driver.move('/reference/_uploads/u/data', '/reference/blob/data');
    await driver.delete('/reference/_uploads');
    expect((await readAll('/reference/blob/data')).equals(Buffer.concat(parts))).toBe(true);
    await driver.delete('/reference');
    expect(await listContainer(backend, container)).toEqual([]);
  });

  describe('purgeOrphans', () => {
    /** Every folder counts as old: the age guard is tested on its own below. */
    const inAMinute = () => new Date(Date.now() + 60_000);
    const anHourAgo = () => new Date(Date.now() - 3_600_000);

    async function segmentNames(): Promise<string[]> {
      return (await listContainer(backend, container)).filter((name) => name.startsWith('segments/'));
    }

    /** Segments as a writer killed before its manifest leaves them: named by the scheme, owned by nothing. */
    async function strandSegments(folder: string, numbers: number[]): Promise<string[]> {
      const names = numbers.map((number) => `${folder}/${String(number).padStart(16, '0')}`);
      for (const name of names) expect((await swift('PUT', name, '', {}, randomBytes(1000))).status).toBe(201);
      return names;
    }

    it('removes only segments no manifest owns (SLO, DLO, closed upload), leaving every file whole', async () => {
      const committed = randomBytes(250_000);
      await write('/purge/blobs/committed/data', committed);
      const closed = randomBytes(150_000);
      await write('/purge/_uploads/closed/data', closed, { commit: false });
      // A DLO as the reference writes it: prefix without a trailing slash.
      const dloParts = [randomBytes(1000), randomBytes(700)];
      const dloFolder = `segments/d10/${randomBytes(40).toString('hex')}`;
      await strandSegments(dloFolder, [1, 2]).then((names) =>
        Promise.all(names.map(async (name, index) => expect((await swift('PUT', name, '', {}, dloParts[index])).status).toBe(201))),
      );
      const dlo = await swift('PUT', 'files/purge/reference/data', '', { 'x-object-manifest': `${container}/${dloFolder}` }, Buffer.alloc(0));
      expect(dlo.status).toBe(201);
      // A writer that died before its manifest, and one that died after segments past its manifest's last.
      const stranded = await strandSegments(`segments/5ad/${randomBytes(40).toString('hex')}`, [1, 2, 3]);
      const committedFolder = (await manifestSegments('files/purge/blobs/committed/data'))[0]!.slice(0, -17);
      const beyond = await strandSegments(committedFolder, [4, 5]);
      const orphans = [...stranded, ...beyond];
      const before = await segmentNames();

      const dry = await driver.purgeOrphans!(inAMinute(), { dryRun: true });
      expect(new Set(dry)).toEqual(new Set(orphans));
      expect(await segmentNames()).toEqual(before);

      const purged = await driver.purgeOrphans!(inAMinute(), { dryRun: false });
      expect(new Set(purged)).toEqual(new Set(orphans));
      expect(await segmentNames()).toEqual(before.filter((name) => !orphans.includes(name)));
      expect((await readAll('/purge/blobs/committed/data')).equals(committed)).toBe(true);
      expect((await readAll('/purge/reference/data')).equals(Buffer.concat(dloParts))).toBe(true);
      // The closed upload resumes on another instance and commits whole.
      const other = createStorageDriver('swift', { ...backend, container, chunksize });
      const more = randomBytes(120_000);
      const resumed = await other.writer('/purge/_uploads/closed/data', { append: true });
      resumed.end(more);
      await resumed.commit();
      expect((await readAll('/purge/_uploads/closed/data')).equals(Buffer.concat([closed, more]))).toBe(true);
      expect(await driver.purgeOrphans!(inAMinute(), { dryRun: false })).toEqual([]);
      await driver.delete('/purge');
      expect(await listContainer(backend, container)).toEqual([]);
    });

    it('keeps the segments of a writer still writing while they are younger than olderThan', async () => {
      const writer = await driver.writer('/young/_uploads/u/data');
      writer.write(randomBytes(250_000));
      // Two whole segments reach Swift; no manifest names them until the writer ends.
      for (let attempt = 0; (await segmentNames()).length < 2 && attempt < 100; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await segmentNames()).length).toBeGreaterThanOrEqual(2);
      expect(await driver.purgeOrphans!(anHourAgo(), { dryRun: false })).toEqual([]);
      await writer.commit();
      expect((await driver.stat('/young/_uploads/u/data')).size).toBe(250_000);
      expect(await driver.purgeOrphans!(inAMinute(), { dryRun: false })).toEqual([]);
      await driver.delete('/young');
      expect(await listContainer(backend, container)).toEqual([]);
    });

    it('three uploads moved onto one blob at once: one manifest owns the blob, a purge leaves only its segments', async () => {
      const content = randomBytes(230_000);
      await Promise.all(['a', 'b', 'c'].map((id) => write(`/race/_uploads/${id}/data`, content)));
      await Promise.all(['a', 'b', 'c'].map((id) => driver.move(`/race/_uploads/${id}/data`, '/race/blobs/data')));
      await driver.purgeOrphans!(inAMinute(), { dryRun: false });
      expect(await segmentNames()).toEqual((await manifestSegments('files/race/blobs/data')).sort());
      expect((await readAll('/race/blobs/data')).equals(content)).toBe(true);
      await driver.delete('/race');
      expect(await listContainer(backend, container)).toEqual([]);
    });
  });

  it("dates a file as Swift stored it, to the millisecond of its listing, not to Last-Modified's next whole second", async () => {
    await driver.putContent('/dated/plain', Buffer.from('x'));
    await write('/dated/large', randomBytes(chunksize + 1));
    const { token, storageUrl } = await swiftSession(backend);
    const listed = await fetch(`${storageUrl}/${container}?format=json&prefix=files/dated/`, { headers: { 'x-auth-token': token } });
    const entries = (await listed.json()) as { name: string; last_modified: string }[];
    expect(entries.map((entry) => entry.name)).toEqual(['files/dated/large', 'files/dated/plain']);
    for (const entry of entries) {
      const { modTime } = await driver.stat(`/${entry.name.slice('files/'.length)}`);
      expect(modTime.toISOString(), entry.name).toBe(new Date(`${entry.last_modified}Z`).toISOString());
    }
  });

  it('signs TempURLs for redirects only when a secret key is configured', async () => {
    await driver.putContent('/tempurl/file', Buffer.from('served by Swift itself'));
    expect(await driver.redirectUrl('/tempurl/file', 'GET')).toBeUndefined();
    const signing = createStorageDriver('swift', { ...backend, container, secretkey: 'berth-test-tempurl-key' });
    const url = await signing.redirectUrl('/tempurl/file', 'GET');
    expect(url).toMatch(/temp_url_sig=.*temp_url_expires=/);
    const response = await fetch(url!);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('served by Swift itself');
    const head = await fetch((await signing.redirectUrl('/tempurl/file', 'HEAD'))!, { method: 'HEAD' });
    expect(head.status).toBe(200);
    await driver.delete('/tempurl');
  });
});
