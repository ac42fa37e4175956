-- CallFS metadata schema, SQLite dialect. Names and paths compare byte-exact (BINARY collation).
CREATE TABLE nodes (
  id          INTEGER PRIMARY KEY,
  parent_id   INTEGER REFERENCES nodes(id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  type        TEXT    NOT NULL CHECK (type IN ('file', 'directory')),
  size        INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  mode        INTEGER NOT NULL,
  uid         INTEGER NOT NULL,
  gid         INTEGER NOT NULL,
  mtime_ms    INTEGER NOT NULL,
  ctime_ms    INTEGER NOT NULL,
  btime_ms    INTEGER NOT NULL,
  etag        TEXT    NOT NULL,
  blob_key    TEXT,
  backend     TEXT,
  instance_id TEXT,
  CHECK ((parent_id IS NULL) = (id = 1))
);
CREATE UNIQUE INDEX nodes_parent_name ON nodes (parent_id, name);
CREATE INDEX nodes_blob ON nodes (backend, blob_key) WHERE blob_key IS NOT NULL;

CREATE TABLE properties (
  node_id   INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
  namespace TEXT    NOT NULL,
  name      TEXT    NOT NULL,
  value     TEXT    NOT NULL,
  PRIMARY KEY (node_id, namespace, name)
);

CREATE TABLE locks (
  token      TEXT    PRIMARY KEY,
  path       TEXT    NOT NULL,
  depth      TEXT    NOT NULL CHECK (depth IN ('0', 'infinity')),
  scope      TEXT    NOT NULL CHECK (scope IN ('exclusive', 'shared')),
  owner_xml  TEXT,
  principal  TEXT    NOT NULL,
  timeout_s  INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX locks_path ON locks (path);

CREATE TABLE links (
  id         TEXT    PRIMARY KEY,
  path       TEXT    NOT NULL,
  created_by TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  used_ms    INTEGER
);
CREATE INDEX links_expires ON links (expires_ms);

CREATE TABLE instances (
  instance_id  TEXT    PRIMARY KEY,
  endpoint     TEXT    NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  started_ms   INTEGER NOT NULL
);
