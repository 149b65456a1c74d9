-- After a case ends, each party may rate the mediation (issue 12 §6; notice §14): satisfaction 1–5, whether it
-- felt heard and fairly treated, and a comment. One evaluation per party and case.
CREATE TABLE evaluations (
    case_id      uuid NOT NULL REFERENCES cases (id),
    party_id     text NOT NULL,
    satisfaction integer NOT NULL CHECK (satisfaction BETWEEN 1 AND 5),
    heard        boolean NOT NULL,
    fair         boolean NOT NULL,
    comment      text NOT NULL DEFAULT '',
    by_id        text NOT NULL,
    by_name      text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL,
    event_seq    bigint NOT NULL,
    PRIMARY KEY (case_id, party_id)
);
