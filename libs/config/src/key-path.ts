export type KeyPath = readonly (string | number)[];

/** `notifications.endpoints[0].url`: how a key is named in every message. */
export function formatKeyPath(path: KeyPath): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? part : `.${part}`;
  }
  return text;
}
