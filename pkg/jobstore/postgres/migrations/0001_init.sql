-- Brine job store, PostgreSQL. JIDs are compared byte-wise (COLLATE "C"):
-- their byte order is their time order whatever the database's locale.

CREATE TABLE jobs (
    jid      text COLLATE "C" PRIMARY KEY,
    fun      text NOT NULL,
    arg      jsonb NOT NULL,
    kwarg    jsonb NOT NULL,
    tgt      text NOT NULL,
    tgt_type text NOT NULL,
    "user"   text NOT NULL,   -- user or API token name
    master   text NOT NULL,   -- id of the master that published the job
    created  timestamptz NOT NULL,
    timeout  double precision NOT NULL,  -- seconds
    status   text NOT NULL,   -- running | complete
    finished timestamptz
);
CREATE INDEX jobs_fun_idx ON jobs (fun, jid);
CREATE INDEX jobs_user_idx ON jobs ("user", jid);
CREATE INDEX jobs_tgt_idx ON jobs (tgt, jid);
CREATE INDEX jobs_created_idx ON jobs (created);

CREATE TABLE job_expected (
    jid    text COLLATE "C" NOT NULL REFERENCES jobs (jid) ON DELETE CASCADE,
    minion text NOT NULL,
    PRIMARY KEY (jid, minion)
);
CREATE INDEX job_expected_minion_idx ON job_expected (minion, jid);

CREATE TABLE job_noreturn (
    jid    text COLLATE "C" NOT NULL REFERENCES jobs (jid) ON DELETE CASCADE,
    minion text NOT NULL,
    reason text NOT NULL,     -- not_connected | no_response
    PRIMARY KEY (jid, minion)
);

-- Returns are partitioned by day of their JID (whose leading YYYYMMDD is the
-- job's creation day, UTC), so that (jid, minion) stays unique across
-- partitions and retention drops a day of returns at once. Partitions are
-- named returns_pYYYYMMDD; rows with JIDs outside them land in
-- returns_default and are moved when their partition is created.
-- No foreign key to jobs: a return may be written before its job row.
CREATE TABLE returns (
    jid      text COLLATE "C" NOT NULL,
    minion   text NOT NULL,
    success  boolean NOT NULL,
    retcode  integer NOT NULL,
    return   jsonb NOT NULL,
    duration double precision NOT NULL,  -- seconds
    received timestamptz NOT NULL,
    PRIMARY KEY (jid, minion)
) PARTITION BY RANGE (jid);
CREATE TABLE returns_default PARTITION OF returns DEFAULT;
CREATE INDEX returns_minion_idx ON returns (minion, jid);
CREATE INDEX returns_failed_idx ON returns (jid) WHERE NOT success;

-- Events are partitioned by day of their time (events_pYYYYMMDD).
CREATE TABLE events (
    id     bigserial,
    tag    text NOT NULL,
    data   jsonb NOT NULL,
    time   timestamptz NOT NULL,
    master text NOT NULL,
    PRIMARY KEY (id, time)
) PARTITION BY RANGE (time);
CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE TABLE minions (
    id        text PRIMARY KEY,
    grains    jsonb NOT NULL DEFAULT '{}',
    last_seen timestamptz NOT NULL,
    connected boolean NOT NULL,
    master    text NOT NULL       -- master the minion is connected to
);

-- Minion keys for the multi-master key store (unused by the file key store).
CREATE TABLE keys (
    id       text PRIMARY KEY,
    state    text NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected', 'denied')),
    pub_sign text NOT NULL,   -- Ed25519 public key, base64
    pub_box  text NOT NULL,   -- X25519 public key, base64
    updated  timestamptz NOT NULL DEFAULT now()
);
