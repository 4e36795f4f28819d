import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTransactionalLog } from '../../shared/adapters/memory/transactional-log.js';
import { manualClock } from '../support/manual-clock.js';
import { transactionalLogContract } from './transactional-log.contract.js';

transactionalLogContract('in memory', async () => {
  const clock = manualClock();
  const log = new MemoryPartitionLog({ now: clock.now });
  const groups = new MemoryGroupStore();
  return { transactional: new MemoryTransactionalLog({ log, groups, now: clock.now }), log, groups, clock };
});
