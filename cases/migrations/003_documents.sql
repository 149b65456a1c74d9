-- Documents (mediation agreements, session records, completion certificates) and every version of each, with
-- the pending two-step signatures and the certificates issued for signers' device keys.

CREATE TABLE documents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id         uuid NOT NULL REFERENCES cases (id),
    session_id      uuid REFERENCES mediation_sessions (id),
    parent_id       uuid REFERENCES documents (id),
    kind            text NOT NULL CHECK (kind IN ('agreement', 'session_record', 'completion')),
    title           text NOT NULL,
    lang            text NOT NULL DEFAULT 'zh',
    status          text NOT NULL CHECK (status IN ('signing', 'complete', 'superseded')),
    content         jsonb NOT NULL DEFAULT '{}',
    signers         jsonb NOT NULL DEFAULT '[]',
    ordered         boolean NOT NULL DEFAULT false,
    pages           integer NOT NULL DEFAULT 0,
    current_version integer NOT NULL DEFAULT 0,
    created_by      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX documents_case ON documents (case_id, created_at);

CREATE TABLE document_versions (
    document_id      uuid NOT NULL REFERENCES documents (id),
    version          integer NOT NULL,
    sha256           bytea NOT NULL,
    size             integer NOT NULL,
    pdf              bytea NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('generated', 'signed')),
    field            text NOT NULL DEFAULT '',
    signer_kind      text NOT NULL DEFAULT '',
    signer_id        text NOT NULL DEFAULT '',
    signer_name      text NOT NULL DEFAULT '',
    signer_role      text NOT NULL DEFAULT '',
    cert_sha256      text NOT NULL DEFAULT '',
    identity_method  text NOT NULL DEFAULT '',
    event_seq        bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (document_id, version)
);
CREATE INDEX document_versions_sha ON document_versions (sha256);

CREATE TABLE pending_signatures (
    document_id  uuid NOT NULL REFERENCES documents (id),
    field        text NOT NULL,
    signer_kind  text NOT NULL,
    signer_id    text NOT NULL,
    base_version integer NOT NULL,
    state        bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (document_id, field)
);

CREATE TABLE signer_certificates (
    case_id     uuid NOT NULL REFERENCES cases (id),
    signer_kind text NOT NULL,
    signer_id   text NOT NULL,
    key_sha256  text NOT NULL,
    cert        bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (case_id, signer_kind, signer_id, key_sha256)
);
