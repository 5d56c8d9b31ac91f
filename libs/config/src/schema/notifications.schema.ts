import { z } from 'zod';
import { bool, duration, headerMap, httpUrl, int, name, textList } from './scalars';

const oneSecond = 1_000;
// The reference's EndpointConfig.defaults(): 0 or missing means 1s, 10, 1s.
const orDefault = (fallback: number) => (value: number) => (value === 0 ? fallback : value);

const endpoint = z.strictObject({
  name,
  disabled: bool.default(false),
  url: httpUrl,
  headers: headerMap.default({}),
  timeout: duration().transform(orDefault(oneSecond)).default(oneSecond),
  threshold: int({ min: 0 }).transform(orDefault(10)).default(10),
  backoff: duration().transform(orDefault(oneSecond)).default(oneSecond),
  ignoredmediatypes: textList.default([]),
  ignore: z.strictObject({ mediatypes: textList.default([]), actions: textList.default([]) }).prefault({}),
});

export const notificationsSection = z.strictObject({
  events: z.strictObject({ includereferences: bool.default(false) }).prefault({}),
  endpoints: z.array(endpoint).default([]),
});
