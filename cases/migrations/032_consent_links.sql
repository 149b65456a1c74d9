-- A party's personal link in a served notice, through which it gives its own consent (an extension of the time
-- limit, OMR Art. 24) without staff in between. Only the hash of the link's secret is kept.
CREATE TABLE consent_links (
    token_hash bytea PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases (id),
    party_id   uuid NOT NULL REFERENCES parties (id),
    action     text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX consent_links_case ON consent_links (case_id);
