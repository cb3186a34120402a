"""Schema migrations, ordered by ``PRAGMA user_version``.

Each migration is a list of statements run in one ``BEGIN IMMEDIATE`` transaction together with the
``user_version`` bump, so a migration either happens whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


# The event log. An event is identified by (workstation_id, seq), unique and indexed; its hash is not indexed
# because random keys in a B-tree dirty a random page per insert (bench/event_log.py: append fell from 28,000
# to 15,000 events/s by 1M events with a UNIQUE hash index). Its columns other than the body, hash and position
# are generated from the body by SQLite, so they cannot be written on their own; verification and every view
# still read the hashed body itself, never these columns.
EVENTS_TABLE = """CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    body BLOB NOT NULL,
    workstation_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.ws')) STORED,
    seq INTEGER GENERATED ALWAYS AS (json_extract(body, '$.seq')) STORED,
    at TEXT GENERATED ALWAYS AS (json_extract(body, '$.at')) VIRTUAL,
    actor TEXT GENERATED ALWAYS AS (json_extract(body, '$.actor')) STORED,
    kind TEXT GENERATED ALWAYS AS (json_extract(body, '$.kind')) STORED,
    prev_hash TEXT GENERATED ALWAYS AS (json_extract(body, '$.prev')) VIRTUAL
)"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "event log and local identity",
        (
            EVENTS_TABLE,
            "CREATE UNIQUE INDEX events_ws_seq ON events (workstation_id, seq)",
            "CREATE INDEX events_kind ON events (kind)",
            "CREATE INDEX events_actor ON events (actor)",
            """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'the event log is append-only: events cannot be changed'); END""",
            """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
               BEGIN SELECT RAISE(ABORT, 'the event log is append-only: events cannot be deleted'); END""",
            # Facts about this file and this machine, not shared with other workstations.
            "CREATE TABLE local_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ),
    ),
    Migration(
        2,
        "workstations, people and roles",
        (
            """CREATE TABLE workstations (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)""",
            """CREATE TABLE users (
                name TEXT PRIMARY KEY COLLATE NOCASE,
                display_name TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                password_set_at TEXT)""",
            """CREATE TABLE user_roles (
                user_name TEXT NOT NULL REFERENCES users (name) COLLATE NOCASE,
                role TEXT NOT NULL,
                granted_at TEXT NOT NULL,
                granted_by TEXT NOT NULL,
                PRIMARY KEY (user_name, role))""",
            # Password hashes are local secrets: kept out of the event log and its exports.
            """CREATE TABLE local_credentials (
                user_name TEXT PRIMARY KEY COLLATE NOCASE, password_hash TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        3,
        "incidents, their facts and checklist",
        (
            """CREATE TABLE incidents (
                id TEXT PRIMARY KEY,
                playbook_id TEXT NOT NULL,
                playbook_version TEXT NOT NULL,
                title TEXT NOT NULL,
                mode TEXT NOT NULL CHECK (mode IN ('live', 'exercise')),
                status TEXT NOT NULL CHECK (status IN ('active', 'monitoring', 'closed')),
                timezone TEXT NOT NULL,
                opened_at TEXT NOT NULL,
                opened_by TEXT NOT NULL,
                closed_at TEXT)""",
            """CREATE TABLE incident_facts (
                incident_id TEXT NOT NULL REFERENCES incidents (id),
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                set_at TEXT NOT NULL,
                set_by TEXT NOT NULL,
                PRIMARY KEY (incident_id, name))""",
            """CREATE TABLE incident_steps_done (
                incident_id TEXT NOT NULL REFERENCES incidents (id),
                step INTEGER NOT NULL,
                done_at TEXT NOT NULL,
                done_by TEXT NOT NULL,
                PRIMARY KEY (incident_id, step))""",
            # An incident's timeline is every event whose payload names it; this index finds them.
            "CREATE INDEX events_incident ON events (json_extract(body, '$.payload.incident'))",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        4,
        "messages, versions, approvals and publications",
        (
            """CREATE TABLE messages (
                id TEXT PRIMARY KEY,
                incident_id TEXT NOT NULL REFERENCES incidents (id),
                type TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'returned', 'published')),
                current_version INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL)""",
            """CREATE TABLE message_versions (
                message_id TEXT NOT NULL REFERENCES messages (id),
                version INTEGER NOT NULL,
                content_hash TEXT NOT NULL,
                content TEXT NOT NULL,
                author TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (message_id, version))""",
            """CREATE TABLE approvals (
                message_id TEXT NOT NULL REFERENCES messages (id),
                content_hash TEXT NOT NULL,
                approver TEXT NOT NULL,
                roles TEXT NOT NULL,
                at TEXT NOT NULL,
                comment TEXT,
                PRIMARY KEY (message_id, content_hash, approver))""",
            """CREATE TABLE publications (
                message_id TEXT NOT NULL REFERENCES messages (id),
                version INTEGER NOT NULL,
                content_hash TEXT NOT NULL,
                at TEXT NOT NULL,
                by_name TEXT NOT NULL,
                break_glass INTEGER NOT NULL,
                reason TEXT,
                PRIMARY KEY (message_id, version))""",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        5,
        "channel accounts and the outbox",
        (
            # Settings hold no secret: secrets live in the OS keyring, referenced by the account id.
            """CREATE TABLE channel_accounts (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                exercise INTEGER NOT NULL CHECK (exercise IN (0, 1)),
                settings TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                removed_at TEXT,
                removed_by TEXT)""",
            "CREATE UNIQUE INDEX channel_accounts_active_name ON channel_accounts (name) WHERE removed_at IS NULL",
            # One row per (published version, account), made in the same transaction as the publish event.
            # pos keeps each account's order, so a correction never overtakes what it corrects.
            """CREATE TABLE outbox (
                id TEXT PRIMARY KEY,
                pos INTEGER NOT NULL UNIQUE,
                message_id TEXT NOT NULL REFERENCES messages (id),
                version INTEGER NOT NULL,
                content_hash TEXT NOT NULL,
                account_id TEXT NOT NULL REFERENCES channel_accounts (id),
                idem_key TEXT NOT NULL UNIQUE,
                mode TEXT NOT NULL CHECK (mode IN ('live', 'exercise')),
                state TEXT NOT NULL
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'dead', 'unknown')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_try_at TEXT,
                reason TEXT,
                remote_id TEXT,
                remote_url TEXT,
                sent_at TEXT,
                retract_state TEXT CHECK (retract_state IN ('requested', 'retracted', 'impossible', 'failed')),
                retract_reason TEXT,
                queued_at TEXT NOT NULL,
                updated_at TEXT NOT NULL)""",
            "CREATE INDEX outbox_account_pos ON outbox (account_id, pos)",
            "CREATE INDEX outbox_state ON outbox (state)",
            "CREATE INDEX outbox_message ON outbox (message_id)",
            "ALTER TABLE publications ADD COLUMN cap TEXT",
        ),
    ),
)

# Feeds. Sources, alerts, triage decisions and the rules are projections of events (they are decisions);
# items and each source's health are local observations, kept out of the log: a poll can bring thousands of
# items a minute, and they can always be fetched again. Items point at their source without a foreign key, so
# replaying the log (which empties the projections) never touches them.
MIGRATIONS += (
    Migration(
        6,
        "feeds, items with full-text search, alerts and triage",
        (
            """CREATE TABLE feed_sources (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                url TEXT NOT NULL,
                interval INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                removed_at TEXT,
                removed_by TEXT)""",
            "CREATE UNIQUE INDEX feed_sources_active_name ON feed_sources (name) WHERE removed_at IS NULL",
            """CREATE TABLE feed_health (
                source_id TEXT PRIMARY KEY,
                last_attempt TEXT,
                last_success TEXT,
                last_error TEXT,
                last_error_at TEXT,
                failures INTEGER NOT NULL DEFAULT 0,
                next_poll_at TEXT,
                etag TEXT,
                last_modified TEXT,
                items_seen INTEGER NOT NULL DEFAULT 0,
                items_new INTEGER NOT NULL DEFAULT 0,
                folder_state TEXT)""",
            """CREATE TABLE feed_items (
                id INTEGER PRIMARY KEY,
                fingerprint TEXT NOT NULL UNIQUE,
                source_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                url TEXT,
                title TEXT NOT NULL,
                text TEXT NOT NULL,
                author TEXT,
                at TEXT NOT NULL,
                fetched_at TEXT NOT NULL,
                lang TEXT,
                lat REAL,
                lon REAL,
                severity TEXT,
                magnitude REAL,
                event TEXT,
                public INTEGER NOT NULL,
                sentiment REAL,
                stakeholder TEXT,
                priority TEXT,
                extra TEXT)""",
            "CREATE INDEX feed_items_at ON feed_items (at)",
            "CREATE INDEX feed_items_fetched ON feed_items (fetched_at)",
            "CREATE INDEX feed_items_public ON feed_items (public, id) WHERE public = 1",
            """CREATE VIRTUAL TABLE feed_items_fts USING fts5(
                title, text, author, content='feed_items', content_rowid='id',
                tokenize='unicode61 remove_diacritics 2')""",
            """CREATE TRIGGER feed_items_fts_insert AFTER INSERT ON feed_items BEGIN
                INSERT INTO feed_items_fts (rowid, title, text, author)
                VALUES (new.id, new.title, new.text, new.author); END""",
            """CREATE TRIGGER feed_items_fts_delete AFTER DELETE ON feed_items BEGIN
                INSERT INTO feed_items_fts (feed_items_fts, rowid, title, text, author)
                VALUES ('delete', old.id, old.title, old.text, old.author); END""",
            """CREATE TABLE feed_alerts (
                id TEXT PRIMARY KEY,
                fingerprint TEXT NOT NULL,
                incident_id TEXT REFERENCES incidents (id),
                rules TEXT NOT NULL,
                reasons TEXT NOT NULL,
                title TEXT NOT NULL,
                url TEXT,
                source TEXT NOT NULL,
                raised_at TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'dismissed', 'opened')),
                opened_incident TEXT,
                handled_by TEXT,
                handled_at TEXT)""",
            "CREATE UNIQUE INDEX feed_alerts_once ON feed_alerts (fingerprint, coalesce(incident_id, ''))",
            "CREATE INDEX feed_alerts_incident ON feed_alerts (incident_id, status)",
            """CREATE TABLE triage_decisions (
                fingerprint TEXT PRIMARY KEY,
                status TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'answered', 'ignored')),
                priority TEXT CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
                template TEXT,
                note TEXT,
                decided_by TEXT NOT NULL,
                decided_at TEXT NOT NULL)""",
            """CREATE TABLE monitoring_rules (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                rules TEXT NOT NULL,
                origin TEXT NOT NULL,
                set_by TEXT NOT NULL,
                set_at TEXT NOT NULL)""",
        ),
    ),
)

# Safety decisions are read from the events themselves (store/ledger.py): a message's versions, approvals and
# publication are found by the message they name, as the timeline finds an incident's events.
MIGRATIONS += (
    Migration(
        7,
        "events found by the message they name",
        ("CREATE INDEX events_message ON events (json_extract(body, '$.payload.message'))",),
    ),
)

# When an outbox row was first tried: a channel that can only look a send up by its content (SMS) looks from
# then on, so two messages with the same words are never taken for one another.
MIGRATIONS += (
    Migration(8, "when each outbox row was first tried", ("ALTER TABLE outbox ADD COLUMN first_try_at TEXT",)),
)

# A disabled person cannot sign in; their past stays in the log. The column serves listing only: sign-in and every
# action read the disable and enable events themselves (store/ledger.py).
MIGRATIONS += (Migration(9, "people disabled", ("ALTER TABLE users ADD COLUMN disabled_at TEXT",)),)
# Each source's polls, kept so the console can show its health history (the last successes and failures with
# their reasons). A local observation like feed_health, never in the log; the service keeps the last few per source.
MIGRATIONS += (
    Migration(
        10,  # 9 is the people's disabled_at (branch set-people): merged in either order, the numbers stay apart
        "each feed source's recent polls",
        (
            """CREATE TABLE feed_polls (
                id INTEGER PRIMARY KEY,
                source_id TEXT NOT NULL,
                at TEXT NOT NULL,
                ok INTEGER NOT NULL,
                error TEXT,
                problems TEXT,
                not_modified INTEGER NOT NULL DEFAULT 0,
                items_seen INTEGER NOT NULL DEFAULT 0,
                items_new INTEGER NOT NULL DEFAULT 0,
                seconds REAL NOT NULL DEFAULT 0,
                next_poll_at TEXT)""",
            "CREATE INDEX feed_polls_source ON feed_polls (source_id, id)",
        ),
    ),
)
# The audit view finds entries by time (issue 14): without an index a time filter read the whole log (2-2.4 s on
# 1,000,000 events, bench/README.md, Audit). Times are appended in (nearly) increasing order, so the index grows
# at its end and costs an append little.
MIGRATIONS += (Migration(11, "events found by their time", ("CREATE INDEX events_at ON events (at)",)),)
# An incident's messages, read for the board and its workspace: a year holds 20,000 messages, and without this
# every incident on the board scanned them all (6 ms each; 6 s for the board with a year's closed incidents).
MIGRATIONS += (
    Migration(12, "messages found by their incident", ("CREATE INDEX messages_incident ON messages (incident_id)",)),
)

# The Monitor on a year of data: the triage queue reads undecided public items a priority at a time, newest
# first, and the alerts tab the newest unhandled alerts; without these both sorted the whole table (350 ms each).
MIGRATIONS += (
    Migration(
        13,
        "the triage queue and the newest alerts found through indexes",
        (
            "CREATE INDEX feed_items_triage ON feed_items (priority, id) WHERE public = 1",
            "CREATE INDEX feed_alerts_newest ON feed_alerts (status, raised_at)",
        ),
    ),
)

# Each entry's signature by its workstation's key (domain/signing.py): beside the body, never in it, because the
# body is what the hash (and so the signature) covers. Written with the entry, in the same insert; the triggers
# above keep it from being changed afterwards.
SIGNATURES_VERSION = 14
MIGRATIONS += (Migration(SIGNATURES_VERSION, "event signatures", ("ALTER TABLE events ADD COLUMN signature TEXT",)),)

# What other sites (the hub, imported bundles) have seen of each workstation's chain: evidence audit verify holds
# this log against (store/peer_heads.py). Local observations, never in the log, never replicated.
MIGRATIONS += (
    Migration(
        15,
        "what other sites have seen of each workstation's chain",
        (
            """CREATE TABLE peer_heads (
                source TEXT NOT NULL,
                workstation_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL,
                seen_at TEXT NOT NULL,
                PRIMARY KEY (source, workstation_id))""",
        ),
    ),
)

# Sibling versions (issue 16, domain/merge.py): two workstations editing the same version at once both make "the
# next version", so a version is told apart by its hash too, and says which version it edited (base) and which
# siblings it merged. A message with more than one head is in conflict: a column beside the state, because
# changing the state's CHECK would mean rebuilding the messages table and the four tables that refer to it.
SIBLINGS_VERSION = 16
MIGRATIONS += (
    Migration(
        SIBLINGS_VERSION,
        "sibling message versions from several workstations",
        (
            """CREATE TABLE message_versions_new (
                message_id TEXT NOT NULL REFERENCES messages (id),
                version INTEGER NOT NULL,
                content_hash TEXT NOT NULL,
                content TEXT NOT NULL,
                author TEXT NOT NULL,
                created_at TEXT NOT NULL,
                workstation_id TEXT NOT NULL DEFAULT '',
                base_version INTEGER,
                base_hash TEXT,
                merges TEXT NOT NULL DEFAULT '[]',
                PRIMARY KEY (message_id, version, content_hash))""",
            "INSERT INTO message_versions_new (rowid, message_id, version, content_hash, content, author, created_at, "
            "workstation_id, base_version, base_hash) SELECT v.rowid, v.message_id, v.version, v.content_hash, "
            "v.content, v.author, v.created_at, coalesce((SELECT e.workstation_id FROM events e "
            "WHERE json_extract(e.body, '$.payload.message') = v.message_id AND e.kind IN ('message.drafted', "
            "'message.edited') AND json_extract(e.body, '$.payload.version') = v.version LIMIT 1), ''), b.version, "
            "b.content_hash FROM message_versions v LEFT JOIN message_versions b "
            "ON b.message_id = v.message_id AND b.version = v.version - 1",
            "DROP TABLE message_versions",
            "ALTER TABLE message_versions_new RENAME TO message_versions",
            "ALTER TABLE messages ADD COLUMN conflict INTEGER NOT NULL DEFAULT 0",
        ),
    ),
)

# Publishing once across a team (issue 16): a row another workstation claimed at the hub is not sent here; its
# state says so ('elsewhere', with the reason naming that workstation). SQLite cannot change a CHECK in place, so
# the table is rebuilt with the same columns and indexes.
OUTBOX_ELSEWHERE_VERSION = 17  # 15: peer_heads, 16: sibling versions
_OUTBOX_COLUMNS = (
    "id, pos, message_id, version, content_hash, account_id, idem_key, mode, state, attempts, next_try_at, reason, "
    "remote_id, remote_url, sent_at, retract_state, retract_reason, queued_at, updated_at, first_try_at"
)
MIGRATIONS += (
    Migration(
        OUTBOX_ELSEWHERE_VERSION,
        "outbox rows published by another workstation",
        (
            """CREATE TABLE outbox_new (
                id TEXT PRIMARY KEY,
                pos INTEGER NOT NULL UNIQUE,
                message_id TEXT NOT NULL REFERENCES messages (id),
                version INTEGER NOT NULL,
                content_hash TEXT NOT NULL,
                account_id TEXT NOT NULL REFERENCES channel_accounts (id),
                idem_key TEXT NOT NULL UNIQUE,
                mode TEXT NOT NULL CHECK (mode IN ('live', 'exercise')),
                state TEXT NOT NULL
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'dead', 'unknown', 'elsewhere')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_try_at TEXT,
                reason TEXT,
                remote_id TEXT,
                remote_url TEXT,
                sent_at TEXT,
                retract_state TEXT CHECK (retract_state IN ('requested', 'retracted', 'impossible', 'failed')),
                retract_reason TEXT,
                queued_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                first_try_at TEXT)""",
            # The same rowids: the rows keep their order, as a replay would rebuild them.
            f"INSERT INTO outbox_new (rowid, {_OUTBOX_COLUMNS}) SELECT rowid, {_OUTBOX_COLUMNS} FROM outbox",  # noqa: S608
            "DROP TABLE outbox",
            "ALTER TABLE outbox_new RENAME TO outbox",
            "CREATE INDEX outbox_account_pos ON outbox (account_id, pos)",
            "CREATE INDEX outbox_state ON outbox (state)",
            "CREATE INDEX outbox_message ON outbox (message_id)",
        ),
    ),
)

# The events table as the migrations leave it (SQLite appends an added column to the stored statement): what
# verify compares the table's shape with.
EVENTS_TABLE_NOW = EVENTS_TABLE[:-1] + "\n, signature TEXT)"

# Most entries name no incident and no message (sign-ins, triage, feed alerts, outbox receipts): their NULL keys
# filled two indexes that every query on them skips (each asks `= ?` or `IN (...)`, which SQLite takes as
# implying IS NOT NULL, so it uses these partial indexes alike: checked with EXPLAIN QUERY PLAN for every such
# query in crisisdesk/). An entry that names neither now pays only the two expressions, not two B-tree inserts
# (bench/event_log.py, issue 16 item 8).
MIGRATIONS += (
    Migration(
        18,
        "incident and message indexes hold only the entries that name one",
        (
            "DROP INDEX events_incident",
            "CREATE INDEX events_incident ON events (json_extract(body, '$.payload.incident')) "
            "WHERE json_extract(body, '$.payload.incident') IS NOT NULL",
            "DROP INDEX events_message",
            "CREATE INDEX events_message ON events (json_extract(body, '$.payload.message')) "
            "WHERE json_extract(body, '$.payload.message') IS NOT NULL",
        ),
    ),
)

# The merge order's own index (domain/merge.py: at, workstation, seq), in place of the time index it extends. The
# log's last entry in that order is read on every write (the next entry is dated after it): through the time index
# alone, SQLite sorted every entry sharing the latest time, so a log whose entries all carry one time (a clock
# stuck, or a workstation writing them so) made each write read the whole log (bench/event_log.py: 200,000 entries
# of one time took `record` from 0.25 to 0.09 of the plain loop). Folding the tables in the merge order reads the
# index too, instead of sorting the log. The time filters use its first column as they used the old index.
MIGRATIONS += (
    Migration(
        19,
        "events indexed in the merge order",
        (
            "DROP INDEX events_at",
            "CREATE INDEX events_merge_order ON events (at, workstation_id, seq)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

# Current-state tables rebuilt from the event log by replay (in dependency order: parents first).
PROJECTION_TABLES: tuple[str, ...] = (
    "workstations",
    "users",
    "user_roles",
    "incidents",
    "incident_facts",
    "incident_steps_done",
    "messages",
    "message_versions",
    "approvals",
    "publications",
    "channel_accounts",
    "outbox",
    "feed_sources",
    "feed_alerts",
    "triage_decisions",
    "monitoring_rules",
)

# Columns of those tables that hold local observations rather than what the log says (none yet): the deep
# check (store/deep_check.py) leaves them out of its comparison. A column added here must also be one that
# no safety decision reads.
LOCAL_COLUMNS: dict[str, tuple[str, ...]] = {}
