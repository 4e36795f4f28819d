import { MemorySubscriptionStore } from '../../shared/adapters/memory/subscription-store.js';
import { subscriptionStoreContract } from './subscription-store.contract.js';

subscriptionStoreContract('in memory', async () => new MemorySubscriptionStore());
