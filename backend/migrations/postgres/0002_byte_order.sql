-- Names sort by their bytes (UTF-8, so by code point), as in the embedded store, whatever the
-- database's locale: pages and cursors agree across engines, and a prefix is an index range.
ALTER TABLE users ALTER COLUMN username TYPE text COLLATE "C";
ALTER TABLE groups ALTER COLUMN name TYPE text COLLATE "C";
