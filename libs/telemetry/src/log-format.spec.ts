import { describe, expect, it } from 'vitest';
import { formatEntry, isoTime, jsonValue, type LogEntry, textValue } from './log-format';

// 2025-12-06T10:11:12.345Z
const time = Date.UTC(2025, 11, 6, 10, 11, 12, 345);

const accessLine: LogEntry = {
  time,
  level: 'info',
  msg: 'response completed',
  keys: ['service', 'context', 'http.request.uri', 'http.response.status', 'http.request.useragent', 'auth.user.name', 'http.response.duration', 'gone'],
  values: ['registry', 'access', '/v2/a/b/manifests/latest', 200, 'skopeo/1.14 (linux)', '', '312.5µs', undefined],
};

describe('formatEntry', () => {
  it('writes each formatter\'s line byte for byte', () => {
    expect(formatEntry('text', accessLine)).toBe(
      'time="2025-12-06T10:11:12.345Z" level=info msg="response completed" auth.user.name="" context=access http.request.uri=/v2/a/b/manifests/latest' +
        ' http.request.useragent="skopeo/1.14 (linux)" http.response.duration="312.5µs" http.response.status=200 service=registry',
    );
    expect(formatEntry('json', accessLine)).toBe(
      '{"auth.user.name":"","context":"access","http.request.uri":"/v2/a/b/manifests/latest","http.request.useragent":"skopeo/1.14 (linux)",' +
        '"http.response.duration":"312.5µs","http.response.status":200,"level":"info","msg":"response completed","service":"registry","time":"2025-12-06T10:11:12.345Z"}',
    );
    expect(formatEntry('logstash', accessLine)).toBe(
      '{"@timestamp":"2025-12-06T10:11:12.345Z","@version":"1","auth.user.name":"","context":"access","http.request.uri":"/v2/a/b/manifests/latest",' +
        '"http.request.useragent":"skopeo/1.14 (linux)","http.response.duration":"312.5µs","http.response.status":200,"level":"info","message":"response completed","service":"registry"}',
    );
  });

  it('the last of equal keys wins; in json the formatter\'s own fields win over the line\'s', () => {
    const entry: LogEntry = { time, level: 'warning', msg: 'm', keys: ['zone', 'msg', 'zone', 'level'], values: ['a', 'x', 'b', 'y'] };
    expect(formatEntry('text', entry)).toBe('time="2025-12-06T10:11:12.345Z" level=warning msg=m level=y msg=x zone=b');
    expect(formatEntry('json', entry)).toBe('{"level":"warning","msg":"m","time":"2025-12-06T10:11:12.345Z","zone":"b"}');
  });

  it('never mixes up two kinds of lines, whatever their keys (a key may hold the separator a joined list of keys would use)', () => {
    const one: LogEntry = { time, level: 'info', msg: 'm', keys: ['a\nb'], values: [1] };
    const two: LogEntry = { time, level: 'info', msg: 'm', keys: ['a', 'b'], values: [1, 2] };
    for (const _ of [1, 2]) {
      expect(formatEntry('json', one)).toBe('{"a\\nb":1,"level":"info","msg":"m","time":"2025-12-06T10:11:12.345Z"}');
      expect(formatEntry('json', two)).toBe('{"a":1,"b":2,"level":"info","msg":"m","time":"2025-12-06T10:11:12.345Z"}');
    }
  });
});

describe('textValue', () => {
  it('leaves bare what logrus leaves bare, quotes the rest as JSON strings', () => {
    const cases: [unknown, string][] = [
      ['AZaz09-._/@^+', 'AZaz09-._/@^+'],
      ['', '""'],
      ['127.0.0.1:5000', '"127.0.0.1:5000"'],
      ['a b', '"a b"'],
      ['312.5µs', '"312.5µs"'],
      ['say "hi"\n', '"say \\"hi\\"\\n"'],
      ['back\\slash', '"back\\\\slash"'],
      ['\ud800', '"\\ud800"'],
      ['😀', '"😀"'],
      [200, '200'],
      [-1.5e-7, '-1.5e-7'],
      [NaN, 'NaN'],
      [true, 'true'],
      [null, 'null'],
      [{ a: 1 }, '"{\\"a\\":1}"'],
    ];
    for (const [value, text] of cases) expect(textValue(value)).toBe(text);
  });
});

describe('jsonValue', () => {
  it('is JSON.stringify', () => {
    const values: unknown[] = ['', 'plain', 'q"uote', 'back\\', 'tab\t', '\u0000\u001f\u007f', '\u2028', 'µ😀', '\udc00x', 0, -0, 1e21, NaN, -Infinity, false, null, [1, 'a'], { b: '\n' }];
    for (const value of values) expect(jsonValue(value)).toBe(JSON.stringify(value));
  });

  it('writes null for what JSON.stringify cannot write, so the line stays JSON', () => {
    for (const value of [() => 1, Symbol('s')]) expect(jsonValue(value)).toBe('null');
    const line = formatEntry('json', { time, level: 'info', msg: 'm', keys: ['callback'], values: [() => 1] });
    expect(JSON.parse(line)).toMatchObject({ callback: null });
  });
});

describe('isoTime', () => {
  it('is toISOString, within a second and across seconds, years and the epoch', () => {
    const times = [time, time + 1, time + 654, time + 655, time - 345, time - 346, 0, -1, -1000, -1001, 999, 1000, 253402300799999, 253402300800000, -62198755200001];
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(NaN)).toThrow(RangeError);
  });
});
