/**
 * The sequence state files of llama.cpp (`llama_state_seq_save_file`):
 * magic, version, token count, tokens, then the KV cache as one block per KV
 * stream (`n_stream` = the context's sequence count), where only the saved
 * sequence's stream holds cells and every other stream is a zero cell count.
 * llama.cpp refuses a file whose stream count differs from the loading context,
 * although it reads the one non-empty block into whichever sequence loads it; so
 * exports are normalized to a single stream and expanded on import.
 */

/** `ggsq` read as a little-endian uint32. */
const sequenceStateMagic = 0x67677371;
const headerBytes = 12;

/** The state bytes are not a well-formed llama.cpp sequence state. */
export class InvalidSequenceStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSequenceStateError";
  }
}

/** Where the parts of a sequence state file are. */
export interface SequenceStateLayout {
  readonly version: number;
  readonly tokens: Uint32Array;
  readonly streamCount: number;
  /** Offset and length of the single non-empty stream block (cell count included); 0 length when empty. */
  readonly blockOffset: number;
  readonly blockLength: number;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads the framing of a sequence state file holding at most one non-empty stream. */
export function parseSequenceState(bytes: Uint8Array): SequenceStateLayout {
  if (bytes.length < headerBytes + 4)
    throw new InvalidSequenceStateError(`state of ${bytes.length} bytes is too short`);
  const data = view(bytes);
  if (data.getUint32(0, true) !== sequenceStateMagic)
    throw new InvalidSequenceStateError("not a llama.cpp sequence state");
  const version = data.getUint32(4, true);
  const tokenCount = data.getUint32(8, true);
  const streamCountOffset = headerBytes + tokenCount * 4;
  if (streamCountOffset + 4 > bytes.length) {
    throw new InvalidSequenceStateError(`state claims ${tokenCount} tokens but holds ${bytes.length} bytes`);
  }
  const tokens = new Uint32Array(tokenCount);
  for (let index = 0; index < tokenCount; index += 1)
    tokens[index] = data.getUint32(headerBytes + index * 4, true);
  const streamCount = data.getUint32(streamCountOffset, true);
  if (streamCount < 1 || streamCount > 4096)
    throw new InvalidSequenceStateError(`state has ${streamCount} KV streams`);
  let offset = streamCountOffset + 4;
  let stream = 0;
  while (stream < streamCount && offset + 4 <= bytes.length && data.getUint32(offset, true) === 0) {
    offset += 4;
    stream += 1;
  }
  if (stream === streamCount) {
    if (offset !== bytes.length) throw new InvalidSequenceStateError("bytes follow the last empty KV stream");
    return { version, tokens, streamCount, blockOffset: offset, blockLength: 0 };
  }
  // The streams after the non-empty one are zero cell counts at the very end.
  const trailingBytes = (streamCount - stream - 1) * 4;
  const blockLength = bytes.length - offset - trailingBytes;
  if (blockLength < 8) throw new InvalidSequenceStateError("the KV block is truncated");
  for (let index = bytes.length - trailingBytes; index < bytes.length; index += 1) {
    if (bytes[index] !== 0) throw new InvalidSequenceStateError("more than one KV stream holds cells");
  }
  return { version, tokens, streamCount, blockOffset: offset, blockLength };
}

/** Rewrites a state with any stream count as the same state with exactly `streamCount` streams. */
export function reframeSequenceState(bytes: Uint8Array, streamCount: number): Uint8Array {
  if (!Number.isInteger(streamCount) || streamCount < 1) throw new RangeError(`stream count ${streamCount}`);
  const layout = parseSequenceState(bytes);
  const prefixLength = headerBytes + layout.tokens.length * 4;
  const emptyStreams = layout.blockLength === 0 ? streamCount : streamCount - 1;
  const out = new Uint8Array(prefixLength + 4 + layout.blockLength + emptyStreams * 4);
  out.set(bytes.subarray(0, prefixLength), 0);
  view(out).setUint32(prefixLength, streamCount, true);
  // The non-empty block goes first; the zero cell counts after it are already zero-filled.
  out.set(bytes.subarray(layout.blockOffset, layout.blockOffset + layout.blockLength), prefixLength + 4);
  return out;
}
