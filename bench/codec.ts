/**
 * npm run bench:codec: pack, unpack and round trip of a typical 0100 (20 fields with DE 55) by our
 * codec (ascii dialect) and by the npm iso_8583 package, in the same process.
 *
 * Prints one JSON line per case and implementation: {"case","impl","opsPerSec","nsPerOp",...}.
 * "unpack" and "roundtrip" for our codec read every field back as a string (or DE 55's bytes), so
 * they do the same work as iso_8583, which builds every string eagerly; "unpack-lazy" shows what
 * the gateway's link actually does (decode, then read MTI, DE 2, DE 4 and DE 11).
 *
 * Every case checks its result before it is timed. Runs are bounded by time and count so the
 * benchmark takes about 15 seconds on the shared 2-core machine.
 */
import Iso8583 from 'iso_8583';
import {
  decode, encode, loadDialect, IsoMessage, Iso8583DecodeError, type Dialect,
} from '../src/iso8583';

/** A contactless chip 0100 with typical EMV tags (values invented, PAN a test card). */
const FIELDS: Readonly<Record<number, string>> = {
  2: '4761739001010119',
  3: '000000',
  4: '000000002599',
  7: '0702113015',
  11: '004217',
  12: '123015',
  13: '0702',
  14: '2712',
  18: '5411',
  22: '071',
  23: '001',
  25: '00',
  32: '00000012345',
  35: '4761739001010119=27122011234567890',
  37: '418312004217',
  41: 'TERM0042',
  42: 'MERCHANT0000042',
  // Name 22, space, city 13, space, country 3 (Mastercard's public DE 43 layout).
  43: `${'CORNER GROCER'.padEnd(22)} ${'LONDON'.padEnd(13)} GBR`,
  49: '826',
};
const DE55_HEX = [
  '9F2608A1B2C3D4E5F60718', // application cryptogram (ARQC)
  '9F270180', // cryptogram information data
  '9F100706010A03A0B800', // issuer application data
  '9F37041A2B3C4D', // unpredictable number
  '9F36020041', // application transaction counter
  '95050000008000', // terminal verification results
  '9A03250702', // transaction date
  '9C0100', // transaction type
  '9F0206000000002599', // amount, authorised
  '5F2A020826', // transaction currency code
  '82021980', // application interchange profile
  '9F1A020826', // terminal country code
].join('');

const WARMUP_MS = 400;
const RUN_MS = 400;
const RUNS = 5;
/** Upper bound on iterations per timed run, so a surprise fast path cannot loop for long. */
const MAX_BATCH = 2_000_000;

interface BenchCase {
  name: string;
  impl: 'ours' | 'iso_8583';
  /** One operation; returns a number folded into a checksum so the work cannot be optimised away. */
  op: () => number;
}

function buildMessage(): IsoMessage {
  const message = new IsoMessage('0100');
  for (const [de, value] of Object.entries(FIELDS)) message.set(Number(de), value);
  message.set(55, Buffer.from(DE55_HEX, 'hex'));
  return message;
}

function isoJson(): Record<string, string> {
  const json: Record<string, string> = { 0: '0100' };
  for (const [de, value] of Object.entries(FIELDS)) json[de] = value;
  // iso_8583 carries DE 55 as text; hex is how its users send EMV data (its README and issues).
  json[55] = DE55_HEX;
  return json;
}

function readAll(message: IsoMessage): number {
  let total = message.mti.length;
  const present = message.presentFields();
  for (let i = 0; i < present.length; i++) {
    const de = present[i]!;
    total += de === 55 ? message.getBytes(de)!.length : message.getString(de)!.length;
  }
  return total;
}

