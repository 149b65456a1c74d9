-- Agreements signed on paper (an uploaded scan and the confirmation sheet each party signs online), and the
-- durable jobs that follow a signature (the certificate of completion), retried by a sweeper until done.

ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check
    CHECK (kind IN ('agreement', 'session_record', 'completion', 'agreement_scan', 'confirmation_sheet'));

CREATE TABLE document_jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('completion')),
    document_id  uuid NOT NULL REFERENCES documents (id),
    case_id      uuid NOT NULL REFERENCES cases (id),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    run_after    timestamptz NOT NULL,
    locked_until timestamptz,
    done_at      timestamptz,
    created_at   timestamptz NOT NULL,
    UNIQUE (kind, document_id)
);
CREATE INDEX document_jobs_due ON document_jobs (run_after) WHERE done_at IS NULL;
