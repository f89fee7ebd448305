-- Brine job store, embedded (SQLite). Times are Unix nanoseconds (UTC),
-- durations nanoseconds, JSON columns text.
CREATE TABLE jobs (
    jid        TEXT PRIMARY KEY,
    fun        TEXT NOT NULL,
    arg        TEXT NOT NULL,
    kwarg      TEXT NOT NULL,
    tgt        TEXT NOT NULL,
    tgt_type   TEXT NOT NULL,
    "user"     TEXT NOT NULL,
    master     TEXT NOT NULL,
    created    INTEGER NOT NULL,
    timeout_ns INTEGER NOT NULL,
    status     TEXT NOT NULL,
    finished   INTEGER
) WITHOUT ROWID;
CREATE INDEX jobs_fun ON jobs (fun, jid);
CREATE INDEX jobs_user ON jobs ("user", jid);
CREATE INDEX jobs_tgt ON jobs (tgt, jid);
CREATE INDEX jobs_created ON jobs (created);

CREATE TABLE job_expected (
    jid    TEXT NOT NULL REFERENCES jobs (jid) ON DELETE CASCADE,
    minion TEXT NOT NULL,
    PRIMARY KEY (jid, minion)
) WITHOUT ROWID;
CREATE INDEX job_expected_minion ON job_expected (minion, jid);

CREATE TABLE job_noreturn (
    jid    TEXT NOT NULL REFERENCES jobs (jid) ON DELETE CASCADE,
    minion TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (jid, minion)
) WITHOUT ROWID;

-- No foreign key to jobs: a return may be written before its job row.
CREATE TABLE returns (
    jid         TEXT NOT NULL,
    minion      TEXT NOT NULL,
    success     INTEGER NOT NULL,
    retcode     INTEGER NOT NULL,
    ret         TEXT NOT NULL,
    duration_ns INTEGER NOT NULL,
    received    INTEGER NOT NULL,
    PRIMARY KEY (jid, minion)
) WITHOUT ROWID;
CREATE INDEX returns_minion ON returns (minion, jid);
CREATE INDEX returns_failed ON returns (jid) WHERE success = 0;
CREATE INDEX returns_received ON returns (received);

CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    tag    TEXT NOT NULL,
    data   TEXT NOT NULL,
    time   INTEGER NOT NULL,
    master TEXT NOT NULL
);
CREATE INDEX events_time ON events (time);

CREATE TABLE minions (
    id        TEXT PRIMARY KEY,
    grains    TEXT NOT NULL,
    last_seen INTEGER NOT NULL,
    connected INTEGER NOT NULL,
    master    TEXT NOT NULL
) WITHOUT ROWID;

-- Minion keys, for the multi-master key store (unused by the file key store).
CREATE TABLE keys (
    id       TEXT PRIMARY KEY,
    state    TEXT NOT NULL,
    pub_sign TEXT NOT NULL,
    pub_box  TEXT NOT NULL,
    updated  INTEGER NOT NULL
) WITHOUT ROWID;
