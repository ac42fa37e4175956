-- Small files kept inside the metadata store: one transaction (and one group-committed
-- fsync) per write instead of a file, its fsync and its directory's fsync.
CREATE TABLE inline_blobs (
  key  TEXT PRIMARY KEY,
  data BLOB NOT NULL
);
