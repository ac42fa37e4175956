-- CallFS metadata schema, PostgreSQL dialect. Same tables and rules as migrations/sqlite/0001_init.sql.
-- Names and paths use COLLATE "C": byte-order comparison and sorting, as SQLite's BINARY, which the
-- children paging and the lock range query (src/vfs/metadata/lock-paths.ts) rely on.
CREATE TABLE nodes (
  id          BIGSERIAL PRIMARY KEY,
  parent_id   BIGINT  REFERENCES nodes(id) ON DELETE CASCADE,
  name        TEXT    COLLATE "C" NOT NULL,
  type        TEXT    NOT NULL CHECK (type IN ('file', 'directory')),
  size        BIGINT  NOT NULL DEFAULT 0 CHECK (size >= 0),
  mode        INTEGER NOT NULL,
  uid         BIGINT  NOT NULL,
  gid         BIGINT  NOT NULL,
  mtime_ms    BIGINT  NOT NULL,
  ctime_ms    BIGINT  NOT NULL,
  btime_ms    BIGINT  NOT NULL,
  etag        TEXT    NOT NULL,
  blob_key    TEXT,
  backend     TEXT,
  instance_id TEXT,
  CHECK ((parent_id IS NULL) = (id = 1))
);
CREATE UNIQUE INDEX nodes_parent_name ON nodes (parent_id, name);
CREATE INDEX nodes_blob ON nodes (backend, blob_key) WHERE blob_key IS NOT NULL;

CREATE TABLE properties (
  node_id   BIGINT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
  namespace TEXT   COLLATE "C" NOT NULL,
  name      TEXT   COLLATE "C" NOT NULL,
  value     TEXT   NOT NULL,
  PRIMARY KEY (node_id, namespace, name)
);

CREATE TABLE locks (
  token      TEXT    PRIMARY KEY,
  path       TEXT    COLLATE "C" NOT NULL,
  depth      TEXT    NOT NULL CHECK (depth IN ('0', 'infinity')),
  scope      TEXT    NOT NULL CHECK (scope IN ('exclusive', 'shared')),
  owner_xml  TEXT,
  principal  TEXT    NOT NULL,
  timeout_s  INTEGER NOT NULL,
  created_ms BIGINT  NOT NULL,
  expires_ms BIGINT  NOT NULL
);
CREATE INDEX locks_path ON locks (path);

CREATE TABLE links (
  id         TEXT   PRIMARY KEY,
  path       TEXT   COLLATE "C" NOT NULL,
  created_by TEXT   NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  used_ms    BIGINT
);
CREATE INDEX links_expires ON links (expires_ms);

CREATE TABLE instances (
  instance_id  TEXT   PRIMARY KEY,
  endpoint     TEXT   NOT NULL,
  heartbeat_ms BIGINT NOT NULL,
  started_ms   BIGINT NOT NULL
);

-- The root directory is inserted with the explicit id 1; other nodes start at 2.
SELECT setval(pg_get_serial_sequence('nodes', 'id'), 1);
