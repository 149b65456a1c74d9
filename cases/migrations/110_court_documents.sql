-- The court's documents (issue 12 §3): the ruling on judicial confirmation (民事裁定书) and, in a case entrusted
-- after filing, the mediation statement (民事调解书). Each is made once for the court's decision it records (the
-- trail event of case.confirm / case.reject_confirmation / case.issue_statement, decision_seq) and stored here, so
-- every download returns the same signed bytes; the row is written in the transaction that appends its issue
-- (its id and SHA-256) to the case's hash chain (event_seq). Two nodes making the same document race on the
-- unique key: one row wins, the other node's copy is discarded. Append-only.
CREATE TABLE court_documents (
    id           uuid PRIMARY KEY,
    case_id      uuid NOT NULL REFERENCES cases (id),
    kind         text NOT NULL CHECK (kind IN ('ruling', 'mediation_statement')),
    decision_seq bigint NOT NULL,
    title        text NOT NULL,
    sha256       bytea NOT NULL,
    size         integer NOT NULL,
    pdf          bytea NOT NULL,
    event_seq    bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    UNIQUE (case_id, decision_seq)
);
CREATE INDEX court_documents_case ON court_documents (case_id, kind, decision_seq);
CREATE INDEX court_documents_sha ON court_documents (sha256);

CREATE FUNCTION court_documents_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'court documents are append-only';
END $$;
CREATE TRIGGER court_documents_no_change BEFORE UPDATE OR DELETE ON court_documents
    FOR EACH ROW EXECUTE FUNCTION court_documents_append_only();
