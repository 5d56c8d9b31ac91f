import { z } from 'zod';
import { bool, duration, headerMap, httpUrl, isListenAddress, listenAddress, oneOf, text, textList } from './scalars';

const looksLikePath = (addr: string): boolean => addr.startsWith('/') || addr.startsWith('.');
const scalarAddr = text.refine((addr) => looksLikePath(addr) || isListenAddress(addr), {
  error: (issue) => `${JSON.stringify(issue.input)} is not a listen address (use HOST:PORT or :PORT, e.g. :5000)`,
});

const tls = z.strictObject({
  certificate: text.optional(),
  key: text.optional(),
  clientcas: textList.optional(),
  minimumtls: text.optional(),
  ciphersuites: textList.optional(),
  letsencrypt: z
    .strictObject({
      cachefile: text.optional(),
      email: text.optional(),
      hosts: textList.optional(),
      directoryurl: text.optional(),
    })
    .optional(),
});

export const httpSection = z
  .strictObject({
    // A socket path with `net: unix` (checked below); otherwise a TCP listen address, checked
    // here so its message does not wait for the rest of the section to be valid.
    addr: scalarAddr.default(':5000'),
    net: oneOf(['tcp', 'unix']).default('tcp'),
    host: httpUrl.optional(),
    prefix: text
      .refine((prefix) => prefix.startsWith('/'), { message: 'must start with / (e.g. /registry/)' })
      .optional(),
    secret: text.optional(),
    relativeurls: bool.default(false),
    draintimeout: duration().default(0),
    tls: tls.optional(),
    headers: headerMap.default({}),
    debug: z
      .strictObject({
        addr: listenAddress.optional(),
        prometheus: z.strictObject({ enabled: bool.default(false), path: text.default('/metrics') }).prefault({}),
      })
      .prefault({}),
    http2: z.strictObject({ disabled: bool.default(false) }).prefault({}),
  })
  .superRefine((http, ctx) => {
    if (http.net === 'tcp' && looksLikePath(http.addr)) {
      ctx.addIssue({
        code: 'custom',
        path: ['addr'],
        input: http.addr,
        message: `${JSON.stringify(http.addr)} is a socket path: set http.net: unix, or use HOST:PORT`,
      });
    }
  });
