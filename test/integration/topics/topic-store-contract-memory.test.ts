import { runTopicStoreContract } from '../../helpers/topic-store-contract.js';

runTopicStoreContract('memory');
