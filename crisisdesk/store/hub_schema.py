"""The team hub's schema in PostgreSQL: what every workstation pushes to and pulls from.

The hub is a plain PostgreSQL database (no server of our own). It keeps every workstation's entries exactly as
they were sealed and signed, in the order the hub first saw them (``hub_seq``), refuses a second, different entry
for a workstation's sequence number (equivocation: kept apart as evidence, never merged), and holds the claims
that let a team publish a version on an account once.
"""

from __future__ import annotations

HUB_SCHEMA_VERSION = 1
# NOTIFY channel: every insert into hub_events ('events') or hub_equivocations ('alarm') wakes the listeners.
HUB_CHANNEL = "crisisdesk_hub"
# Pushers hold this transaction-level advisory lock while inserting, so hub_seq values commit in their order and
# a puller reading "hub_seq > cursor" can never step over a row that commits later with a smaller hub_seq.
HUB_PUSH_LOCK = 0x63726973  # 'cris'

HUB_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS hub_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS hub_events (
        hub_seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        workstation_id TEXT NOT NULL,
        seq BIGINT NOT NULL CHECK (seq > 0),
        hash TEXT NOT NULL,
        body BYTEA NOT NULL,
        signature TEXT,
        pushed_by TEXT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (workstation_id, seq))""",
    """CREATE TABLE IF NOT EXISTS hub_equivocations (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        workstation_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        held_hash TEXT NOT NULL,
        offered_hash TEXT NOT NULL,
        offered_body BYTEA NOT NULL,
        offered_signature TEXT,
        reported_by TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (workstation_id, seq, offered_hash))""",
    """CREATE TABLE IF NOT EXISTS hub_claims (
        message_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        account_id TEXT NOT NULL,
        workstation_id TEXT NOT NULL,
        outbox_row TEXT NOT NULL,
        offline BOOLEAN NOT NULL DEFAULT FALSE,
        claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (message_id, content_hash, account_id))""",
    f"""CREATE OR REPLACE FUNCTION hub_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{HUB_CHANNEL}', TG_ARGV[0]);
            RETURN NULL;
        END $$""",
    "DROP TRIGGER IF EXISTS hub_events_notify ON hub_events",
    """CREATE TRIGGER hub_events_notify AFTER INSERT ON hub_events
        FOR EACH STATEMENT EXECUTE FUNCTION hub_notify('events')""",
    "DROP TRIGGER IF EXISTS hub_equivocations_notify ON hub_equivocations",
    """CREATE TRIGGER hub_equivocations_notify AFTER INSERT ON hub_equivocations
        FOR EACH STATEMENT EXECUTE FUNCTION hub_notify('alarm')""",
    # Entries are evidence: the hub never changes or forgets one (an owner of the database can still drop the
    # trigger; the workstations' own chains and signatures are what catch that).
    """CREATE OR REPLACE FUNCTION hub_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the hub keeps every entry as it was pushed: % is not allowed', TG_OP;
        END $$""",
    "DROP TRIGGER IF EXISTS hub_events_append_only ON hub_events",
    """CREATE TRIGGER hub_events_append_only BEFORE UPDATE OR DELETE ON hub_events
        FOR EACH ROW EXECUTE FUNCTION hub_append_only()""",
)
