/**
 * A decoder for the LZ4 frame format, enough to read apt's `*_Packages.lz4` lists (apt compresses
 * its lists with LZ4 by default). Node has no LZ4, and the test must not need more packages.
 * Format: lz4/lz4, doc/lz4_Frame_format.md and doc/lz4_Block_format.md.
 */
const frameMagic = 0x184d2204;

export function decodeLz4Frames(input: Uint8Array): Buffer {
  let output = Buffer.allocUnsafe(Math.max(1024, input.length * 4));
  let written = 0;
  const ensure = (extra: number) => {
    if (written + extra <= output.length) return;
    const grown = Buffer.allocUnsafe(Math.max(output.length * 2, written + extra));
    output.copy(grown, 0, 0, written);
    output = grown;
  };
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let at = 0;
  while (at < input.length) {
    const magic = view.getUint32(at, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // A skippable frame: magic, size, payload.
      at += 8 + view.getUint32(at + 4, true);
      continue;
    }
    if (magic !== frameMagic) throw new Error(`not an LZ4 frame at byte ${at}`);
    const flags = input[at + 4]!;
    at += 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1;
    const blockChecksum = (flags & 0x10) !== 0;
    const contentChecksum = (flags & 0x04) !== 0;
    for (;;) {
      const header = view.getUint32(at, true);
      at += 4;
      if (header === 0) break;
      const size = header & 0x7fffffff;
      const block = input.subarray(at, at + size);
      if (header & 0x80000000) {
        ensure(size);
        output.set(block, written);
        written += size;
      } else {
        // Blocks may refer back into earlier blocks of the frame, so all go into one buffer.
        written = decodeBlock(block, { ensure, output: () => output, written });
      }
      at += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) at += 4;
  }
  return output.subarray(0, written);
}

function decodeBlock(
  block: Uint8Array,
  sink: { ensure(extra: number): void; output(): Buffer; written: number },
): number {
  let written = sink.written;
  let at = 0;
  while (at < block.length) {
    const token = block[at++]!;
    let literals = token >> 4;
    if (literals === 15) {
      for (let byte = 255; byte === 255; ) {
        byte = block[at++]!;
        literals += byte;
      }
    }
    sink.ensure(literals);
    sink.output().set(block.subarray(at, at + literals), written);
    written += literals;
    at += literals;
    if (at >= block.length) break;
    const offset = block[at]! | (block[at + 1]! << 8);
    at += 2;
    let length = token & 15;
    if (length === 15) {
      for (let byte = 255; byte === 255; ) {
        byte = block[at++]!;
        length += byte;
      }
    }
    length += 4;
    sink.ensure(length);
    const output = sink.output();
    // Byte by byte: a match may overlap the bytes it is producing (offset < length).
    for (let from = written - offset, end = written + length; written < end; )
      output[written++] = output[from++]!;
  }
  return written;
}
