/**
 * The memory figures of a run's report are the run's own: the deployed function's summary of each
 * run reports `workingBytesPeak` (`functions/archive-segments.ts`), and `segmentHeldBytesMax` is
 * what proves a segment stays within its reservation. A run after a busy one of the same (warm)
 * archiver, with nothing to archive, reports no bytes held.
 */
import { describe, expect, it } from 'vitest';
import { archiveWorld } from '../support/archive-world.js';

describe('the memory figures of a run', () => {
  it('are those of this run, not of an earlier one of the same archiver', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, segmentBytes: 1024 * 1024 });
    const archiver = w.archiver({ workingBytesMax: 64 * 1024 * 1024 });
    await w.produceBytes(50_000, 1);
    w.clock.advance(1_000);

    const busy = await archiver.run();
    const quiet = await archiver.run();

    expect(busy.partitions.map((partition) => partition.segments)).toEqual([1]);
    expect(busy.workingBytesPeak).toBeGreaterThan(2 * 1024 * 1024);
    expect(busy.segmentHeldBytesMax).toBeGreaterThan(100_000);
    expect(quiet.partitions.map((partition) => partition.segments)).toEqual([0]);
    expect([quiet.workingBytesPeak, quiet.segmentHeldBytesMax]).toEqual([0, 0]);
  });
});
