import { runTopicStoreContract } from '../../helpers/topic-store-contract.js';

runTopicStoreContract('nats');
