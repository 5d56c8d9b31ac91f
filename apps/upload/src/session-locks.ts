/**
 * Runs the calls of one upload session one after the other in this process. A client that
 * sends two PATCHes of a session at once would otherwise have two writers appending to one
 * data file. Across instances nothing is locked: there the `Content-Range` check and the
 * data file's size are what order chunks, as in the reference.
 */
export class SessionLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.catch(() => undefined);
    this.tails.set(id, tail);
    try {
      return await result;
    } finally {
      // Only the last caller in line removes the entry, so the map holds live sessions only.
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }
}
