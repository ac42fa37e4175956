-- The bytes of all files, kept up to date by triggers as files come, change size and go, so that
-- GET /v1/usage and a quota PROPFIND read a few rows instead of summing every file.
--
-- Each change is a row of its own, not an update of a shared total: a shared row would be locked
-- by every writing transaction until its commit, serialising all writes of all nodes (and, taken
-- in the middle of a transaction, could close a deadlock with the row locks it takes later).
-- Inserting never waits for another transaction. The total is the sum of the rows; the store
-- folds them into one now and then (PostgresStore.foldUsage).
CREATE TABLE usage_deltas (
  id         BIGSERIAL PRIMARY KEY,
  file_bytes BIGINT NOT NULL
);

CREATE FUNCTION callfs_usage_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN INSERT INTO usage_deltas (file_bytes) VALUES (NEW.size);
  ELSE INSERT INTO usage_deltas (file_bytes) VALUES (NEW.size - OLD.size);
  END IF;
  RETURN NULL;
END $$;

-- Deletions per statement, from a transition table: a tree's cascade deletes a directory's
-- children in one statement, which is then one row rather than one per file.
CREATE FUNCTION callfs_usage_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta BIGINT;
BEGIN
  SELECT coalesce(sum(size), 0) INTO delta FROM removed WHERE type = 'file';
  IF delta <> 0 THEN INSERT INTO usage_deltas (file_bytes) VALUES (-delta); END IF;
  RETURN NULL;
END $$;

-- The triggers come first: creating one locks the table against writes until this migration
-- commits, so the sum below misses no change another node makes meanwhile. The WHEN clauses are
-- checked without calling the function, so a write that moves no bytes costs nothing here.
CREATE TRIGGER nodes_usage_insert AFTER INSERT ON nodes
  FOR EACH ROW WHEN (NEW.type = 'file' AND NEW.size <> 0) EXECUTE FUNCTION callfs_usage_row();
CREATE TRIGGER nodes_usage_resize AFTER UPDATE OF size ON nodes
  FOR EACH ROW WHEN (NEW.type = 'file' AND NEW.size <> OLD.size) EXECUTE FUNCTION callfs_usage_row();
CREATE TRIGGER nodes_usage_delete AFTER DELETE ON nodes REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION callfs_usage_deleted();

INSERT INTO usage_deltas (file_bytes) SELECT coalesce(sum(size), 0) FROM nodes WHERE type = 'file';
