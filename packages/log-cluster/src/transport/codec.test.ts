// The raft envelope's snapshot field over TCP: a log start with the state retention kept of the
// entries before it (the producers), and one without, read back as sent.
import { describe, expect, it } from 'vitest';
import type { Message, SnapshotMeta } from '../raft/types.ts';
import { FrameError, Reader, Writer, decodeEnvelope, encodeEnvelope, envelopeBytesEstimate } from './codec.ts';

function snapshotMessage(snapshot: SnapshotMeta | null): Message {
  return { type: 'snapshot', from: 1, to: 2, term: 3, logTerm: 0, index: 0, commit: 0, entries: [], reject: false, rejectHint: 0, snapshot };
}

function roundTrip(messages: Message[]): Message[] {
  const envelope = messages.map((message) => ({ partition: 5, message }));
  const w = new Writer(envelopeBytesEstimate(envelope));
  encodeEnvelope(w, 1, envelope);
  return decodeEnvelope(new Reader(w.finish().slice())).messages.map(({ message }) => message);
}

describe('codec', () => {
  it('carries a snapshot with its state, one without, and none', () => {
    const state = Uint8Array.from({ length: 300 }, (_, k) => k & 0xff);
    const withState: SnapshotMeta = { index: 2 ** 40, term: 7, nextOffset: 2 ** 45 + 1, state };
    const withoutState: SnapshotMeta = { index: 12, term: 2, nextOffset: 99 };
    const [a, b, c] = roundTrip([snapshotMessage(withState), snapshotMessage(withoutState), snapshotMessage(null)]);
    expect(a!.snapshot).toEqual(withState);
    expect(b!.snapshot).toEqual(withoutState);
    expect(b!.snapshot).not.toHaveProperty('state');
    expect(c!.snapshot).toBeNull();
  });

  it('refuses a snapshot flag it does not know', () => {
    const envelope = [{ partition: 5, message: snapshotMessage({ index: 1, term: 1, nextOffset: 1 }) }];
    const w = new Writer();
    encodeEnvelope(w, 1, envelope);
    const bytes = w.finish().slice();
    // from u32, count u32, partition u32, type u8, from u32, to u32, 4 × f64, reject u8, rejectHint f64: the flag follows.
    bytes[4 + 4 + 4 + 1 + 4 + 4 + 32 + 1 + 8] = 3;
    expect(() => decodeEnvelope(new Reader(bytes))).toThrow(FrameError);
  });
});
