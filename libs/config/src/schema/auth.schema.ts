import { z } from 'zod';
import { nested } from './nested-issue';
import { isMapping } from '../yaml-document';
import { bool, name, text, textList } from './scalars';

/** The reference's access controllers and the keys each one reads (registry/auth/*). */
const providers = {
  silly: z.strictObject({ realm: name, service: name }),
  token: z
    .strictObject({
      realm: name,
      service: name,
      issuer: name,
      rootcertbundle: name.optional(),
      autoredirect: bool.default(false),
      // Distribution 3: keys from a JWKS file, the accepted algorithms, the redirect path.
      jwks: name.optional(),
      signingalgorithms: textList.optional(),
      autoredirectpath: text.optional(),
    })
    .superRefine((token, ctx) => {
      if (token.rootcertbundle === undefined && token.jwks === undefined) {
        ctx.addIssue({ code: 'custom', path: ['rootcertbundle'], message: 'missing: token auth needs rootcertbundle (or jwks)' });
      }
    }),
  htpasswd: z.strictObject({ realm: name, path: name }),
  // `auth: none` turns auth off, as an empty section does (the reference's NewApp).
  none: z.strictObject({}),
};

export type AuthProvider = keyof typeof providers;
const providerNames = Object.keys(providers) as AuthProvider[];

export type AuthConfig = { [P in AuthProvider]?: z.output<(typeof providers)[P]> };

/** `auth`: at most one provider, as in the reference ("must provide exactly one type"). */
export const authSection = z.unknown().transform((raw, ctx): AuthConfig => {
  if (!isMapping(raw)) {
    ctx.issues.push({ code: 'custom', message: `expected a mapping with one of ${providerNames.join(', ')}`, input: raw });
    return z.NEVER;
  }
  const keys = Object.keys(raw).sort();
  if (keys.length > 1) {
    ctx.issues.push({ code: 'custom', message: `only one auth provider may be configured, found ${keys.length}: ${keys.join(', ')}`, input: raw });
    return z.NEVER;
  }
  const auth: AuthConfig = {};
  for (const key of keys) {
    if (!(providerNames as string[]).includes(key)) {
      ctx.issues.push({ code: 'custom', message: `unknown auth provider (known: ${providerNames.join(', ')})`, input: key, path: [key] });
      return z.NEVER;
    }
    const provider = key as AuthProvider;
    const parsed = providers[provider].safeParse(raw[key] ?? {}, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.issues.push(nested(issue, [key]));
      return z.NEVER;
    }
    Object.assign(auth, { [provider]: parsed.data });
  }
  return auth;
});
