-- Recording of sessions (issue 14): the organisation's setting, the mediator's choice per session, and the
-- recorded files (the bytes live in the blob store; their SHA-256 and duration are in the case's trail, event_seq):
-- one per track, and the composed playback file (kind 'composed') made from them.

ALTER TABLE organisations
    ADD COLUMN record_sessions         boolean NOT NULL DEFAULT false,
    ADD COLUMN parties_view_recordings boolean NOT NULL DEFAULT false;

-- NULL: the organisation's setting decides.
ALTER TABLE mediation_sessions ADD COLUMN record boolean;

CREATE TABLE session_recordings (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id     uuid NOT NULL REFERENCES mediation_sessions (id),
    case_id        uuid NOT NULL REFERENCES cases (id),
    track_id       text NOT NULL,
    participant_id text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('audio', 'video', 'composed')),
    codec          text NOT NULL,
    container      text NOT NULL,
    blob_ref       text NOT NULL,
    size           bigint NOT NULL,
    sha256         text NOT NULL,
    started_at     timestamptz NOT NULL,
    offset_ms      bigint NOT NULL,
    duration_ms    bigint NOT NULL,
    frames         bigint NOT NULL DEFAULT 0,
    dropped        bigint NOT NULL DEFAULT 0,
    event_seq      bigint NOT NULL,
    deleted_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_recordings_session ON session_recordings (session_id, started_at);
CREATE INDEX session_recordings_case ON session_recordings (case_id);
