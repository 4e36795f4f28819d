import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { manualClock } from '../support/manual-clock.js';
import { partitionLogContract } from './partition-log.contract.js';

partitionLogContract('in memory', async () => {
  const clock = manualClock();
  return { log: new MemoryPartitionLog({ now: clock.now }), clock };
});
