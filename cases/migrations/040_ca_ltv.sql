-- Issue 9: what Parley's CA issued (the OCSP responder answers "good" only for these, "unknown" otherwise) and
-- when each document's newest document timestamp must be renewed by an archive timestamp.
CREATE TABLE ca_certificates (
    serial            text PRIMARY KEY,          -- lower-case hex, as in OCSP requests
    subject           text NOT NULL,
    cert              bytea NOT NULL,
    not_after         timestamptz NOT NULL,
    issued_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at        timestamptz,
    revocation_reason integer
);

ALTER TABLE documents ADD COLUMN archive_due timestamptz;
CREATE INDEX documents_archive_due ON documents (archive_due) WHERE archive_due IS NOT NULL;
