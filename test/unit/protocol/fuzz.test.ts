/**
 * Mutation fuzzing of the codec: for every API the broker serves and every version it serves,
 * a valid request is encoded, then truncated and byte-flipped many times. Decoding must either
 * succeed or fail with ProtocolDecodeError: never another exception (which would mean an
 * unchecked read or a crash path in the broker), never a hang. Seeded, so failures reproduce.
 */
import { expect } from 'chai';
import { decodeMessage, encodeMessage } from '../../../broker/src/protocol/codec.js';
import { ProtocolDecodeError, Reader } from '../../../broker/src/protocol/primitives/reader.js';
import { Writer } from '../../../broker/src/protocol/primitives/writer.js';
import { HANDLERS } from '../../../broker/src/kafka/handlers/index.js';
import { seededRandom } from '../../helpers/random.js';

describe('codec mutation fuzzing (every served API and version)', () => {
  it('decodes mutated and truncated requests or rejects them with ProtocolDecodeError only', () => {
    const random = seededRandom(20261126);
    let cases = 0;
    let rejected = 0;
    for (const h of HANDLERS) {
      for (let v = h.minVersion; v <= h.maxVersion; v++) {
        const w = new Writer();
        encodeMessage(h.api.request, v, {}, w);
        const valid = Buffer.from(w.toBuffer());
        // A little payload so mutations hit lengths and counts, not only an empty body.
        const padded = Buffer.concat([valid, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]);
        for (let i = 0; i < 60; i++) {
          const input = Buffer.from(i % 3 === 0 ? valid : padded);
          const flips = 1 + Math.floor(random() * 4);
          for (let f = 0; f < flips && input.length > 0; f++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
          const cut = i % 4 === 0 ? input.subarray(0, Math.floor(random() * input.length)) : input;
          cases++;
          try {
            decodeMessage(h.api.request, v, new Reader(cut));
          } catch (err) {
            if (!(err instanceof ProtocolDecodeError)) {
              throw new Error(`${h.api.name} v${v}: ${String(err)} on input ${cut.toString('hex')}`);
            }
            rejected++;
          }
        }
      }
    }
    expect(cases).to.be.greaterThan(5000);
    // The fuzzer must actually reach error paths, or it proves nothing.
    expect(rejected).to.be.greaterThan(cases / 10);
  });

  it('rejects random bytes for every served API with ProtocolDecodeError only', () => {
    const random = seededRandom(7);
    for (const h of HANDLERS) {
      for (let i = 0; i < 200; i++) {
        const bytes = Buffer.alloc(Math.floor(random() * 64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
        try {
          decodeMessage(h.api.request, h.maxVersion, new Reader(bytes));
        } catch (err) {
          if (!(err instanceof ProtocolDecodeError)) throw new Error(`${h.api.name}: ${String(err)} on ${bytes.toString('hex')}`);
        }
      }
    }
  });
});
