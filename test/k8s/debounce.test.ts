import t from 'tap';
import { Debouncer } from '../../src/sources/kubernetes/debounce.js';

/** A manual clock: timers fire only when advanced. */
function fakeTimers() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (h: unknown) => void timers.delete(h as number),
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
  };
}

t.test('fires once after the quiet period', async (t) => {
  const clock = fakeTimers();
  let calls = 0;
  const d = new Debouncer(() => calls++, { quietMs: 50, maxMs: 250, ...clock });
  d.trigger();
  clock.advance(30);
  d.trigger();
  clock.advance(30);
  t.equal(calls, 0, 'still within 50 ms of the last trigger');
  clock.advance(20);
  t.equal(calls, 1);
  clock.advance(1000);
  t.equal(calls, 1, 'nothing pending');
});

t.test('a continuous burst still fires by maxMs', async (t) => {
  const clock = fakeTimers();
  const firedAt: number[] = [];
  const d = new Debouncer(() => firedAt.push(clock.now()), { quietMs: 50, maxMs: 250, ...clock });
  for (let i = 0; i < 30; i++) {
    d.trigger();
    clock.advance(20);
  }
  t.ok(firedAt.length >= 2, `fired ${firedAt.length} times during a 600 ms burst`);
  t.equal(firedAt[0], 250, 'first fire at the max delay');
});

t.test('flush, cancel and close', async (t) => {
  const clock = fakeTimers();
  let calls = 0;
  const d = new Debouncer(() => calls++, { quietMs: 50, maxMs: 250, ...clock });
  d.trigger();
  t.ok(d.pending);
  d.flush();
  t.equal(calls, 1);
  t.notOk(d.pending);
  d.trigger();
  d.cancel();
  clock.advance(500);
  t.equal(calls, 1, 'cancelled');
  d.close();
  d.trigger();
  clock.advance(500);
  t.equal(calls, 1, 'closed debouncers ignore triggers');
});
