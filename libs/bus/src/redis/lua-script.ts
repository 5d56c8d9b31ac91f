import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script, run the way ioredis's `defineCommand` runs one: by its SHA1 (EVALSHA), sent whole
 * (EVAL) only on a connection's first call and again whenever Redis answers NOSCRIPT (restarted,
 * `SCRIPT FLUSH`), so the script is cached by Redis and a call costs its keys and arguments.
 * Every script of the bus runs through here.
 */
export class LuaScript {
  /** The command's name on a connection: the script's own hash, so two scripts never share one. */
  private readonly command: string;

  constructor(private readonly lua: string) {
    this.command = `berthLua${createHash('sha1').update(lua).digest('hex')}`;
  }

  /** Runs the script on `redis` with `keys` as KEYS and `args` as ARGV. */
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[] = []): Promise<unknown> {
    const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
    // The number of keys is given at each call (a script may take any number of them).
    if (commands[this.command] === undefined) redis.defineCommand(this.command, { lua: this.lua });
    return commands[this.command]!(keys.length, ...keys, ...args);
  }
}
