-- Small files kept inside the metadata store (see the SQLite migration of the same name).
-- In a cluster they are readable from every node without a peer hop.
CREATE TABLE inline_blobs (
  key  TEXT COLLATE "C" PRIMARY KEY,
  data BYTEA NOT NULL
);
