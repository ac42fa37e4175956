-- The bytes of all files, kept up to date by triggers as files come, change size and go, so that
-- GET /v1/usage and a quota PROPFIND read one row instead of summing every file (about 300 ms of
-- CPU at a million files). One row: SQLite has one writer at a time anyway.
CREATE TABLE usage_totals (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  file_bytes INTEGER NOT NULL
);

-- Rows deleted by the parent_id cascade fire these too (a directory removed with its tree).
CREATE TRIGGER nodes_usage_insert AFTER INSERT ON nodes WHEN NEW.type = 'file' AND NEW.size <> 0
BEGIN
  UPDATE usage_totals SET file_bytes = file_bytes + NEW.size WHERE id = 0;
END;

CREATE TRIGGER nodes_usage_delete AFTER DELETE ON nodes WHEN OLD.type = 'file' AND OLD.size <> 0
BEGIN
  UPDATE usage_totals SET file_bytes = file_bytes - OLD.size WHERE id = 0;
END;

CREATE TRIGGER nodes_usage_resize AFTER UPDATE OF size ON nodes WHEN NEW.type = 'file' AND NEW.size <> OLD.size
BEGIN
  UPDATE usage_totals SET file_bytes = file_bytes + NEW.size - OLD.size WHERE id = 0;
END;

INSERT INTO usage_totals (id, file_bytes) SELECT 0, coalesce(sum(size), 0) FROM nodes WHERE type = 'file';
