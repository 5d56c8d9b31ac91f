import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '@berth/config';
import { BerthLogger, type BerthLoggerOptions } from './berth-logger';
import { inRequest, requestIdFrom } from './request-scope';

function logged(options: BerthLoggerOptions, write: (logger: BerthLogger) => void): string[] {
  const lines: string[] = [];
  write(new BerthLogger(options, (line) => lines.push(line)));
  return lines;
}

describe('BerthLogger', () => {
  it('text: logrus\'s time, level, msg, then the fields sorted, quoted where logrus quotes', () => {
    const [line] = logged({ formatter: 'text', fields: { service: 'registry' } }, (logger) =>
      logger.warn({ msg: 'slow storage operation', 'storage.driver': 's3', 'storage.path.kind': 'blob data' }, 'storage'),
    );
    expect(line).toMatch(
      /^time="\d{4}-\d\d-\d\dT[\d:.]+Z" level=warning msg="slow storage operation" context=storage service=registry storage\.driver=s3 storage\.path\.kind="blob data"\n$/,
    );
  });

  it('text: lines of one kind sorted alike, line after line; a field of the line wins over log.fields of the same key', () => {
    const lines = logged({ formatter: 'text', fields: { service: 'registry', zone: 'a' } }, (logger) => {
      for (const id of ['1', '2']) logger.log({ msg: 'response completed', 'http.response.status': 200, 'http.request.id': id, zone: 'b' }, 'access');
      logger.log({ msg: 'other', b: 1, a: 2 });
    });
    expect(lines.map((line) => line.replace(/^time="[^"]+" /, ''))).toEqual([
      'level=info msg="response completed" context=access http.request.id=1 http.response.status=200 service=registry zone=b\n',
      'level=info msg="response completed" context=access http.request.id=2 http.response.status=200 service=registry zone=b\n',
      'level=info msg=other a=2 b=1 service=registry zone=a\n',
    ]);
  });

  it('json: one object, keys sorted as logrus\'s map, log.fields on it', () => {
    const [line] = logged({ formatter: 'json', fields: { service: 'registry' } }, (logger) => logger.log('listening', 'berth'));
    const fields = JSON.parse(line!) as Record<string, unknown>;
    expect(Object.keys(fields)).toEqual(['context', 'level', 'msg', 'service', 'time']);
    expect(fields).toMatchObject({ level: 'info', msg: 'listening', service: 'registry', context: 'berth' });
  });

  it('logstash: @timestamp, @version 1, message, level', () => {
    const [line] = logged({ formatter: 'logstash' }, (logger) => logger.error('it broke'));
    expect(JSON.parse(line!)).toMatchObject({ '@version': '1', level: 'error', message: 'it broke' });
    expect(Date.parse((JSON.parse(line!) as { '@timestamp': string })['@timestamp'])).not.toBeNaN();
  });

  it('log.level: nothing below it is written, Nest\'s verbose counts as debug', () => {
    const at = (level: string) =>
      logged({ level, formatter: 'json' }, (logger) => {
        logger.error('e');
        logger.warn('w');
        logger.log('i');
        logger.debug('d');
        logger.verbose('v');
      }).map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(at('error')).toEqual(['e']);
    expect(at('warn')).toEqual(['e', 'w']);
    expect(at('info')).toEqual(['e', 'w', 'i']);
    expect(at('debug')).toEqual(['e', 'w', 'i', 'd', 'v']);
  });

  it('the request\'s id on every line written while serving it', () => {
    const lines = logged({ formatter: 'json' }, (logger) => {
      logger.log('outside');
      inRequest({ id: 'req-42' }, () => logger.log('inside'));
    }).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).not.toHaveProperty('http.request.id');
    expect(lines[1]).toMatchObject({ msg: 'inside', 'http.request.id': 'req-42' });
  });

  it('a field named like a secret is masked on every line, whatever its case and however often the key was seen', () => {
    const lines = logged({ formatter: 'json' }, (logger) => {
      for (const value of ['FirstPassw0rd-1', 'SecondPassw0rd-2']) logger.log({ msg: 'connecting', password: value, Secret: value, 'storage.bucket': 'b' });
    }).map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) expect(line).toMatchObject({ password: '*****', Secret: '*****', 'storage.bucket': 'b' });
  });

  it('no secret of the config, no URL password, no Authorization credential in any line or field', () => {
    // Loading a config is what tells the redactor its secrets.
    parseConfig('version: 0.1\nhttp: {secret: TheHttpSecret-77}\nstorage: {swift: {authurl: "http://x/auth/v1.0", username: u, password: SwiftPassword-88, container: c}}\n', 't.yml', {});
    const lines = logged({ formatter: 'text', fields: { password: 'FieldPassword-99' } }, (logger) => {
      logger.error('backend said: bad key SwiftPassword-88 for http://user:UrlPassw0rd@swift.example/auth');
      logger.warn({ msg: 'retrying', 'storage.url': 'https://u:UrlPassw0rd@host/x', header: 'Bearer abcdef123456' });
      logger.log('state signed with TheHttpSecret-77');
    });
    const all = lines.join('');
    for (const secret of ['TheHttpSecret-77', 'SwiftPassword-88', 'FieldPassword-99', 'UrlPassw0rd', 'abcdef123456']) expect(all).not.toContain(secret);
  });

  it('a fixed-line writer writes what log() writes for the same fields, in every formatter, its client text scrubbed', () => {
    parseConfig('version: 0.1\nhttp: {secret: TheHttpSecret-77}\nstorage: {inmemory: {}}\n', 't.yml', {});
    const keys = ['http.request.id', 'http.request.useragent', 'http.response.status', 'http.response.duration'];
    const values = ['req-1', 'curl with TheHttpSecret-77 and Bearer abcdef123456', 200, '312.5µs'];
    vi.useFakeTimers({ now: Date.parse('2026-12-07T10:11:12.345Z') });
    try {
      for (const formatter of ['text', 'json', 'logstash'] as const) {
        const [fixed, general] = logged({ formatter, fields: { service: 'registry' } }, (logger) => {
          logger.fixedLineWriter('access', keys, [true, true, false, false])('response completed', values);
          logger.log({ msg: 'response completed', ...Object.fromEntries(keys.map((key, i) => [key, values[i]])) }, 'access');
        });
        expect(fixed).toBe(general);
        expect(fixed).not.toContain('TheHttpSecret-77');
        expect(fixed).not.toContain('abcdef123456');
      }
    } finally {
      vi.useRealTimers();
    }
    expect(logged({ level: 'warn' }, (logger) => logger.fixedLineWriter('access', keys, [true, true, false, false])('response completed', values))).toEqual([]);
  });
});

describe('requestIdFrom', () => {
  it('keeps a sane client id, replaces a missing or forged one', () => {
    expect(requestIdFrom('0f8e-11aa.trace:7')).toBe('0f8e-11aa.trace:7');
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom('a b')).not.toBe('a b');
    expect(requestIdFrom('x"\nlevel=error msg=forged')).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom('x'.repeat(129))).toMatch(/^[0-9a-f-]{36}$/);
  });
});
