import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { topicStoreContract } from './topic-store.contract.js';

topicStoreContract('in memory', async () => new MemoryTopicStore());
