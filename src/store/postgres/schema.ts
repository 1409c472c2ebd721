/**
 * The PostgreSQL log's schema as numbered migrations, in its own schema (`orch`) so it can
 * share a database with other applications. A migration is never edited once released.
 *
 * Positions are assigned under one transaction-scoped advisory lock inside `orch.append`, so
 * appends commit in position order: a reader that has seen position N has seen every
 * position below it (no late commit can appear behind a follower). See docs/scale-out.md.
 */

/** One step of the schema. */
export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

/** The namespace every orch table and function lives in. */
export const PG_SCHEMA = 'orch';

/** The advisory lock key appends and migrations take (the ASCII bytes "orch" and 1 / 2). */
export const APPEND_LOCK_KEY = 0x6f72636801n;
/** Taken while migrating, so several workers creating the log at once do it once. */
export const MIGRATE_LOCK_KEY = 0x6f72636802n;

/** The channel `orch.append` notifies with the last position it wrote. */
export const NOTIFY_CHANNEL = 'orch_events';

/** The mark that says "this schema is an orch log" (the PostgreSQL twin of SQLite's application_id). */
export const ORCH_MARK = 'orch event log';

/**
 * Where each migration's version is recorded, and the mark, created before the first
 * migration runs.
 */
export const BOOTSTRAP_SQL = `
CREATE SCHEMA IF NOT EXISTS orch;
CREATE TABLE IF NOT EXISTS orch.schema_version (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at text NOT NULL,
  mark       text NOT NULL
);`;

/**
 * Every migration, in order. The last version is the schema this build writes.
 *
 * @example
 * const latest = POSTGRES_MIGRATIONS.at(-1)!.version;
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'events',
    sql: `
CREATE TABLE orch.events (
  position       bigint PRIMARY KEY,
  id             text NOT NULL UNIQUE,
  stream_id      text NOT NULL,
  stream_version integer NOT NULL CHECK (stream_version >= 1),
  type           text NOT NULL,
  data           json NOT NULL,
  metadata       json NOT NULL,
  recorded_at    text NOT NULL,
  UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_by_type ON orch.events (type, position);

CREATE FUNCTION orch.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the orch event log is append-only: % on events is refused', TG_OP
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON orch.events
  FOR EACH ROW EXECUTE FUNCTION orch.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON orch.events
  FOR EACH STATEMENT EXECUTE FUNCTION orch.refuse_change();

-- One append, one round trip: the lock, the version checks, the inserts and the
-- notification, in the caller's transaction. p_expected holds 'any', 'no_stream',
-- 'exists' or a version number per stream part; the events name their part by index.
-- A version mismatch raises SQLSTATE 'OR001' with the stream and its version in DETAIL.
CREATE FUNCTION orch.append(
  p_streams text[], p_expected text[], p_part int[], p_ids text[], p_types text[],
  p_data text[], p_metadata text[], p_recorded_at text[]
) RETURNS TABLE (out_positions bigint[], out_versions int[]) LANGUAGE plpgsql AS $$
DECLARE
  v_position bigint;
  v_version  int;
  v_expected text;
  v_positions bigint[] := '{}';
  v_versions int[] := '{}';
  i int;
  e int := 1;
  k int;
  n int := coalesce(array_length(p_ids, 1), 0);
BEGIN
  PERFORM pg_advisory_xact_lock(${APPEND_LOCK_KEY});
  SELECT coalesce(max(position), 0) INTO v_position FROM orch.events;
  FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
    SELECT coalesce(max(stream_version), 0) INTO v_version FROM orch.events WHERE stream_id = p_streams[i];
    v_expected := p_expected[i];
    IF NOT (v_expected = 'any'
        OR (v_expected = 'no_stream' AND v_version = 0)
        OR (v_expected = 'exists' AND v_version > 0)
        OR (v_expected ~ '^[0-9]+$' AND v_expected::bigint = v_version)) THEN
      RAISE EXCEPTION 'orch: stream % is at version %', p_streams[i], v_version
        USING ERRCODE = 'OR001', DETAIL = json_build_object('part', i, 'actual', v_version)::text;
    END IF;
    k := e;
    WHILE k <= n AND p_part[k] = i LOOP
      k := k + 1;
    END LOOP;
    IF k > e THEN
      -- The part's events p_ids[e .. k-1], in one statement.
      INSERT INTO orch.events (position, id, stream_id, stream_version, type, data, metadata, recorded_at)
        SELECT v_position + u.o, u.id, p_streams[i], v_version + u.o::int, u.type, u.data::json, u.meta::json, u.rec
        FROM unnest(p_ids[e:k-1], p_types[e:k-1], p_data[e:k-1], p_metadata[e:k-1], p_recorded_at[e:k-1])
          WITH ORDINALITY AS u(id, type, data, meta, rec, o);
      v_positions := v_positions || ARRAY(SELECT generate_series(v_position + 1, v_position + (k - e)));
      v_position := v_position + (k - e);
      v_version := v_version + (k - e);
      e := k;
    END IF;
    v_versions := v_versions || v_version;
  END LOOP;
  IF n > 0 THEN
    PERFORM pg_notify('${NOTIFY_CHANNEL}', v_position::text);
  END IF;
  RETURN QUERY SELECT v_positions, v_versions;
END $$;`,
  },
  {
    version: 2,
    name: 'snapshots',
    sql: `
CREATE TABLE orch.snapshots (
  name       text PRIMARY KEY,
  position   bigint NOT NULL,
  data       text NOT NULL,
  written_at text NOT NULL
);`,
  },
];

/** The schema version this build reads and writes. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
