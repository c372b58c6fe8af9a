/**
 * Just enough protobuf for the echo service: writing length-delimited fields
 * (strings and embedded messages) and reading any message into its fields.
 * Field numbers follow gateway-api's conformance/echo-basic/grpcecho.proto.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** Builds one message; proto3 defaults (empty strings) are left out. */
export class ProtoWriter {
  private readonly parts: Buffer[] = [];

  string(field: number, value: string | undefined): this {
    if (value) this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }

  /** An embedded message; written even when empty, as a set sub-message is. */
  message(field: number, value: ProtoWriter | undefined): this {
    if (value) this.bytes(field, value.finish());
    return this;
  }

  private bytes(field: number, value: Buffer): void {
    this.parts.push(varint(field * 8 + WIRE_LEN), varint(value.length), value);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export type ProtoValue = { wire: 0; value: bigint } | { wire: 2; value: Buffer } | { wire: 1 | 5; value: Buffer };

export class ProtoDecodeError extends Error {}

/** Every field of a message, by number, in wire order (repeated fields have several). */
export function readFields(buf: Buffer): Map<number, ProtoValue[]> {
  const out = new Map<number, ProtoValue[]>();
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new ProtoDecodeError('truncated varint');
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
    throw new ProtoDecodeError('varint too long');
  };
  const take = (n: number): Buffer => {
    if (n < 0 || pos + n > buf.length) throw new ProtoDecodeError('truncated field');
    const slice = buf.subarray(pos, pos + n);
    pos += n;
    return slice;
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new ProtoDecodeError('field number 0');
    let value: ProtoValue;
    if (wire === WIRE_VARINT) value = { wire: 0, value: readVarint() };
    else if (wire === WIRE_LEN) value = { wire: 2, value: take(Number(readVarint())) };
    else if (wire === WIRE_I64) value = { wire: 1, value: take(8) };
    else if (wire === WIRE_I32) value = { wire: 5, value: take(4) };
    else throw new ProtoDecodeError(`unsupported wire type ${wire}`);
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}

/** The last value of a string field ('' when absent), as proto3 reads it. */
export function stringField(fields: Map<number, ProtoValue[]>, field: number): string {
  const list = fields.get(field);
  const last = list?.[list.length - 1];
  return last?.wire === 2 ? last.value.toString('utf8') : '';
}

export function stringsField(fields: Map<number, ProtoValue[]>, field: number): string[] {
  return (fields.get(field) ?? []).flatMap((v) => (v.wire === 2 ? [v.value.toString('utf8')] : []));
}

export function messageField(fields: Map<number, ProtoValue[]>, field: number): Map<number, ProtoValue[]> | undefined {
  const list = fields.get(field);
  const last = list?.[list.length - 1];
  return last?.wire === 2 ? readFields(last.value) : undefined;
}

export function messagesField(fields: Map<number, ProtoValue[]>, field: number): Array<Map<number, ProtoValue[]>> {
  return (fields.get(field) ?? []).flatMap((v) => (v.wire === 2 ? [readFields(v.value)] : []));
}
