// Schema migrations, applied in order; PRAGMA user_version holds how many have run. Append, never edit.
export const MIGRATIONS: string[] = [
  `CREATE TABLE models (
     id INTEGER PRIMARY KEY,
     model_id TEXT NOT NULL UNIQUE,
     fingerprint TEXT NOT NULL,
     file_name TEXT NOT NULL,
     projector_type TEXT NOT NULL,
     dim INTEGER NOT NULL,
     pooling TEXT NOT NULL,
     min_tokens INTEGER NOT NULL,
     max_tokens INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     active INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE images (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     sha256 TEXT NOT NULL UNIQUE,
     source TEXT,
     label TEXT,
     width INTEGER NOT NULL,
     height INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     added_at TEXT NOT NULL,
     thumbnail BLOB NOT NULL
   );
   CREATE INDEX images_label ON images(label);
   CREATE TABLE embeddings (
     image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
     model_id INTEGER NOT NULL REFERENCES models(id),
     vector BLOB NOT NULL,
     PRIMARY KEY (image_id, model_id)
   );
   CREATE INDEX embeddings_model ON embeddings(model_id, image_id);`,
  // 2: photo metadata, for filters and sorting by date. Rows from before get the time they were added as their date,
  // marked 'added', until `npm run index -- <folder>` reads their files again (nothing re-encoded). taken_ms orders and
  // filters by date.
  `ALTER TABLE images ADD COLUMN taken_at TEXT;
   ALTER TABLE images ADD COLUMN taken_ms INTEGER;
   ALTER TABLE images ADD COLUMN taken_from TEXT NOT NULL DEFAULT 'added';
   ALTER TABLE images ADD COLUMN camera_make TEXT;
   ALTER TABLE images ADD COLUMN camera_model TEXT;
   ALTER TABLE images ADD COLUMN lens TEXT;
   ALTER TABLE images ADD COLUMN latitude REAL;
   ALTER TABLE images ADD COLUMN longitude REAL;
   UPDATE images SET taken_at = added_at,
     taken_ms = CAST(ROUND((julianday(added_at) - 2440587.5) * 86400000) AS INTEGER);
   CREATE INDEX images_taken ON images(taken_ms, id);
   CREATE INDEX images_source ON images(source);`,
  // 3: a log of vector changes, so the index's sync at open reads what changed since its save (its manifest keeps the
  // last seq), not every id: O(changes) at open. Triggers, so no write path can forget it; a deleted image's cascade
  // counts.
  `CREATE TABLE embedding_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     model_id INTEGER NOT NULL,
     image_id INTEGER NOT NULL
   );
   CREATE TRIGGER embeddings_added AFTER INSERT ON embeddings BEGIN
     INSERT INTO embedding_changes (model_id, image_id) VALUES (NEW.model_id, NEW.image_id);
   END;
   CREATE TRIGGER embeddings_replaced AFTER UPDATE ON embeddings BEGIN
     INSERT INTO embedding_changes (model_id, image_id) VALUES (NEW.model_id, NEW.image_id);
   END;
   CREATE TRIGGER embeddings_removed AFTER DELETE ON embeddings BEGIN
     INSERT INTO embedding_changes (model_id, image_id) VALUES (OLD.model_id, OLD.image_id);
   END;`,
  // 4: a trash. A trashed image keeps its row and thumbnail (trashed_ms says when it went) and its vectors move to
  // trashed_embeddings: their removal from embeddings is logged by the triggers above, so the index lets them go
  // the way it lets a delete go, and a restore (moved back) is logged as an add. Expiry deletes the row.
  `ALTER TABLE images ADD COLUMN trashed_ms INTEGER;
   CREATE INDEX images_trashed ON images(trashed_ms, id) WHERE trashed_ms IS NOT NULL;
   CREATE TABLE trashed_embeddings (
     image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
     model_id INTEGER NOT NULL REFERENCES models(id),
     vector BLOB NOT NULL,
     PRIMARY KEY (image_id, model_id)
   );`,
  // 5: search text. captions holds what the Instruct model said of an image (a caption, and the words it shows);
  // search_text is its FTS5 index with the image's path and label, one row per image (rowid = image id), kept by
  // triggers so that no write path can forget it. indexed_text() is Store's (src/engine/store/search-text.ts): every
  // Han or kana character a token of its own. A trashed image keeps its rows (search leaves the trash out); a deleted
  // one takes them with it.
  `CREATE TABLE captions (
     image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
     model TEXT NOT NULL,
     caption TEXT NOT NULL,
     words TEXT NOT NULL,
     captioned_at TEXT NOT NULL
   );
   CREATE VIRTUAL TABLE search_text USING fts5(file_path, label_name, caption, words,
     tokenize = 'porter unicode61 remove_diacritics 2');
   INSERT INTO search_text (rowid, file_path, label_name, caption, words)
     SELECT id, indexed_text(source), indexed_text(label), '', '' FROM images;
   CREATE TRIGGER images_text_added AFTER INSERT ON images BEGIN
     INSERT INTO search_text (rowid, file_path, label_name, caption, words)
       VALUES (NEW.id, indexed_text(NEW.source), indexed_text(NEW.label), '', '');
   END;
   CREATE TRIGGER images_text_changed AFTER UPDATE OF source, label ON images BEGIN
     UPDATE search_text SET file_path = indexed_text(NEW.source), label_name = indexed_text(NEW.label)
       WHERE rowid = NEW.id;
   END;
   CREATE TRIGGER images_text_removed AFTER DELETE ON images BEGIN
     DELETE FROM search_text WHERE rowid = OLD.id;
   END;
   CREATE TRIGGER captions_added AFTER INSERT ON captions BEGIN
     UPDATE search_text SET caption = indexed_text(NEW.caption), words = indexed_text(NEW.words)
       WHERE rowid = NEW.image_id;
   END;
   CREATE TRIGGER captions_replaced AFTER UPDATE ON captions BEGIN
     UPDATE search_text SET caption = indexed_text(NEW.caption), words = indexed_text(NEW.words)
       WHERE rowid = NEW.image_id;
   END;`,
  // 6: a filter's ids without a row read for each: indexes of the live images alone (the trash is out of every
  // filter), which hold what the filter and its ids need. A label kept by 20,000 of 200,000 images took 46 ms to list
  // and 37 to count through images_label, which leaves each row's trashed_ms to be read from the table.
  `CREATE INDEX images_label_live ON images(label) WHERE trashed_ms IS NULL;
   CREATE INDEX images_source_live ON images(source) WHERE trashed_ms IS NULL;
   CREATE INDEX images_taken_live ON images(taken_ms) WHERE trashed_ms IS NULL;`,
];
