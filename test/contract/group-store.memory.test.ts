import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { groupStoreContract } from './group-store.contract.js';

groupStoreContract('in memory', async () => new MemoryGroupStore());
