import { createReadStream } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

const BUFFERED_LINES = 10_000;

/** Lines appended to a local file and read back in order: what the sweep will do, kept out of memory. */
export class SpillFile {
  private pending: string[] = [];
  count = 0;

  constructor(private readonly path: string) {}

  async append(line: string): Promise<void> {
    this.pending.push(line);
    this.count++;
    if (this.pending.length >= BUFFERED_LINES) await this.flush();
  }

  async *lines(): AsyncGenerator<string> {
    await this.flush();
    if (this.count === 0) return;
    const reader = createInterface({ input: createReadStream(this.path, 'utf8'), crlfDelay: Infinity });
    try {
      for await (const line of reader) if (line !== '') yield line;
    } finally {
      reader.close();
    }
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    await appendFile(this.path, `${lines.join('\n')}\n`, 'utf8');
  }
}
