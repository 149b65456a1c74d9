-- Electronic service (电子送达, issue 12 §2; OLR Art. 29–32). A party confirms its own electronic-service address
-- and consents to electronic service (送达地址确认书); the newest confirmation of a party is the one in force.
-- Every service of a document leaves a record with the times it was sent, accepted by the channel, reached the
-- address's system and opened by the party; service takes effect when it reaches the address's system.

CREATE TABLE service_confirmations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id      uuid NOT NULL REFERENCES cases (id),
    party_id     text NOT NULL,
    channel      text NOT NULL CHECK (channel IN ('sms', 'email', 'in_app')),
    address      text NOT NULL,
    consent      boolean NOT NULL,
    confirmed_by text NOT NULL,
    confirmed_by_name text NOT NULL DEFAULT '',
    confirmed_at timestamptz NOT NULL,
    event_seq    bigint NOT NULL
);
CREATE INDEX service_confirmations_party ON service_confirmations (case_id, party_id, confirmed_at DESC);

CREATE TABLE service_records (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id       uuid NOT NULL REFERENCES cases (id),
    party_id      text NOT NULL,
    kind          text NOT NULL,
    title         text NOT NULL,
    body          text NOT NULL,
    document_id   text NOT NULL DEFAULT '',
    document_sha256 text NOT NULL DEFAULT '',
    channel       text NOT NULL DEFAULT '',
    address       text NOT NULL DEFAULT '',
    status        text NOT NULL CHECK (status IN ('withheld', 'failed', 'sent', 'accepted', 'reached', 'opened')),
    result        text NOT NULL DEFAULT '',
    open_token_hash bytea,
    sent_at       timestamptz,
    accepted_at   timestamptz,
    reached_at    timestamptz,
    opened_at     timestamptz,
    created_at    timestamptz NOT NULL
);
CREATE INDEX service_records_case ON service_records (case_id, created_at);
CREATE UNIQUE INDEX service_records_token ON service_records (open_token_hash) WHERE open_token_hash IS NOT NULL;
