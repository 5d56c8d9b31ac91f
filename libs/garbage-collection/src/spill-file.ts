import { createReadStream } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

const BUFFERED_LINES = 10_000;

/**
 * Lines appended to a local file and read back in order: what the sweep will do, kept out of
 * memory. Lines that never outgrew the buffer are read back from memory, without a file.
 */
export class SpillFile {
  private pending: string[] = [];
  private spilled = false;
  count = 0;

  constructor(
    private readonly path: string,
    private readonly buffered = BUFFERED_LINES,
  ) {}

  async append(line: string): Promise<void> {
    this.pending.push(line);
    this.count++;
    if (this.pending.length >= this.buffered) await this.flush();
  }

  async *lines(): AsyncGenerator<string> {
    if (!this.spilled) {
      for (const line of this.pending) if (line !== '') yield line;
      return;
    }
    await this.flush();
    const reader = createInterface({ input: createReadStream(this.path, 'utf8'), crlfDelay: Infinity });
    try {
      for await (const line of reader) if (line !== '') yield line;
    } finally {
      reader.close();
    }
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    this.spilled = true;
    const lines = this.pending;
    this.pending = [];
    await appendFile(this.path, `${lines.join('\n')}\n`, 'utf8');
  }
}
