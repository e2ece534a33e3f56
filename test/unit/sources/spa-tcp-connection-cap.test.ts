import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { startSpaListeners } from '../../../src/sources/spa/listeners.js';

/**
 * Flaw (issue 21): the SPA TCP listener had no connection cap: 15,315 connections were held
 * open by sending one byte every 3 s (each byte reset the idle timeout). Now connections are
 * capped in all and per source, and each has a read deadline however slowly it sends.
 * Loopback only (127.0.0.0/8); bounded in count and time.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Held {
  readonly sock: Socket;
  closed: boolean;
}

/** A connection from `from` that sends one byte every 200 ms (as the attack did every 3 s). */
function dribble(port: number, from: string, stop: { done: boolean }): Promise<Held> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port, localAddress: from });
    const held: Held = { sock, closed: false };
    const tick = setInterval(() => {
      if (stop.done || held.closed) return clearInterval(tick);
      sock.write('A');
    }, 200);
    sock.on('close', () => {
      held.closed = true;
      clearInterval(tick);
    });
    sock.on('error', () => {});
    sock.on('connect', () => resolve(held));
    // refused before connect (never expected on loopback) still counts as closed
    sock.on('close', () => resolve(held));
  });
}

describe('the SPA TCP listener has no connection cap', () => {
  test('per-source and total caps and a read deadline; another source still delivers its packet', async () => {
    const received: string[] = [];
    const listeners = await startSpaListeners(
      { host: '127.0.0.1', udp: null, tcp: 0, http: null },
      async (data, peer) => {
        received.push(`${peer} ${Buffer.from(data).toString('latin1')}`);
        return { ok: false, reason: 'test' };
      },
      () => {},
      { maxConnections: 12, maxPerSource: 8, readDeadlineMs: 1500 },
    );
    const port = listeners.ports.tcp as number;
    const stop = { done: false };
    try {
      const started = Date.now();
      const a = await Promise.all(Array.from({ length: 20 }, () => dribble(port, '127.0.0.1', stop)));
      await sleep(300);
      assert.equal(a.filter((h) => !h.closed).length, 8, 'one source holds at most 8');
      const b = await Promise.all(Array.from({ length: 8 }, () => dribble(port, '127.0.0.2', stop)));
      await sleep(300);
      assert.equal(b.filter((h) => !h.closed).length, 4, 'all sources together hold at most 12');
      // the deadline: dribbling keeps no connection past it
      while ([...a, ...b].some((h) => !h.closed) && Date.now() - started < 5000) await sleep(100);
      assert.equal([...a, ...b].filter((h) => !h.closed).length, 0, 'every held connection was cut');
      assert.ok(Date.now() - started < 3000, `cut after ${Date.now() - started} ms, deadline 1.5 s`);
      // positive control: once the holders are gone, a packet sent at once is received
      const sock = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
      sock.on('error', () => {});
      sock.end('P'.repeat(200));
      while (received.length === 0 && Date.now() - started < 8000) await sleep(50);
      assert.equal(received.length, 1, JSON.stringify(received));
      assert.equal(received[0], `127.0.0.3 ${'P'.repeat(200)}`);
    } finally {
      stop.done = true;
      await listeners.close();
    }
  });
});
