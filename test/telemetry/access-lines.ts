/**
 * Reads berth's log lines back in each `log.formatter`: the tests check fields, whatever the
 * form. `text` is logrus's `key=value` (values bare, or quoted as Go's %q, which JSON reads).
 */
export type Formatter = 'text' | 'json' | 'logstash';

export function parseLine(formatter: Formatter, line: string): Record<string, unknown> | undefined {
  if (formatter !== 'text') {
    if (!line.startsWith('{')) return undefined;
    const fields = JSON.parse(line) as Record<string, unknown>;
    return formatter === 'logstash' ? { ...fields, msg: fields.message, time: fields['@timestamp'] } : fields;
  }
  if (!line.startsWith('time=')) return undefined;
  const fields: Record<string, unknown> = {};
  for (const [, key, quoted, bare] of line.matchAll(/([^\s=]+)=(?:("(?:[^"\\]|\\.)*")|(\S*))/g)) {
    fields[key!] = quoted !== undefined ? (JSON.parse(quoted) as string) : bare;
  }
  return fields;
}

export function parseLines(formatter: Formatter, output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .map((line) => parseLine(formatter, line))
    .filter((fields): fields is Record<string, unknown> => fields !== undefined);
}
