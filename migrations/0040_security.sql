-- Revocation: a token names the client's immutable record and the generation it was
-- issued under; rotating the secret bumps the generation, so every earlier token stops
-- working at once (deleting the client removes the record itself).
ALTER TABLE api_clients ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;

-- Applications belong to the client's immutable record, not to its reusable client id:
-- a new client that takes a deleted one's id must not see its applications. Key-manager
-- developers stay keyed by `issuer#subject` (they have no client record). Applications of
-- clients deleted before this migration keep their old owner, which no principal has.
UPDATE applications a SET owner = c.id::text FROM api_clients c WHERE a.owner = c.client_id;

-- The audit log records refused attempts (no principal, or a refused one) and changes
-- made by services; the action of a service change is a name like `clients.create`.