function assert(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark self-check failed: ${what}`);
}

function checkOurs(dialect: Dialect, message: IsoMessage): Buffer {
  const frame = encode(dialect, message);
  const decoded = decode(dialect, frame);
  assert(!(decoded instanceof Iso8583DecodeError), 'our frame decodes');
  const back = decoded as IsoMessage;
  assert(back.mti === '0100', 'MTI survives');
  for (const [de, value] of Object.entries(FIELDS)) assert(back.getString(Number(de)) === value, `DE ${de}`);
  assert(back.getBytes(55)!.toString('hex').toUpperCase() === DE55_HEX, 'DE 55');
  return frame;
}

function checkTheirs(json: Record<string, string>): Buffer {
  const packed = new Iso8583(json).getBufferMessage();
  assert(Buffer.isBuffer(packed), 'iso_8583 packs');
  const unpacked = new Iso8583().getIsoJSON(packed as Buffer, {});
  assert(!('error' in unpacked), 'iso_8583 unpacks');
  for (const [de, value] of Object.entries(json)) assert((unpacked as Record<string, string>)[de] === value, `iso_8583 DE ${de}`);
  return packed as Buffer;
}

function measure(c: BenchCase): { opsPerSec: number; nsPerOp: number; checksum: number } {
  let checksum = 0;
  let batch = 1;
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) {
    for (let i = 0; i < batch; i++) checksum += c.op();
    if (batch < MAX_BATCH) batch *= 2;
  }
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    const end = performance.now() + RUN_MS;
    while (performance.now() < end && ops < MAX_BATCH * 4) {
      for (let i = 0; i < 256; i++) checksum += c.op();
      ops += 256;
    }
    const ns = Number(process.hrtime.bigint() - start);
    rates.push((ops * 1e9) / ns);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  return { opsPerSec: Math.round(median), nsPerOp: Math.round(1e9 / median), checksum };
}

function main(): void {
  const dialect = loadDialect('ascii');
  const message = buildMessage();
  const frame = checkOurs(dialect, message);
  const json = isoJson();
  const theirFrame = checkTheirs(json);
  // Same logical message; their DE 55 is hex text, so their frame is longer by DE 55's size.
  const theirBody = theirFrame.subarray(2);

  const cases: BenchCase[] = [
    { name: 'pack', impl: 'ours', op: () => encode(dialect, message).length },
    { name: 'pack', impl: 'iso_8583', op: () => (new Iso8583(json).getBufferMessage() as Buffer).length },
    { name: 'unpack', impl: 'ours', op: () => readAll(decode(dialect, frame) as IsoMessage) },
    { name: 'unpack', impl: 'iso_8583', op: () => Object.keys(new Iso8583().getIsoJSON(theirFrame, {})).length },
    {
      name: 'unpack-lazy', impl: 'ours', op: () => {
        const m = decode(dialect, frame) as IsoMessage;
        return m.mti.length + m.getString(2)!.length + m.getString(4)!.length + m.getString(11)!.length;
      },
    },
    {
      name: 'roundtrip', impl: 'ours', op: () => readAll(decode(dialect, encode(dialect, message)) as IsoMessage),
    },
    {
      name: 'roundtrip', impl: 'iso_8583', op: () => {
        const packed = new Iso8583(json).getBufferMessage() as Buffer;
        return Object.keys(new Iso8583().getIsoJSON(packed, {})).length;
      },
    },
  ];
  const results: Record<string, number> = {};
  for (const c of cases) {
    const r = measure(c);
    results[`${c.name}/${c.impl}`] = r.opsPerSec;
    const bytes = c.impl === 'ours' ? frame.length : theirBody.length;
    console.log(JSON.stringify({
      case: c.name, impl: c.impl, opsPerSec: r.opsPerSec, nsPerOp: r.nsPerOp, frameBytes: bytes,
      fields: message.presentFields().length, node: process.version, checksum: r.checksum % 1000,
    }));
  }
  const ratio = results['roundtrip/ours']! / results['roundtrip/iso_8583']!;
  console.log(JSON.stringify({
    summary: 'roundtrip', speedup: Math.round(ratio * 10) / 10,
    meetsTarget: ratio >= 25 && results['roundtrip/ours']! >= 300_000,
  }));
}

main();
