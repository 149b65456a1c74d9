-- Text and asynchronous mediation (OMR Art. 18: video, voice or text; issue 12 §4): message threads of a case
-- outside its sessions. One joint thread (everyone in the case) and one private thread per side with the case's
-- mediators (a standing caucus: never the other side, never the court). Each message is chained to the one
-- before it in its thread (hash = SHA-256 of the previous hash and the message), so a changed or removed message
-- shows.
CREATE TABLE case_messages (
    id          bigserial PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES cases (id),
    thread      text NOT NULL CHECK (thread IN ('joint', 'applicant', 'respondent')),
    author_kind text NOT NULL,
    author_id   text NOT NULL,
    author_name text NOT NULL,
    author_role text NOT NULL,
    author_side text NOT NULL DEFAULT '',
    body        text NOT NULL,
    at          timestamptz NOT NULL,
    prev_hash   bytea,
    hash        bytea NOT NULL
);
CREATE INDEX case_messages_thread ON case_messages (case_id, thread, id);

-- What each reader has read of a thread, and when they were last told of a new message by SMS (at most once an
-- hour per thread).
CREATE TABLE case_thread_readers (
    case_id     uuid NOT NULL REFERENCES cases (id),
    thread      text NOT NULL,
    reader_id   text NOT NULL,
    last_read   bigint NOT NULL DEFAULT 0,
    notified_at timestamptz,
    PRIMARY KEY (case_id, thread, reader_id)
);

-- Each thread's count and last hash, so that a removed last message shows too.
CREATE TABLE case_thread_heads (
    case_id  uuid NOT NULL REFERENCES cases (id),
    thread   text NOT NULL,
    messages integer NOT NULL,
    head     bytea NOT NULL,
    PRIMARY KEY (case_id, thread)
);

-- Append-only, like the audit trail: ordinary UPDATE and DELETE are refused.
CREATE FUNCTION case_messages_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_messages is append-only';
END;
$$;
CREATE TRIGGER case_messages_no_change BEFORE UPDATE OR DELETE ON case_messages
    FOR EACH ROW EXECUTE FUNCTION case_messages_append_only();
