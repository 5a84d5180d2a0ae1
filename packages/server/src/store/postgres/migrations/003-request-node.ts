/**
 * Migration 003 (writes): the node that accepted each request, so that a starting node resumes only its own
 * unfinished requests and the leader closes only a dead node's. The column's default is the node id taken
 * from the connection's `application_name` (`hangar:<node id>`, set by every node's pool), so the insert
 * statements stay as they are; NULL on rows written before and on connections of other programs.
 */
export const version = 3;

export const sql = `
ALTER TABLE requests ADD COLUMN node_id TEXT;
ALTER TABLE requests ALTER COLUMN node_id
  SET DEFAULT substring(current_setting('application_name', true) from '^hangar:(.+)$');
CREATE INDEX requests_unfinished_node ON requests (node_id, sent_at) WHERE status <> 'COMPLETED';
`;

export default sql;
