import t from 'tap';
import { parseGoDuration, canonicalHeaderKey } from '../../src/echo/index.js';
import { echoSetHeaders } from '../../src/echo/http-handler.js';
import { headersMap } from '../../src/echo/headers.js';
import { hpackInteger } from '../../src/echo/h2c.js';

t.test('Go durations', async (t) => {
  t.equal(parseGoDuration('1s'), 1000);
  t.equal(parseGoDuration('500ms'), 500);
  t.equal(parseGoDuration('1h2m3.5s'), 3_723_500);
  t.equal(parseGoDuration('1.5m'), 90_000);
  t.equal(parseGoDuration('.5s'), 500);
  t.equal(parseGoDuration('100us'), 0.1);
  t.equal(parseGoDuration('100µs'), 0.1);
  t.equal(parseGoDuration('0'), 0);
  t.equal(parseGoDuration('-2s'), -2000);
  t.throws(() => parseGoDuration('1'), { message: 'time: missing unit in duration "1"' });
  t.throws(() => parseGoDuration('1x'), { message: 'time: unknown unit "x" in duration "1x"' });
  t.throws(() => parseGoDuration('1msx'), { message: 'time: unknown unit "msx" in duration "1msx"' });
  t.throws(() => parseGoDuration(''), { code: 'ERR_SLUICE_ECHO_DURATION' });
  t.throws(() => parseGoDuration('s'), { message: 'time: invalid duration "s"' });
});

t.test('Go header canonicalisation', async (t) => {
  t.equal(canonicalHeaderKey('x-forwarded-for'), 'X-Forwarded-For');
  t.equal(canonicalHeaderKey('CONTENT-TYPE'), 'Content-Type');
  t.equal(canonicalHeaderKey('www-authenticate'), 'Www-Authenticate');
  t.equal(canonicalHeaderKey('bad header'), 'bad header', 'not a token: unchanged');
  t.same(headersMap([':authority', 'a', 'host', 'h', 'cookie', 'a=1', 'Cookie', 'b=2', 'x-a', '1'], true), { Cookie: ['a=1; b=2'], 'X-A': ['1'] }, 'HTTP/2 cookies are joined');
  t.same(headersMap(['cookie', 'a=1', 'Cookie', 'b=2'], false), { Cookie: ['a=1', 'b=2'] }, 'HTTP/1 cookies stay apart');
});

t.test('X-Echo-Set-Header parsing', async (t) => {
  t.same(echoSetHeaders(['X-Echo-Set-Header', 'A:1, B: 2 ,A:3', 'other', 'x'], false), { A: '1,3', B: '2' });
  t.same(echoSetHeaders(['x-echo-set-header', 'Connection:close,Ok:yes,Bad Name:1,NoColon'], true), { Ok: 'yes', NoColon: '' }, 'HTTP/2-forbidden and invalid names skipped');
});

t.test('HPACK integers', async (t) => {
  t.same([...hpackInteger(10, 7)], [10]);
  t.same([...hpackInteger(127, 7)], [127, 0]);
  t.same([...hpackInteger(1337, 5)], [31, 154, 10], 'RFC 7541 C.1.2');
});
