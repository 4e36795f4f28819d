/**
 * Which partition a record goes to. Keyed records use Kafka's default partitioner (murmur2 of the key
 * bytes, made positive, modulo the partition count), so a key lands exactly where a Kafka producer
 * would put it and a team can move between Kafka and Shoal without reshuffling keys. Keyless records
 * use a stateless version of Kafka's sticky partitioner (KIP-480, KIP-794).
 */

/**
 * Kafka's `Utils.murmur2`: MurmurHash2 (32-bit) with Kafka's seed, returning a signed 32-bit integer
 * exactly as the Java client does (Java `int` overflow reproduced with `Math.imul` and `| 0`).
 *
 * @example murmur2(new TextEncoder().encode('foobar')) === -790332482
 */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = (MURMUR2_SEED ^ length) | 0;
  const length4 = length - (length % 4);
  for (let i = 0; i < length4; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> MURMUR2_R;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M);
    h ^= k;
  }
  // The tail: 1 to 3 bytes left over, mixed in as Java's fall-through switch does.
  const tail = length % 4;
  if (tail === 3) h ^= (bytes[length4 + 2] as number) << 16;
  if (tail >= 2) h ^= (bytes[length4 + 1] as number) << 8;
  if (tail >= 1) {
    h ^= bytes[length4] as number;
    h = Math.imul(h, MURMUR2_M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which would map
 * `-2147483648` to itself in Java).
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner chooses for a key: `toPositive(murmur2(key)) % partitionCount`.
 *
 * @throws RangeError when `partitionCount` is not a positive integer.
 * @example partitionForKey(new TextEncoder().encode('order-42'), 12)
 */
export function partitionForKey(keyBytes: Uint8Array, partitionCount: number): number {
  checkPartitionCount(partitionCount);
  return toPositive(murmur2(keyBytes)) % partitionCount;
}

/**
 * Assigns partitions to the keyless records of one produce request, in request order.
 *
 * Kafka's producer (KIP-480's sticky partitioner, refined by KIP-794's built-in partitioner) sends
 * keyless records to one partition until about `batch.size` bytes went there, then switches, so
 * records form few large batches instead of many one-record ones. Shoal has no producer state
 * between requests, so each request replays that idea on its own:
 *
 * - the first record goes to a partition picked uniformly with `random`;
 * - records keep going to that partition until the bytes given to it reach `stickyBatchBytes`;
 * - the next record then moves to the next partition (round robin, wrapping around), and so on.
 *
 * ```
 * partitionCount = 4, stickyBatchBytes = 16384, random picks partition 2
 * sizes:      6000  6000  6000 | 9000  9000 | 500
 * partition:  2     2     2    | 3     3    | 0
 *                  18000 >= 16384 ┘   18000 ┘
 * ```
 *
 * A small request (under `stickyBatchBytes`) therefore lands in a single partition: one batch, one
 * DynamoDB item. Across many requests the random start makes every partition equally likely, so
 * keyless traffic spreads evenly.
 *
 * @param recordSizesBytes the size of each record (any consistent measure, e.g. its encoded bytes).
 * @param random uniform in [0, 1), e.g. `Math.random`; injected so tests are deterministic.
 * @param stickyBatchBytes bytes a partition receives before the next one is used (Kafka's
 *   `batch.size` default).
 * @returns one partition per record, same order as `recordSizesBytes`.
 * @throws RangeError when `partitionCount` or `stickyBatchBytes` is not a positive integer.
 */
export function assignKeylessPartitions(
  recordSizesBytes: readonly number[],
  partitionCount: number,
  random: () => number,
  stickyBatchBytes: number = STICKY_BATCH_BYTES,
): number[] {
  checkPartitionCount(partitionCount);
  if (!Number.isSafeInteger(stickyBatchBytes) || stickyBatchBytes < 1) {
    throw new RangeError(`stickyBatchBytes must be a positive integer, got ${stickyBatchBytes}`);
  }
  const partitions: number[] = [];
  if (recordSizesBytes.length === 0) return partitions;
  // Math.min guards a `random` that returns 1 (outside its contract) from picking a missing partition.
  let partition = Math.min(Math.floor(random() * partitionCount), partitionCount - 1);
  let partitionBytes = 0;
  for (const sizeBytes of recordSizesBytes) {
    partitions.push(partition);
    partitionBytes += sizeBytes;
    if (partitionBytes >= stickyBatchBytes) {
      partition = (partition + 1) % partitionCount;
      partitionBytes = 0;
    }
  }
  return partitions;
}

function checkPartitionCount(partitionCount: number): void {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
}

/** Kafka's `batch.size` default: bytes a keyless partition receives before the next one is used. */
export const STICKY_BATCH_BYTES = 16_384;

// Kafka's murmur2 parameters (`Utils.murmur2`): seed, multiplier and shift.
const MURMUR2_SEED = 0x9747b28c;
const MURMUR2_M = 0x5bd1e995;
const MURMUR2_R = 24;
