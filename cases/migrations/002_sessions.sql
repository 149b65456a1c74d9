-- Mediation sessions (video rooms) and what they leave on the case: attendance, identity checks, chat, caucuses,
-- and the mediator's record.

CREATE TABLE mediation_sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id      uuid NOT NULL REFERENCES cases (id),
    title        text NOT NULL DEFAULT '',
    status       text NOT NULL CHECK (status IN ('scheduled', 'live', 'ended')),
    scheduled_at timestamptz,
    started_at   timestamptz,
    ended_at     timestamptz,
    created_by   uuid REFERENCES accounts (id),
    ended_by     text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mediation_sessions_case ON mediation_sessions (case_id);
CREATE INDEX mediation_sessions_live ON mediation_sessions (status) WHERE status = 'live';

CREATE TABLE session_attendance (
    id             bigserial PRIMARY KEY,
    session_id     uuid NOT NULL REFERENCES mediation_sessions (id),
    participant_id text NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL,
    side           text NOT NULL DEFAULT '',
    joined_at      timestamptz NOT NULL,
    left_at        timestamptz,
    left_reason    text NOT NULL DEFAULT ''
);
CREATE INDEX session_attendance_session ON session_attendance (session_id, joined_at);

CREATE TABLE identity_checks (
    id              bigserial PRIMARY KEY,
    case_id         uuid NOT NULL REFERENCES cases (id),
    session_id      uuid REFERENCES mediation_sessions (id),
    participant_id  text NOT NULL,
    name            text NOT NULL,
    method          text NOT NULL,
    result          text NOT NULL CHECK (result IN ('passed', 'failed')),
    note            text NOT NULL DEFAULT '',
    checked_by      text NOT NULL,
    checked_by_name text NOT NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX identity_checks_case ON identity_checks (case_id, at);

CREATE TABLE session_messages (
    id          bigserial PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES mediation_sessions (id),
    sender_id   text NOT NULL,
    sender_name text NOT NULL,
    scope       text NOT NULL DEFAULT 'joint',
    body        text NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX session_messages_session ON session_messages (session_id, at);

CREATE TABLE session_caucuses (
    id         bigserial PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES mediation_sessions (id),
    caucus_id  text NOT NULL,
    members    text[] NOT NULL,
    opened_by  text NOT NULL,
    opened_at  timestamptz NOT NULL,
    closed_at  timestamptz
);
CREATE INDEX session_caucuses_session ON session_caucuses (session_id);

-- The mediator's record of facts and statements, edited during and after sessions; it becomes the session
-- record PDF. Version guards concurrent edits.
CREATE TABLE session_records (
    session_id uuid PRIMARY KEY REFERENCES mediation_sessions (id),
    content    jsonb NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL
);
