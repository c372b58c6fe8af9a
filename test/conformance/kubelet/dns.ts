// Stand-in for the coredns image of the conformance base manifests: a tiny UDP DNS responder
// that reads the pod's Corefile and answers the zones served by the `whoami` plugin the way
// that plugin does (NOERROR, empty answer, the client's address as A/AAAA and its port as an
// SRV record in the additional section). Every other zone gets REFUSED: nothing is forwarded,
// whatever the Corefile says, because the harness never sends traffic off the machine.
//
// Run: node dns.ts -conf /path/Corefile --bind 10.244.1.7
import { createSocket, type RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const RCODE_FORMERR = 1;
const RCODE_REFUSED = 5;

export interface CorefileServerBlock {
  readonly zones: readonly string[];
  readonly port: number;
  readonly plugins: readonly string[];
}

/** Server blocks of a Corefile: `zone[:port] [zone...] { plugin args... }`. */
export function parseCorefile(text: string): CorefileServerBlock[] {
  const blocks: CorefileServerBlock[] = [];
  const clean = text.replace(/#[^\n]*/g, '');
  const re = /([^{}]+)\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}/g;
  for (let m = re.exec(clean); m; m = re.exec(clean)) {
    let port = 53;
    const zones = m[1]!.trim().split(/\s+/).filter(Boolean).map((z) => {
      const hostPort = z.replace(/^dns:\/\//, '');
      const colon = hostPort.lastIndexOf(':');
      const name = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
      if (colon >= 0) port = Number(hostPort.slice(colon + 1));
      return normalizeName(name);
    });
    const plugins = m[2]!.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((p) => p && p !== '}');
    blocks.push({ zones, port, plugins });
  }
  return blocks;
}

function normalizeName(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  return n === '' ? '.' : n;
}

function inZone(qname: string, zone: string): boolean {
  return zone === '.' || qname === zone || qname.endsWith(`.${zone}`);
}

interface Question {
  readonly name: string;
  readonly type: number;
  readonly cls: number;
  /** Bytes of the question section as received. */
  readonly raw: Buffer;
}

function readQuestion(msg: Buffer): Question | undefined {
  let off = 12;
  const labels: string[] = [];
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return { name: normalizeName(labels.join('.')), type: msg.readUInt16BE(off), cls: msg.readUInt16BE(off + 2), raw: msg.subarray(12, off + 4) };
}

function encodeName(name: string): Buffer {
  const parts = name === '.' ? [] : name.split('.');
  const out: Buffer[] = parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')]));
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

function record(name: string, type: number, cls: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(cls, 2);
  head.writeUInt32BE(0, 4); // TTL 0, as whoami
  head.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(name), head, rdata]);
}

function addressRdata(address: string): { type: number; rdata: Buffer } {
  if (isIPv4(address)) return { type: TYPE_A, rdata: Buffer.from(address.split('.').map(Number)) };
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4mapped) return addressRdata(v4mapped[1]!);
  const halves = address.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const buf = Buffer.alloc(16);
  groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return { type: TYPE_AAAA, rdata: buf };
}

/** The reply to one query, or undefined to drop it (not a query at all). */
export function answer(msg: Buffer, client: { address: string; port: number }, blocks: readonly CorefileServerBlock[]): Buffer | undefined {
  if (msg.length < 12 || (msg[2]! & 0x80) !== 0) return undefined; // too short, or a response
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2); // ID
  const opcode = (msg[2]! >> 3) & 0x0f;
  const rd = msg[2]! & 0x01;
  const question = msg.readUInt16BE(4) === 1 ? readQuestion(msg) : undefined;
  const reply = (rcode: number, aa: boolean, additional: Buffer[]): Buffer => {
    header[2] = 0x80 | (opcode << 3) | (aa ? 0x04 : 0) | rd;
    header[3] = rcode;
    header.writeUInt16BE(question ? 1 : 0, 4);
    header.writeUInt16BE(0, 6);
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(additional.length, 10);
    return Buffer.concat([header, question?.raw ?? Buffer.alloc(0), ...additional]);
  };
  if (!question || opcode !== 0) return reply(RCODE_FORMERR, false, []);
  const block = blocks
    .filter((b) => b.plugins.includes('whoami'))
    .flatMap((b) => b.zones.map((z) => ({ z, b })))
    .filter(({ z }) => inZone(question.name, z))
    .sort((x, y) => y.z.length - x.z.length)[0];
  if (!block) return reply(RCODE_REFUSED, false, []);
  const addr = addressRdata(client.address);
  const srv = Buffer.alloc(6);
  srv.writeUInt16BE(0, 0); // priority
  srv.writeUInt16BE(0, 2); // weight
  srv.writeUInt16BE(client.port, 4);
  const target = encodeName('.');
  return reply(0, true, [
    record(question.name, addr.type, question.cls, addr.rdata),
    record(question.name === '.' ? '_udp' : `_udp.${question.name}`, TYPE_SRV, question.cls, Buffer.concat([srv, target])),
  ]);
}

function main(argv: readonly string[]): void {
  let conf = '/etc/coredns/Corefile';
  let bind = '0.0.0.0';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-conf' || argv[i] === '--conf') conf = argv[++i]!;
    else if (argv[i] === '--bind') bind = argv[++i]!;
  }
  const blocks = parseCorefile(readFileSync(conf, 'utf8'));
  const ports = [...new Set(blocks.map((b) => b.port))];
  for (const port of ports) {
    const sock = createSocket(isIPv4(bind) ? 'udp4' : 'udp6');
    const served = blocks.filter((b) => b.port === port);
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      const out = answer(msg, rinfo, served);
      if (out) sock.send(out, rinfo.port, rinfo.address);
      process.stdout.write(`[INFO] ${rinfo.address}:${rinfo.port} - query of ${msg.length} bytes, answered ${out ? out.length : 0} bytes\n`);
    });
    sock.on('error', (err) => {
      process.stderr.write(`dns: ${err.message}\n`);
      process.exit(1);
    });
    sock.bind(port, bind, () => process.stdout.write(`Starting server, listening on udp://${bind}:${port} (zones ${served.flatMap((b) => b.zones).join(' ')})\n`));
  }
  const stop = (): void => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
