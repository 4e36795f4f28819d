import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { manualClock } from '../support/manual-clock.js';
import { segmentArchiveContract } from './segment-archive.contract.js';

segmentArchiveContract('in memory', async () => {
  const log = new MemoryPartitionLog({ now: manualClock().now });
  return { log, manifest: new MemorySegmentManifest(log.heads), objects: new MemorySegmentObjects() };
});
