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
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cpus, loadavg } from 'node:os';
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

const WARMUP_MS = 300;
const RUN_MS = 200;
const RUNS = 7;
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

function warmUp(c: BenchCase): number {
  let checksum = 0;
  let batch = 1;
  const end = performance.now() + WARMUP_MS;
  while (performance.now() < end) {
    for (let i = 0; i < batch; i++) checksum += c.op();
    if (batch < MAX_BATCH) batch *= 2;
  }
  return checksum;
}

/**
 * A full garbage collection before every timed run, so no case pays for garbage the previous one
 * left (iso_8583 leaves a lot). The command is fixed (node dist/bench/codec.js), so gc is exposed
 * at run time rather than with --expose-gc.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** One timed run of about RUN_MS; returns operations per wall-clock second and per CPU second. */
function timedRun(c: BenchCase, sink: { checksum: number }): [number, number] {
  collectGarbage();
  let ops = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = performance.now() + RUN_MS;
  while (performance.now() < end && ops < MAX_BATCH * 4) {
    for (let i = 0; i < 256; i++) sink.checksum += c.op();
    ops += 256;
  }
  const wallNs = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpuStart);
  return [(ops * 1e9) / wallNs, (ops * 1e6) / (cpu.user + cpu.system)];
}

/**
 * Runs are interleaved (every case once per round) so that load from other processes on the
 * shared machine, and garbage one implementation leaves behind, fall on all cases alike.
 * The median of the rounds is reported.
 */
function measureAll(cases: readonly BenchCase[]): { measured: Measured[]; wall: number[][] } {
  const sinks = cases.map((c) => ({ checksum: warmUp(c) }));
  const wall: number[][] = cases.map(() => []);
  const cpu: number[][] = cases.map(() => []);
  for (let round = 0; round < RUNS; round++) {
    cases.forEach((c, i) => {
      const [perWallSecond, perCpuSecond] = timedRun(c, sinks[i]!);
      wall[i]!.push(perWallSecond);
      cpu[i]!.push(perCpuSecond);
    });
  }
  const measured = cases.map((_, i) => {
    const opsPerSec = median(wall[i]!);
    return {
      opsPerSec: Math.round(opsPerSec),
      nsPerOp: Math.round(1e9 / opsPerSec),
      opsPerCpuSec: Math.round(median(cpu[i]!)),
      checksum: sinks[i]!.checksum,
    };
  });
  return { measured, wall };
}

interface Measured {
  opsPerSec: number;
  nsPerOp: number;
  /** Operations per second of this process's CPU time: less sensitive to other processes. */
  opsPerCpuSec: number;
  checksum: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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
  const { measured, wall } = measureAll(cases);
  cases.forEach((c, i) => {
    const r = measured[i]!;
    const bytes = c.impl === 'ours' ? frame.length : theirBody.length;
    console.log(JSON.stringify({
      case: c.name, impl: c.impl, opsPerSec: r.opsPerSec, nsPerOp: r.nsPerOp,
      opsPerCpuSec: r.opsPerCpuSec, frameBytes: bytes,
      fields: message.presentFields().length, node: process.version, checksum: r.checksum % 1000,
    }));
  });
  // The speedup is the median of per-round ratios: both sides of a ratio ran within a second of
  // each other, so a slow spell on the shared machine cancels out.
  const ours = cases.findIndex((c) => c.name === 'roundtrip' && c.impl === 'ours');
  const theirs = cases.findIndex((c) => c.name === 'roundtrip' && c.impl === 'iso_8583');
  const speedup = median(wall[ours]!.map((rate, round) => rate / wall[theirs]![round]!));
  const roundTripsPerSec = measured[ours]!.opsPerSec;
  console.log(JSON.stringify({
    summary: 'roundtrip', speedup: Math.round(speedup * 10) / 10, roundTripsPerSec,
    meetsTarget: speedup >= 25 && roundTripsPerSec >= 300_000,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100, cpus: cpus().length,
  }));
}

main();
