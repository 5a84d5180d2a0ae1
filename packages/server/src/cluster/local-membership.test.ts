import { createLocalMembership } from './local-membership.js';
import { describeMembershipContract } from './membership-contract.test-helper.js';

describeMembershipContract('in-process', async () => {
  const shared = createLocalMembership();
  return { views: [shared, shared, shared], close: () => shared.close() };
});
